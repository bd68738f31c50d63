"""FLUX.1 keyframes and Wan image-to-video clips (tiny random-weight models, loaded from folders through the same
from_pretrained path users take) feed the real final cut, through storygen.service.make_story."""

from __future__ import annotations

from pathlib import Path

from storygen.media.ffmpeg import probe
from storygen.providers import lifecycle
from storygen.service import StoryRequest, make_story
from storygen.workspace import read_json
from visual_fixtures import tiny_flux, tiny_wan  # noqa: F401 - session fixtures


def test_flux_keyframes_and_wan_clips_reach_the_final_cut(tmp_path: Path, tiny_flux, tiny_wan, idea_file, script_file):
    out = tmp_path / "story"
    config = {"keyframes.provider": "flux", "keyframes.model": str(tiny_flux), "keyframes.steps": 1,
              "keyframes.width": 32, "keyframes.height": 64, "keyframes.device": "cpu",
              "clips.provider": "wan", "clips.model": str(tiny_wan), "clips.steps": 1, "clips.frames": 9,
              "clips.width": 32, "clips.height": 64, "clips.fps": 12, "clips.device": "cpu",
              "scenes.count": 2, "vision.max_tries": 2}
    with lifecycle.ModelHost("e2e-flux-wan") as host:
        result = make_story(StoryRequest(idea_file=idea_file, script=script_file, out=out, config=config), models=host)
    assert result.final == out / "final.mp4"
    man = read_json(out / "manifest.json")["stages"]
    assert man["keyframes"]["provider"] == "flux" and man["clips"]["provider"] == "wan"
    plan = read_json(out / "scenes" / "scenes.json")["scenes"]
    clips = read_json(out / "clips" / "clips.json")["clips"]
    assert len(clips) == len(plan) == 2
    for scene, clip in zip(plan, clips):
        assert clip["kind"] == "video"
        info = probe(out / clip["path"])
        assert (info.width, info.height) == (32, 64)  # portrait keyframe -> portrait Wan clip
        assert info.video_frames == round((scene["end"] - scene["start"]) * 12)  # retimed to the scene
    from PIL import Image

    with Image.open(out / "keyframes" / "scene_00.png") as im:
        assert im.size == (1080, 1920)
    final = probe(out / "final.mp4")
    assert (final.width, final.height) == (1080, 1920)
    assert abs(final.duration - probe(out / "voice" / "voice.wav").duration) <= 1 / 30 + 0.03
