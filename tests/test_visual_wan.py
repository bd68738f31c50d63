"""Wan image-to-video on a tiny random-weight Wan2.1 I2V (WanTransformer3DModel + AutoencoderKLWan + UMT5 text
encoder + CLIP vision image encoder + UniPC flow scheduler), saved with save_pretrained and loaded through
clips.model=<folder>; the clip is probed and decoded."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from PIL import Image

from storygen.config import DEFAULTS, load_config
from storygen.errors import ConfigError, ProviderError
from storygen.media.ffmpeg import ffmpeg_exe, probe
from storygen.models import Scene
from storygen.providers import registry
from storygen.providers.motion.base import MotionGenerator
from storygen.providers.motion.wan import DEFAULT_MODEL, WanMotion, frames_4k1
from visual_fixtures import tiny_wan  # noqa: F401 - session fixture


def _keyframe(tmp_path, size=(72, 128)):
    rng = np.random.default_rng(0)
    path = tmp_path / "key.png"
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def _scene(duration, prompt="an old wooden door creaking open", seed=5):
    return Scene(index=3, text="The door creaks open.", start=10.0, end=10.0 + duration, prompt=prompt,
                 camera="zoom_in", seed=seed)


def _settings(folder, **kw):
    s = {**DEFAULTS["clips"], "provider": "wan", "model": str(folder), "steps": 2, "frames": 9, "width": 32,
         "height": 64, "device": "cpu"}
    s.update(kw)
    return s


def _frames(path, w, h):
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def test_wan_clip_size_frames_seed_and_prompt(tiny_wan, tmp_path):
    m = WanMotion(_settings(tiny_wan), None)
    key = _keyframe(tmp_path)
    clip = m.animate(key, _scene(0.5), tmp_path / "a")
    info = probe(clip.path)
    assert clip.kind == "video" and clip.duration == pytest.approx(0.5) and clip.path.name == "scene_03.mp4"
    assert (info.width, info.height) == (32, 64)  # portrait keyframe -> portrait clip
    assert info.video_frames == 12 and info.fps == pytest.approx(24) and info.duration == pytest.approx(0.5, abs=0.05)
    # 9 frames at Wan2.1's 16 fps last 0.5625 s: sped up to 0.5 s, written at clips.fps
    assert m.last["frames_in"] == 9 and clip.move["src_fps"] == 16 and clip.move["generator"] == "wan"
    pipe = m._load()
    seen = []
    hook = pipe.text_encoder.register_forward_pre_hook(lambda mod, a, kw: seen.append((a or [kw["input_ids"]])[0]),
                                                       with_kwargs=True)
    try:
        same = m.animate(key, _scene(0.5), tmp_path / "b")
        other = m.animate(key, _scene(0.5, prompt="a red kite over the sea"), tmp_path / "c")
    finally:
        hook.remove()
    a, b, c = (_frames(p.path, 32, 64) for p in (clip, same, other))
    assert a.shape == (12, 64, 32, 3) and a.std() > 1.0
    assert np.array_equal(a, b), "the same scene seed must give the same clip"
    assert not np.array_equal(a, c), "a different prompt must change the clip"
    texts = [pipe.tokenizer.decode(ids[0], skip_special_tokens=True).replace(" ", "") for ids in seen]
    assert any("aredkiteoverthesea" in t for t in texts)  # the scene prompt reached the UMT5 encoder
    assert any("slowcamerapushin" in t for t in texts)  # with the camera move in words


def test_wan_defaults_registry_and_protocol(tiny_wan, tmp_path):
    d = WanMotion({**DEFAULTS["clips"], "provider": "wan", "device": "cpu"}, None)
    # LTX-Video's shared defaults (121 frames, guidance 3) give way to Wan2.1's own 81 frames and guidance 5
    assert (d.model_ref, d.is_local, d.frames, d.guidance, d.steps) == (DEFAULT_MODEL, False, 81, 5.0, 50)
    assert (d.short, d.long) == (480, 832) and frames_4k1(121) == 121 and frames_4k1(50) == 49 and frames_4k1(2) == 5
    registry.clear_cache()
    cfg = load_config(overrides=["clips.provider=wan", f"clips.model={tiny_wan}", "clips.steps=1", "clips.frames=10",
                                 "clips.width=32", "clips.height=64", "clips.device=cpu", "clips.fps=12",
                                 "clips.flow_shift=5"])
    m = registry.get_provider("motion", cfg)
    assert isinstance(m, WanMotion) and isinstance(m, MotionGenerator)
    assert m.makes_video is True and m.wants_gpu is True and m.name == "wan" and m.frames == 9  # 10 -> 4k+1
    clip = m.animate(_keyframe(tmp_path, (128, 72)), _scene(1.0), tmp_path / "c")  # landscape keyframe
    info = probe(clip.path)
    assert (info.width, info.height) == (64, 32) and info.video_frames == 12 and info.fps == pytest.approx(12)
    pipe = m._load()
    assert pipe.scheduler.config.flow_shift == 5.0 and "flow_shift:5" in m.applied and m.version.endswith("+shift:5")


def test_missing_model_and_bad_settings_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="does not exist"):
        WanMotion(_settings(tmp_path / "nope"), None)
    with pytest.raises(ConfigError, match="not a diffusers model folder"):
        WanMotion(_settings(tmp_path), None).animate(_keyframe(tmp_path), _scene(0.5), tmp_path / "c")
    with pytest.raises(ConfigError, match="flow_shift"):
        WanMotion(_settings(tmp_path, flow_shift=-1.0), None)
    import importlib.util

    find_spec = importlib.util.find_spec
    with monkeypatch.context() as mp:  # diffusers' Wan prompt cleaning needs ftfy: say so before loading anything
        mp.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ftfy" else find_spec(name, *a))
        with pytest.raises(ProviderError, match="pip install ftfy"):
            WanMotion(_settings(tmp_path), None).animate(_keyframe(tmp_path), _scene(0.5), tmp_path / "c")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # read at import time by the hub client
    m = WanMotion({**DEFAULTS["clips"], "provider": "wan", "device": "cpu"}, None)
    with pytest.raises(ProviderError) as ei:
        m.animate(_keyframe(tmp_path), _scene(0.5), tmp_path / "c")
    msg = str(ei.value)
    assert DEFAULT_MODEL in msg and "offline" in msg and "clips.model=DIR" in msg


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_wan_on_cuda_bf16_with_fp32_vae(tiny_wan, tmp_path):
    import torch

    m = WanMotion(_settings(tiny_wan, device="cuda"), None)
    clip = m.animate(_keyframe(tmp_path), _scene(0.5), tmp_path / "clips")
    pipe = m._load()
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.vae.dtype == torch.float32
    assert probe(clip.path).video_frames == 12
