"""Shared fixtures: run the real `storygen` CLI in-process (`invoke_cli`) or as a subprocess (`run_cli`), on small inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from pathlib import Path
from typing import NamedTuple

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


class CliResult(NamedTuple):
    """What a run of the CLI left: unpacks as (exit_code, stdout, stderr)."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def returncode(self) -> int:  # the name subprocess.CompletedProcess uses, so a test reads the same either way
        return self.exit_code


# what storygen.cli.main sets (setdefault) before it runs the app
_MAIN_ENV_DEFAULTS = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def invoke_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> CliResult:
    """Run `storygen ARGS` in this process through Typer's CliRunner on `storygen.cli.app`.

    stdout and stderr are kept apart as a user's terminal keeps them; `env` is set only for the call and `cwd` is
    entered only for the call (both restored after). A Python exception that escapes the app is written to stderr
    with its traceback and gives exit code 1, as `python -m storygen` would, so "no Traceback" checks still bite.
    What C libraries write straight to file descriptors 1 and 2 is not captured: use `run_cli` when that matters.
    """
    from typer.testing import CliRunner

    from storygen.cli import app

    e = {k: os.environ.get(k, v) for k, v in _MAIN_ENV_DEFAULTS.items()} | (env or {})
    with pytest.MonkeyPatch.context() as mp:
        if cwd is not None:
            mp.chdir(cwd)
        r = CliRunner().invoke(app, list(args), env=e, prog_name="storygen")
    stderr = r.stderr
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        stderr += "".join(traceback.format_exception(r.exception))  # starts "Traceback (most recent call last):"
    return CliResult(r.exit_code, r.stdout, stderr)


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed CLI as a user would (a real process, argument list, no shell).

    Only for tests where the process boundary is the point (entry point, exit status of the process, signals, all
    output of the process including C libraries); everything else uses `invoke_cli`.
    """
    e = {**os.environ, **(env or {})}
    e.setdefault("HF_HUB_OFFLINE", "1")
    return subprocess.run([sys.executable, "-m", "storygen", *args], cwd=cwd, env=e, capture_output=True, text=True,
                          timeout=timeout)


def events(stdout: str) -> list[dict]:
    return [json.loads(l) for l in stdout.splitlines() if l.startswith("{")]
