"""Helpers for the Studio tests (a real server on a free port, fast story requests); no tests of its own."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import IDEA, SHORT_SCRIPT

pytest.importorskip("fastapi")

#: a story that needs no writer (a ready idea and a short script) and renders small: about 20 s on 2 busy cores
FAST = {"render.music": "none", "render.width": 360, "render.height": 640, "render.fps": 15}
FAST_STORY = {"idea": IDEA, "script": SHORT_SCRIPT, "config": FAST}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def studio(stories: Path, **settings):
    """A real Studio (uvicorn on a free port, in a thread): yields an httpx.Client on its base URL."""
    import uvicorn

    from storygen.serve.app import create_app
    from storygen.serve.settings import Settings

    token = settings.pop("token", None)
    app = create_app(Settings(stories=stories, token=token, **settings))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and t.is_alive(), "the server did not start"
        time.sleep(0.05)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    server.should_exit = True
    t.join(30)


def wait_status(client: httpx.Client, story_id: str, statuses=("done", "failed", "cancelled"), timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        s = client.get(f"/api/stories/{story_id}").json()
        if s["status"] in statuses:
            return s
        assert time.monotonic() < deadline, f"story still {s['status']} ({s['progress']}) after {timeout} s"
        time.sleep(0.3)


def sse(client: httpx.Client, story_id: str, last: int | None = None, until=None, timeout: float = 240) -> list[tuple[int, dict]]:
    """Read the story's event stream to its end (the server closes it when the story is finished)."""
    headers = {"Last-Event-ID": str(last)} if last is not None else {}
    out: list[tuple[int, dict]] = []
    seq = None
    with client.stream("GET", f"/api/stories/{story_id}/events", headers=headers, timeout=timeout) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("data: "):
                out.append((seq, json.loads(line[6:])))
                if until is not None and until(out[-1][1]):
                    break
    return out


def ffmpeg_children(pid: int | None = None) -> list[int]:
    """Live ffmpeg processes whose parent is ``pid`` (default: this process)."""
    pid = pid or os.getpid()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        state = stat.rsplit(")", 1)[1].split()[0]
        if ppid == pid and b"ffmpeg" in cmd and state != "Z":
            found.append(int(d.name))
    return found
