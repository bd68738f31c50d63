"""SDXL keyframes and LTX-Video motion (tiny random-weight models, loaded from folders through the same
from_pretrained path users take) feed the real final cut, through the CLI."""

from __future__ import annotations

from pathlib import Path

from conftest import invoke_cli
from storygen.media.ffmpeg import probe
from storygen.workspace import read_json
from visual_fixtures import tiny_ltx, tiny_sdxl  # noqa: F401 - session fixtures


def test_sdxl_keyframes_and_ltx_clips_reach_the_final_cut(tmp_path: Path, tiny_sdxl, tiny_ltx, idea_file, script_file):
    out = tmp_path / "story"
    r = invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "-o", str(out), "--json",
                "-c", "keyframes.provider=sdxl", "-c", f"keyframes.model={tiny_sdxl}", "-c", "keyframes.steps=2",
                "-c", "keyframes.width=64", "-c", "keyframes.height=112", "-c", "keyframes.device=cpu",
                "-c", "clips.provider=ltx", "-c", f"clips.model={tiny_ltx}", "-c", "clips.steps=1", "-c", "clips.frames=9",
                "-c", "clips.width=32", "-c", "clips.height=64", "-c", "clips.fps=12", "-c", "clips.device=cpu",
                "-c", "scenes.count=2", "-c", "vision.max_tries=2")
    assert r.returncode == 0, r.stderr[-3000:]
    man = read_json(out / "manifest.json")["stages"]
    assert man["keyframes"]["provider"] == "sdxl" and man["clips"]["provider"] == "ltx"
    plan = read_json(out / "scenes" / "scenes.json")["scenes"]
    clips = read_json(out / "clips" / "clips.json")["clips"]
    assert len(clips) == len(plan) == 2
    for scene, clip in zip(plan, clips):
        assert clip["kind"] == "video"
        info = probe(out / clip["path"])
        assert info.video_frames == round((scene["end"] - scene["start"]) * 12)  # retimed to the scene
        assert clip["verdicts"] and "score" in clip["verdicts"][0]  # the middle frame was judged
    from PIL import Image

    with Image.open(out / "keyframes" / "scene_00.png") as im:
        assert im.size == (1080, 1920)
    verdicts = read_json(out / "keyframes" / "verdicts.json")
    assert set(verdicts) == {"scene_00.png", "scene_01.png"}
    final = probe(out / "final.mp4")
    assert (final.width, final.height) == (1080, 1920)
    assert abs(final.duration - probe(out / "voice" / "voice.wav").duration) <= 1 / 30 + 0.03
