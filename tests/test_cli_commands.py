"""`storygen ideas`, `doctor` and `status` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _chat_server import ChatServer
from conftest import IDEA, invoke_cli, run_cli
from storygen import __version__
from storygen.workspace import read_json

KEY = "sk-ideas-SECRET-5555555555"
REPLY = {k: IDEA[k] for k in ("title", "logline", "tone", "theme", "narrator_gender", "narration", "voice_hint")}


def test_ideas_writes_scored_ideas_best_first_and_make_takes_one(tmp_path: Path):
    low = {**REPLY, "title": "Low", "scores": [10] * 12}
    high = {**REPLY, "title": "High", "scores": [90] * 12}
    mid = {**REPLY, "title": "Mid", "scores": [50] * 12}
    out = tmp_path / "ideas.json"
    with ChatServer() as server:
        server.push(json.dumps({"ideas": [low, high, mid]}))
        r = invoke_cli("ideas", "3", "--theme", "the sea", "-o", str(out), "-c", "writer.provider=openai",
                    "-c", f"writer.base_url={server.base_url}", env={"OPENAI_API_KEY": KEY})
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())
    assert [i["title"] for i in got] == ["High", "Mid", "Low"]
    assert got[0]["potential"]["overall"] == 90 and got[2]["potential"]["overall"] == 10
    assert "High" in r.stdout and KEY not in r.stdout + r.stderr + out.read_text()
    # -o exists: refused without --force
    again = invoke_cli("ideas", "3", "-o", str(out))
    assert again.returncode != 0 and "--force" in again.stderr
    # `make --idea-file` takes the best one from the list
    story = tmp_path / "story"
    m = invoke_cli("make", "--idea-file", str(out), "-o", str(story), "--until", "idea")
    assert m.returncode == 0, m.stderr
    assert json.loads((story / "idea" / "idea.json").read_text())["title"] == "High"


def test_doctor_reports_and_masks_keys():
    r = invoke_cli("doctor", env={"OPENAI_API_KEY": "sk-doctor-SECRET-123456789", "PIXABAY_API_KEY": "pix-SECRET-98765"})
    assert r.returncode == 0, r.stdout + r.stderr
    for needed in ("ffmpeg", "caption font", "writer: llama.cpp", "voice: Piper", "OPENAI_API_KEY", "PIXABAY_API_KEY",
                   "espeak-ng", "ray", "pykakasi"):
        assert needed in r.stdout
    assert "SECRET" not in r.stdout
    # what the test extra installed is reported as installed, not with an install hint
    assert "storygen[cloud]" not in r.stdout and "storygen[lang-cjk]" not in r.stdout and "storygen[gpu]" not in r.stdout
    broken = invoke_cli("doctor", env={"STORYGEN_FFMPEG": "/nonexistent/ffmpeg"})
    assert broken.returncode == 1 and "missing" in broken.stdout


def test_status_of_a_fresh_story(tmp_path: Path, idea_file: Path):
    story = tmp_path / "s"
    assert invoke_cli("make", "--idea-file", str(idea_file), "-o", str(story), "--until", "idea").returncode == 0
    r = invoke_cli("status", str(story), "--json")
    states = {s["stage"]: (s["state"], s["why"]) for s in json.loads(r.stdout)}
    assert states["idea"][0] == "done" and states["script"] == ("missing", "never run")
    table = invoke_cli("status", str(story))
    assert "idea" in table.stdout and "never run" in table.stdout
    parent = invoke_cli("status", str(tmp_path))  # a folder of stories lists each one
    assert parent.returncode == 0 and "1/9" in parent.stdout and "script" in parent.stdout
    [row] = json.loads(invoke_cli("status", str(tmp_path), "--json").stdout)
    node = read_json(story / "manifest.json")["stages"]["idea"]["node"]
    assert row["nodes"] == [node] and row["making"] is None and "made on" in parent.stdout
    (tmp_path / "empty").mkdir()
    bad = invoke_cli("status", str(tmp_path / "empty"))
    assert bad.returncode != 0 and "not a story folder" in bad.stderr


def test_the_installed_command_is_a_real_process(tmp_path: Path):
    # real processes on purpose: the console-script entry point and `python -m storygen` (cli.main, its environment
    # defaults, the process exit status) are what is tested here; the other CLI tests run in-process via invoke_cli
    exe = Path(sys.executable).with_name("storygen")
    v = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120)
    assert v.returncode == 0 and v.stdout.strip() == f"storygen {__version__}", v.stderr
    r = run_cli("make", "", "-o", str(tmp_path / "s"))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and lines[-1].startswith("error:") and "empty" in lines[-1], r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "s").exists()
