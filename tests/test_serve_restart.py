"""Jobs survive the server: a `storygen serve` killed with SIGKILL mid-story resumes it on the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from test_serve_support import FAST_STORY, free_port

from storygen import layout
from storygen.media.ffmpeg import probe


def _start(stories: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("STORYGEN_API_TOKEN", None)
    return subprocess.Popen([sys.executable, "-m", "storygen", "serve", "--port", str(port), "--stories", str(stories)],
                            env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _client(port: int, proc: subprocess.Popen, log: Path) -> httpx.Client:
    c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if c.get("/api/health").status_code == 200:
                return c
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not come up:\n" + log.read_text()
        time.sleep(0.2)


def test_a_job_killed_with_the_server_resumes_on_restart_and_finishes(tmp_path):
    stories, log, port = tmp_path / "stories", tmp_path / "serve.log", free_port()
    proc = _start(stories, port, log)
    try:
        c = _client(port, proc, log)
        sid = c.post("/api/stories", json=FAST_STORY).json()["id"]
        deadline = time.monotonic() + 240
        while True:  # kill it once the voice is made, mid-story
            s = c.get(f"/api/stories/{sid}").json()
            done = {g["name"] for g in s["stages"] if g["state"] == "done"}
            if "voice" in done and s["status"] == "running":
                break
            assert s["status"] in ("queued", "running") and time.monotonic() < deadline, s
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        c.close()
        assert not (stories / sid / layout.FINAL).exists()

        proc = _start(stories, port, log)
        c = _client(port, proc, log)
        deadline = time.monotonic() + 240
        while (s := c.get(f"/api/stories/{sid}").json())["status"] != "done":
            assert s["status"] in ("queued", "running") and time.monotonic() < deadline, s
            time.sleep(0.3)
        events = [e for _, e in _events(c, sid)]
        assert any(e["event"] == "requeued" for e in events)
        second = events[[i for i, e in enumerate(events) if e["event"] == "requeued"][-1]:]
        redone = {e["stage"] for e in second if e["event"] == "done"}
        assert "idea" not in redone and "script" not in redone and "final" in redone  # resumed from the manifest
        info = probe(stories / sid / layout.FINAL)
        assert info.has_video and info.has_audio and info.duration > 5 and info.width == 360
        assert s["runs"] == 2
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _events(c: httpx.Client, sid: str) -> list:
    import json

    out = []
    with c.stream("GET", f"/api/stories/{sid}/events") as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                out.append((None, json.loads(line[6:])))
    return out


if sys.platform != "linux":  # pragma: no cover
    pytestmark = pytest.mark.skip("SIGKILL of a process group: Linux")
