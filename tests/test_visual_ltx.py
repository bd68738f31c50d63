"""LTX-Video image-to-video on a tiny random-weight LTX (transformer + causal video VAE + T5), saved with
save_pretrained and loaded through clips.model=<folder>; the clip is probed for size, frames and length."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from storygen.config import DEFAULTS, load_config
from storygen.errors import InputError
from storygen.media.ffmpeg import probe
from storygen.models import Scene
from storygen.providers import registry
from storygen.providers.motion.frames import clip_size, frames_8k1, plan_retime, write_clip
from storygen.providers.motion.ltx import LTXMotion
from visual_fixtures import tiny_ltx  # noqa: F401 - session fixture


def _keyframe(tmp_path, size=(72, 128)):
    rng = np.random.default_rng(0)
    path = tmp_path / "key.png"
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def _scene(duration, **kw):
    return Scene(index=3, text="The door creaks open.", start=10.0, end=10.0 + duration,
                 prompt="an old wooden door creaking open", camera="zoom_in", seed=5, **kw)


def _settings(folder, **kw):
    s = {**DEFAULTS["clips"], "model": str(folder), "steps": 2, "guidance": 3.0, "frames": 9, "fps": 24, "width": 32, "height": 64,
         "device": "cpu"}
    s.update(kw)
    return s


def test_ltx_clip_is_portrait_and_stretched_to_the_scene(tiny_ltx, tmp_path):
    m = LTXMotion(_settings(tiny_ltx), None)
    clip = m.animate(_keyframe(tmp_path), _scene(0.5), tmp_path / "clips")
    info = probe(clip.path)
    assert clip.kind == "video" and clip.duration == pytest.approx(0.5)
    assert (info.width, info.height) == (32, 64)  # portrait keyframe -> portrait clip
    assert info.video_frames == 12 and info.fps == pytest.approx(24)
    assert info.duration == pytest.approx(0.5, abs=0.05)
    assert m.last["frames_in"] == 9 and m.last["mode"] == "stretch"


def test_ltx_guidance_cutoff_halves_the_late_steps(tiny_ltx, tmp_path):
    from storygen.providers import accel

    m = LTXMotion(_settings(tiny_ltx, steps=4, guidance_cutoff=0.5), None)
    pipe = m._load()
    assert isinstance(pipe.transformer, accel.GuidanceCutoff) and "guidance_cutoff:0.5" in m.applied
    seen = []
    hook = pipe.transformer.inner.register_forward_pre_hook(
        lambda mod, args, kw: seen.append((kw["hidden_states"].shape[0], kw["encoder_attention_mask"].shape[0])),
        with_kwargs=True)
    try:
        clip = m.animate(_keyframe(tmp_path), _scene(0.5), tmp_path / "clips")
    finally:
        hook.remove()
    assert seen == [(2, 2), (2, 2), (1, 1), (1, 1)]  # guided pairs, then the conditional half with its own mask
    assert probe(clip.path).video_frames == 12


def test_ltx_short_clip_is_ping_pong_looped_for_a_long_scene(tiny_ltx, tmp_path):
    m = LTXMotion(_settings(tiny_ltx), None)
    clip = m.animate(_keyframe(tmp_path, (128, 72)), _scene(2.0), tmp_path / "clips")  # landscape keyframe
    info = probe(clip.path)
    assert (info.width, info.height) == (64, 32)
    assert info.video_frames == 48 and info.duration == pytest.approx(2.0, abs=0.05)
    assert m.last["mode"] == "pingpong"


def test_ltx_through_config_and_registry(tiny_ltx, tmp_path):
    registry.clear_cache()
    cfg = load_config(overrides=["clips.provider=ltx", f"clips.model={tiny_ltx}", "clips.steps=1", "clips.frames=10",
                                 "clips.width=32", "clips.height=64", "clips.device=cpu", "clips.fps=12"])
    m = registry.get_provider("motion", cfg)
    assert isinstance(m, LTXMotion) and m.frames == 9  # 10 -> nearest 8k+1
    clip = m.animate(_keyframe(tmp_path), _scene(1.0), tmp_path / "c")
    info = probe(clip.path)
    assert info.video_frames == 12 and info.fps == pytest.approx(12)


def test_bad_keyframes_are_clear_errors(tiny_ltx, tmp_path):
    m = LTXMotion(_settings(tiny_ltx), None)
    with pytest.raises(InputError, match="does not exist"):
        m.animate(tmp_path / "missing.png", _scene(1.0), tmp_path)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="not a readable image"):
        m.animate(bad, _scene(1.0), tmp_path)
    tiny = tmp_path / "tiny.png"
    Image.new("L", (8, 8)).save(tiny)
    with pytest.raises(InputError, match="only 8x8"):
        m.animate(tiny, _scene(1.0), tmp_path)


def test_retime_plans_and_sizes():
    order, factor = plan_retime(121, 24, 6.0)  # 5.04 s -> 6 s: a gentle slow-down
    assert order == list(range(121)) and factor == pytest.approx(6.0 / (121 / 24))
    order, factor = plan_retime(25, 7, 9.0)  # 3.6 s -> 9 s: ping-pong, never jumping back to frame 0
    assert factor == 1.0 and len(order) >= 9 * 7
    assert all(abs(a - b) == 1 for a, b in zip(order, order[1:]))
    _, factor = plan_retime(121, 24, 2.0)  # a long clip for a short scene: at most 1.5x faster, then trimmed
    assert factor == pytest.approx(1 / 1.5)
    assert clip_size(1080, 1920, 768, 512) == (512, 768) and clip_size(1920, 1080, 768, 512) == (768, 512)
    assert frames_8k1(121) == 121 and frames_8k1(100) == 97 and frames_8k1(3) == 9


def test_write_clip_accepts_pil_and_uint8_frames(tmp_path):
    frames = [Image.new("RGB", (33, 20), (i * 20, 0, 0)) for i in range(5)]
    info = write_clip(frames, tmp_path / "a.mp4", src_fps=8, duration=1.0, out_fps=10)
    p = probe(tmp_path / "a.mp4")
    assert (p.width, p.height) == (32, 20) and p.video_frames == 10 and info["frames_out"] == 10
    assert not list(tmp_path.glob(".*part*")) and not list(tmp_path.glob(".frames*"))


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_ltx_on_cuda_bf16(tiny_ltx, tmp_path):
    m = LTXMotion(_settings(tiny_ltx, device="cuda"), None)
    clip = m.animate(_keyframe(tmp_path), _scene(0.5), tmp_path / "clips")
    assert probe(clip.path).video_frames == 12
