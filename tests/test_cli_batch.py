"""`storygen batch`: one story per idea, one process, a bad item reported without stopping the rest, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import IDEA, invoke_cli
from storygen.errors import InputError
from storygen.inputs import read_ideas_file
from storygen.models import StoryIdea
from storygen.workspace import read_json


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_batch_makes_a_story_per_idea_reports_a_bad_one_and_resumes(tmp_path: Path):
    ideas = [dict(IDEA, title="The Bottle at the Door"), {"title": 5}, dict(IDEA, title="Second Light", tone="hopeful")]
    f = tmp_path / "ideas.json"
    f.write_text(json.dumps(ideas), encoding="utf-8")
    out = tmp_path / "week"
    r = invoke_cli("batch", str(f), "-o", str(out), "--until", "idea", "--json")
    assert r.returncode == 1, r.stderr[-2000:]  # one item failed; the others still ran
    assert "Idea 2 in" in r.stderr and "title" in r.stderr
    done = _events(r.stdout)[-1]
    assert done["event"] == "batch_finished" and done["failed"] == 1
    assert [s["error"] is None for s in done["stories"]] == [True, False, True]
    assert sorted(p.name for p in out.iterdir()) == ["01-the-bottle-at-the-door", "03-second-light"]
    assert read_json(out / "03-second-light" / "idea" / "idea.json")["tone"] == "hopeful"
    r = invoke_cli("status", str(out), "--json")  # a folder of stories: one row each
    rows = json.loads(r.stdout)
    assert r.returncode == 0 and [Path(x["story"]).name for x in rows] == ["01-the-bottle-at-the-door", "03-second-light"]
    assert all(x["done"] == 1 and x["next"] == "script" and x["final"] is None for x in rows)

    f.write_text(json.dumps([ideas[0], ideas[2], ideas[2]]), encoding="utf-8")  # fixed file, one more story
    r = invoke_cli("batch", str(f), "-o", str(out), "--until", "idea", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    ev = _events(r.stdout)
    assert [e["stage"] for e in ev if e["event"] == "skip"] == ["idea", "idea"]  # stories 1 and 3 were done already
    assert (out / "02-second-light" / "idea" / "idea.json").is_file()  # only story 2 is new
    # story 3's folder holds "Second Light" already: the same idea again is fine, a different one needs --force
    f.write_text(json.dumps([ideas[0], ideas[2], dict(ideas[2], tone="grim")]), encoding="utf-8")
    r = invoke_cli("batch", str(f), "-o", str(out), "--until", "idea")
    assert r.returncode == 1 and "already holds a different idea" in r.stderr


def test_ideas_file_formats(tmp_path: Path):
    t = tmp_path / "ideas.txt"
    t.write_text("# this week\nA lighthouse keeper finds a bottle\n\n  A girl repairs the lamp  \n", encoding="utf-8")
    assert read_ideas_file(t) == ["A lighthouse keeper finds a bottle", "A girl repairs the lamp"]
    one = tmp_path / "one.json"
    one.write_text(json.dumps(IDEA), encoding="utf-8")
    [idea] = read_ideas_file(one)
    assert isinstance(idea, StoryIdea) and idea.title == IDEA["title"]
    for body, msg in (("", "is empty"), ("# only a comment\n", "holds no ideas"), ("[1,", "not JSON")):
        bad = tmp_path / "bad.txt"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(InputError, match=msg):
            read_ideas_file(bad)


def test_batch_bad_file_is_one_clear_line(tmp_path: Path):
    r = invoke_cli("batch", str(tmp_path / "missing.json"), "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and "does not exist" in r.stderr and not (tmp_path / "o").exists()


def test_engine_ray_without_the_cluster_extra_says_what_to_install(tmp_path, monkeypatch):
    import sys

    from conftest import invoke_cli

    ideas = tmp_path / "ideas.txt"
    ideas.write_text("A lighthouse keeper finds a message in a bottle\n")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if `pip install storygen` without [cluster]
    r = invoke_cli("batch", str(ideas), "-o", str(tmp_path / "out"), "--engine", "ray")
    assert r.exit_code != 0 and "pip install 'storygen[cluster]'" in r.stderr and "Traceback" not in r.stderr
    r = invoke_cli("batch", str(ideas), "--engine", "spark")
    assert r.exit_code != 0 and "Unknown engine 'spark'" in r.stderr


def test_default_install_does_not_pull_ray():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert not any(d.lower().startswith("ray") for d in project["dependencies"])
    assert any(d.startswith("ray") for d in project["optional-dependencies"]["cluster"])


def test_engine_ray_without_a_cluster_is_one_line_in_seconds(tmp_path, monkeypatch):
    """QA: it printed Ray's 80-line traceback, and hung for minutes on an unreachable --ray-address."""
    import socket
    import time

    from conftest import invoke_cli

    pytest.importorskip("ray")
    ideas = tmp_path / "ideas.txt"
    ideas.write_text("A lighthouse keeper finds a message in a bottle\n")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    r = invoke_cli("batch", str(ideas), "-o", str(tmp_path / "out"), "--engine", "ray", "--ray-address", f"127.0.0.1:{port}")
    assert time.monotonic() - t0 < 30
    assert r.exit_code == 3 and f"No Ray cluster answers at 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr
    assert "--ray-address" in r.stderr
