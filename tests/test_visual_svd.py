"""Stable Video Diffusion on a tiny random-weight SVD (spatio-temporal UNet + temporal-decoder VAE + CLIP
image encoder), saved with save_pretrained and loaded through clips.model=<folder>."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from storygen.config import DEFAULTS, load_config
from storygen.media.ffmpeg import probe
from storygen.models import Scene
from storygen.providers import registry
from storygen.providers.motion.svd import SVD_FPS, SVDMotion
from visual_fixtures import tiny_svd  # noqa: F401 - session fixture


def _keyframe(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "key.png"
    Image.fromarray(rng.integers(0, 255, (128, 72, 3), dtype=np.uint8)).save(path)
    return path


def test_svd_clip_has_scene_length_and_portrait_size(tiny_svd, tmp_path):
    m = SVDMotion({**DEFAULTS["clips"], "model": str(tiny_svd), "frames": 4, "svd_steps": 2, "fps": 24, "width": 64, "height": 128,
                   "device": "cpu"}, None)
    scene = Scene(index=0, text="x", start=0.0, end=0.75, prompt="a lighthouse", seed=3)
    clip = m.animate(_keyframe(tmp_path), scene, tmp_path / "clips")
    info = probe(clip.path)
    assert clip.kind == "video" and clip.path.name == "scene_00.mp4"
    assert (info.width, info.height) == (64, 128)
    assert info.video_frames == 18 and info.duration == pytest.approx(0.75, abs=0.05)
    assert m.last["frames_in"] == 4 and m.decode_chunk_size == 8
    # 4 frames at SVD's 7 fps last 0.57 s; 0.75 s is a 1.31x stretch, blended up to 24 fps
    assert m.last["mode"] == "stretch" and m.last["factor"] == pytest.approx(0.75 / (4 / SVD_FPS), abs=1e-3)


def test_svd_defaults_follow_the_spec_and_registry_builds_it(tiny_svd):
    registry.clear_cache()
    cfg = load_config(overrides=["clips.provider=svd", f"clips.model={tiny_svd}", "clips.device=cpu"])
    m = registry.get_provider("motion", cfg)
    assert isinstance(m, SVDMotion)
    assert m.frames == 25 and m.decode_chunk_size == 8 and (m.short, m.long) == (576, 1024)
    assert SVDMotion({**DEFAULTS["clips"], "device": "cpu"}, None).model_ref == "stabilityai/stable-video-diffusion-img2vid-xt"


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_svd_on_cuda_fp16(tiny_svd, tmp_path):
    m = SVDMotion({**DEFAULTS["clips"], "model": str(tiny_svd), "frames": 4, "svd_steps": 2, "width": 64, "height": 128, "device": "cuda"},
                  None)
    clip = m.animate(_keyframe(tmp_path), Scene(index=1, text="x", start=0, end=1.0, prompt="p"), tmp_path)
    assert probe(clip.path).video_frames == 24
