"""One writer per story: the story lease, across threads, processes and (simulated) hosts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import IDEA, SHORT_SCRIPT, events
from storygen import layout
from storygen.lease import HOST, LeaseInfo, StoryBusy, StoryLease, holder_alive, read_lease
from storygen.workspace import Story, cleanup_partials, read_json


def _fake_lease(root: Path, *, host: str, pid: int, heartbeat: float) -> None:
    info = {"host": host, "pid": pid, "token": "t" * 32, "since": heartbeat - 5, "heartbeat": heartbeat, "owner": "storygen"}
    (root / layout.LEASE).write_text(json.dumps(info))


def test_second_holder_in_one_process_is_refused_then_admitted(tmp_path):
    story = Story.open_or_create(tmp_path / "s")
    with StoryLease(story.root, owner="first") as first:
        info = read_lease(story.root)
        assert info.host == HOST and info.pid == os.getpid() and info.owner == "first"
        with pytest.raises(StoryBusy, match=rf"being made by host {HOST} pid {os.getpid()}"):
            StoryLease(story.root, wait=0).acquire()
        t0 = time.monotonic()
        with pytest.raises(StoryBusy):
            StoryLease(story.root, wait=0.5, poll=0.05).acquire()  # waits, then gives up
        assert time.monotonic() - t0 >= 0.45
        first.check()  # still ours
    assert read_lease(story.root) is None  # given back
    with StoryLease(story.root, wait=0):
        pass


def test_a_lease_left_by_a_dead_process_is_taken_over(tmp_path):
    story = Story.open_or_create(tmp_path / "s")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _fake_lease(story.root, host=HOST, pid=dead.pid, heartbeat=time.time())
    assert not holder_alive(read_lease(story.root))
    with StoryLease(story.root, wait=0) as lease:
        assert read_lease(story.root).token == lease.token


def test_another_hosts_lease_holds_while_its_heartbeat_is_fresh_and_its_temp_files_survive(tmp_path):
    story = Story.open_or_create(tmp_path / "s")
    other = "render-node-7"
    tag = hashlib.sha1(other.encode()).hexdigest()[:8]
    # a run on another machine is writing this story (shared storage): its temp file and render folder, named
    # with a PID that means nothing here (it may even be a dead local PID)
    theirs = story.root / "voice" / f".voice.{os.getpid() + 99999}@{tag}-abcd1234.part.wav"
    theirs.parent.mkdir(parents=True)
    theirs.write_bytes(b"half")
    their_render = story.root / f".render-{os.getpid() + 99999}@{tag}-abcd1234"
    their_render.mkdir()
    # and leftovers of a dead local run, which must still go
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine_dead = story.root / "voice" / f".voice.{dead.pid}@{hashlib.sha1(HOST.encode()).hexdigest()[:8]}-zz.part.wav"
    mine_dead.write_bytes(b"x")
    _fake_lease(story.root, host=other, pid=os.getpid() + 99999, heartbeat=time.time())

    assert cleanup_partials(story.root) == 1
    assert theirs.exists() and their_render.is_dir() and not mine_dead.exists()
    with pytest.raises(StoryBusy, match=f"being made by host {other}"):
        StoryLease(story.root, wait=0).acquire()

    # the other host dies: no heartbeat for longer than the TTL -> its files are leftovers, its lease is lost
    _fake_lease(story.root, host=other, pid=1, heartbeat=time.time() - 3600)
    assert not holder_alive(read_lease(story.root), ttl=60)
    assert cleanup_partials(story.root) == 2
    assert not theirs.exists() and not their_render.exists()
    with StoryLease(story.root, wait=0):
        pass


def test_a_run_presumed_dead_notices_it_lost_the_story(tmp_path):
    story = Story.open_or_create(tmp_path / "s")
    lease = StoryLease(story.root).acquire()
    try:
        _fake_lease(story.root, host="other-host", pid=1, heartbeat=time.time())  # another host took it over
        with pytest.raises(StoryBusy, match="taken over by host other-host"):
            lease.check()
    finally:
        lease.release()
    assert read_lease(story.root).host == "other-host"  # release never removes another holder's lease


def test_heartbeat_keeps_a_lease_fresh(tmp_path):
    story = Story.open_or_create(tmp_path / "s")
    with StoryLease(story.root, ttl=1.5):
        first = read_lease(story.root).heartbeat
        time.sleep(1.2)
        assert read_lease(story.root).heartbeat > first


def _make_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "storygen", "make", *args]


def test_two_processes_on_one_story_the_second_waits_and_the_manifest_keeps_both(tmp_path):
    """The process boundary is the point: two real `storygen make` processes on one folder at once."""
    (tmp_path / "idea.json").write_text(json.dumps(IDEA))
    (tmp_path / "script.txt").write_text(SHORT_SCRIPT)
    out = tmp_path / "story"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    first = subprocess.Popen(_make_cmd("--idea-file", str(tmp_path / "idea.json"), "--script", str(tmp_path / "script.txt"),
                                       "-o", str(out), "--until", "captions", "--json"),
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while read_lease(out) is None and first.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    holder = read_lease(out)
    assert holder is not None and holder.pid == first.pid, "the first run should hold the story"

    # without --wait the second run fails at once, naming who holds the story
    busy = subprocess.run(_make_cmd("-o", str(out), "--until", "scenes"), env=env, capture_output=True, text=True,
                          timeout=120)
    assert busy.returncode == 5, busy.stderr
    assert f"being made by host {HOST} pid {first.pid}" in busy.stderr and "Traceback" not in busy.stderr

    # with --wait it queues behind the first and then does its own part
    second = subprocess.run(_make_cmd("-o", str(out), "--until", "scenes", "--wait", "240", "--json"), env=env,
                            capture_output=True, text=True, timeout=300)
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    ev2 = events(second.stdout)
    assert any(e["event"] == "waiting" for e in ev2) or read_json(out / layout.MANIFEST)["stages"]["captions"]["finished"] \
        < min(e["t"] for e in ev2 if e["event"] == "plan")
    ran1 = {e["stage"] for e in events(out1) if e["event"] == "done"}
    ran2 = {e["stage"] for e in ev2 if e["event"] == "done"}
    assert ran1 == {"idea", "script", "revised", "voice", "captions"}
    assert ran2 == {"scenes"}, "the second run re-did work the first had finished"
    manifest = read_json(out / layout.MANIFEST)["stages"]
    assert set(manifest) == ran1 | ran2  # both processes' work, nothing lost
    assert read_lease(out) is None
    assert not list(out.rglob(".*.part*"))


def test_lease_info_describes_its_holder():
    info = LeaseInfo(host="h", pid=3, token="x", since=0.0, heartbeat=0.0, owner="storygen serve")
    assert info.describe() == "host h pid 3 (storygen serve)"
