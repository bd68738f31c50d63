"""The product's default path, exactly as a new user runs it: an idea in, a video out, no keys, no GPU.

These run the packaged 1.1 GB Qwen GGUF through llama.cpp (tens of seconds each on 2 cores).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import events, invoke_cli
from storygen.media.ffmpeg import probe
from storygen.workspace import read_json

pytestmark = pytest.mark.slow


def test_idea_to_video_with_the_embedded_models(tmp_path: Path):
    out = tmp_path / "story"
    t0 = time.perf_counter()
    r = invoke_cli("make", "A lighthouse keeper finds a message in a bottle", "-o", str(out), "--json")
    took = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    man = read_json(out / "manifest.json")["stages"]
    assert man["idea"]["provider"] == "llamacpp" and man["script"]["provider"] == "llamacpp"
    assert 330 <= man["script"]["info"]["words"] <= 390
    script = (out / "revised" / "script.txt").read_text()
    assert not any(ch in script for ch in "#*[]") and "Title" not in script
    info = probe(out / "final.mp4")
    assert (info.width, info.height) == (1080, 1920) and info.duration > 60
    finished = [e for e in events(r.stdout) if e.get("event") == "finished"][0]
    print(f"idea to video: {took:.1f}s for {info.duration:.1f}s of video; stages: "
          + ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in man.items()))
    assert finished["final"]


@pytest.fixture(scope="module")
def models():
    """One model host for the unusual ideas: the packaged writer loads once, as in a Studio worker."""
    from storygen.providers import lifecycle

    host = lifecycle.ModelHost("unusual-ideas")
    yield host
    host.close()


@pytest.mark.parametrize("idea", [
    "Un café à Zürich 🌧️ — مرحبا שלום, a letter nobody sent",
    "Lighthouse",
    ("A retired cartographer discovers that the maps she drew decades ago are changing on their own. " * 22)[:2000],
])
def test_unusual_ideas_work(tmp_path: Path, idea: str, models):
    from storygen.service import StoryRequest, make_story

    out = tmp_path / "story"
    make_story(StoryRequest(idea=idea, out=out, until="idea"), models=models)  # the default packaged model
    got = read_json(out / "idea" / "idea.json")
    assert got["title"].strip() and got["logline"].strip()
    assert len(got["source"]) <= 2000
    assert read_json(out / "manifest.json")["stages"]["idea"]["provider"] == "llamacpp"
