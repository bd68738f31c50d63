"""FLUX.1 keyframes on a tiny random-weight FLUX.1-schnell (FluxTransformer2DModel + CLIP and T5 text encoders +
AutoencoderKL), built from the real classes, saved with save_pretrained and loaded through keyframes.model=<folder>."""

from __future__ import annotations

import numpy as np
import pytest

from storygen.config import DEFAULTS, load_config
from storygen.errors import ConfigError, ProviderError
from storygen.models import Character, Scene, StyleBible
from storygen.providers import registry
from storygen.providers.images.base import ImageGenerator
from storygen.providers.images.flux import DEFAULT_MODEL, FluxImages
from visual_fixtures import tiny_flux  # noqa: F401 - session fixture

SCENE = Scene(index=1, text="Mara finds a green bottle on the sand.", start=0.0, end=4.0,
              prompt="a girl finding a green bottle on a beach at dawn", seed=11)
STYLE = StyleBible(characters=[Character(name="Mara", description="a girl with a red raincoat", seed=5)])


def _settings(folder, **kw):
    s = {**DEFAULTS["keyframes"], "provider": "flux", "model": str(folder), "width": 32, "height": 64, "device": "cpu"}
    s.update(kw)
    return s


def test_keyframe_size_seed_and_schnell_defaults(tiny_flux):
    gen = FluxImages(_settings(tiny_flux, steps=2), None)
    a = gen.generate(SCENE, STYLE, width=36, height=64, seed=3)
    b = gen.generate(SCENE, STYLE, width=36, height=64, seed=3)
    c = gen.generate(SCENE, STYLE, width=36, height=64, seed=4)
    assert a.size == (36, 64) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b)), "same seed must give the same keyframe"
    assert not np.array_equal(np.asarray(a), np.asarray(c)), "a new seed must give a new keyframe"
    assert np.asarray(a).std() > 1.0
    assert gen.applied == ["sdpa"] and gen.version.startswith("diffusers-") and gen.version.endswith(tiny_flux.name)
    # SDXL's shared defaults (30 steps, guidance 7.5, SDXL's hub id) give way to schnell's own
    d = FluxImages({**DEFAULTS["keyframes"], "provider": "flux", "device": "cpu"}, None)
    assert (d.model_ref, d.is_local, d.steps, d.guidance) == (DEFAULT_MODEL, False, 4, 0.0)
    assert FluxImages({**DEFAULTS["keyframes"], "steps": 8, "guidance": 1.5, "device": "cpu"}, None).steps == 8


def test_prompt_reaches_both_text_encoders(tiny_flux):
    gen = FluxImages(_settings(tiny_flux, steps=1), None)
    pipe = gen._load()
    seen: dict[str, list] = {"clip": [], "t5": []}
    hooks = [pipe.text_encoder.register_forward_pre_hook(lambda m, a, kw: seen["clip"].append((a or [kw["input_ids"]])[0]),
                                                         with_kwargs=True),
             pipe.text_encoder_2.register_forward_pre_hook(lambda m, a, kw: seen["t5"].append((a or [kw["input_ids"]])[0]),
                                                           with_kwargs=True)]
    try:
        a = np.asarray(gen.generate_prompt("a cat in the rain", width=32, height=64, seed=1))
        b = np.asarray(gen.generate_prompt("the city at night", width=32, height=64, seed=1))
    finally:
        for h in hooks:
            h.remove()
    assert not np.array_equal(a, b), "a different prompt must change the picture"
    clip_text = pipe.tokenizer.decode(seen["clip"][0][0], skip_special_tokens=True).replace(" ", "")
    t5_text = pipe.tokenizer_2.decode(seen["t5"][0][0], skip_special_tokens=True).replace(" ", "")
    assert "acatintherain" in clip_text and "acatintherain" in t5_text
    assert seen["t5"][0].shape[-1] == 256  # schnell's T5 prompt length


def test_registry_builds_flux_and_it_meets_the_protocol(tiny_flux):
    registry.clear_cache()
    cfg = load_config(overrides=["keyframes.provider=flux", f"keyframes.model={tiny_flux}", "keyframes.steps=1",
                                 "keyframes.width=32", "keyframes.height=48", "keyframes.device=cpu"])
    gen = registry.get_provider("images", cfg)
    assert isinstance(gen, FluxImages) and isinstance(gen, ImageGenerator)
    assert gen.wants_gpu is True and gen.draws_at_output_size is False and gen.name == "flux"
    assert gen.generate(SCENE, STYLE, width=27, height=40, seed=2).size == (27, 40)
    assert registry.get_provider("images", cfg) is gen


def test_missing_model_and_bad_settings_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="does not exist"):
        FluxImages(_settings(tmp_path / "nope"), None)
    with pytest.raises(ConfigError, match="not a diffusers model folder"):
        FluxImages(_settings(tmp_path), None).generate(SCENE, STYLE, width=32, height=64, seed=1)
    with pytest.raises(ConfigError, match="multiples of 16"):
        FluxImages(_settings(tmp_path, width=40), None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # read at import time by the hub client
    gen = FluxImages({**DEFAULTS["keyframes"], "provider": "flux", "device": "cpu"}, None)
    with pytest.raises(ProviderError) as ei:
        gen.generate(SCENE, STYLE, width=32, height=64, seed=1)
    msg = str(ei.value)
    assert DEFAULT_MODEL in msg and "offline" in msg and "keyframes.model=DIR" in msg


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_flux_on_cuda_bf16(tiny_flux):
    import torch

    gen = FluxImages(_settings(tiny_flux, steps=2, device="cuda"), None)
    a = gen.generate(SCENE, STYLE, width=36, height=64, seed=3)
    assert a.size == (36, 64) and gen._load().transformer.dtype == torch.bfloat16
    assert np.array_equal(np.asarray(a), np.asarray(gen.generate(SCENE, STYLE, width=36, height=64, seed=3)))
