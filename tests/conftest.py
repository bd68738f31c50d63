"""Shared fixtures: run the real `storygen` CLI in-process or as a subprocess, on small inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SHORT_SCRIPT = (
    "Every night for thirty years, Elias climbed the lighthouse stairs. "
    "Then one morning, the sea left a green bottle at his door. "
    "Inside was a letter, dated 1987, addressed to him. "
    "It was his own handwriting."
)

IDEA = {
    "title": "The Bottle at the Door",
    "logline": "A lighthouse keeper finds a message in a bottle written in his own hand.",
    "tone": "eerie",
    "theme": "memory",
    "narrator_gender": "male",
    "narration": "narrator",
    "voice_hint": "calm, low",
    "potential": {"platforms": {"tiktok": 80, "youtube_shorts": 70}, "regions": {"US": 75}, "age_bands": {"15-19": 70},
                  "genders": {"female": 72, "male": 68}},
}


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("STORYGEN_CACHE", str(Path.home() / ".cache" / "storygen"))


@pytest.fixture
def idea_file(tmp_path: Path) -> Path:
    p = tmp_path / "idea.json"
    p.write_text(json.dumps(IDEA), encoding="utf-8")
    return p


@pytest.fixture
def script_file(tmp_path: Path) -> Path:
    p = tmp_path / "script.txt"
    p.write_text(SHORT_SCRIPT, encoding="utf-8")
    return p


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed CLI as a user would (a real process, argument list, no shell)."""
    e = {**os.environ, **(env or {})}
    e.setdefault("HF_HUB_OFFLINE", "1")
    return subprocess.run([sys.executable, "-m", "storygen", *args], cwd=cwd, env=e, capture_output=True, text=True,
                          timeout=timeout)


def events(stdout: str) -> list[dict]:
    return [json.loads(l) for l in stdout.splitlines() if l.startswith("{")]
