"""SDXL keyframes on a tiny random-weight SDXL built from the real diffusers/transformers classes,
saved with save_pretrained and loaded through keyframes.model=<folder> like a user's download."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from storygen.config import DEFAULTS, load_config
from storygen.errors import ConfigError, InputError, ProviderError
from storygen.models import Character, Scene, StyleBible
from storygen.providers import devices, registry
from storygen.providers._diffusers import fit_to
from storygen.providers.images.sdxl import SDXLImages, build_prompt, colour_name
from visual_fixtures import tiny_sdxl, tiny_sdxl_refiner  # noqa: F401 - session fixtures

SCENE = Scene(index=2, text="Mara walks home through the rain.", start=0.0, end=4.0,
              prompt="a girl walking through a rainy neon city at night", seed=11)
STYLE = StyleBible(characters=[Character(name="Mara", description="a girl with a red raincoat", seed=5)])


def _settings(folder, **kw):
    s = {**DEFAULTS["keyframes"], "model": str(folder), "steps": 2, "guidance": 7.5, "width": 64, "height": 112, "device": "cpu"}
    s.update(kw)
    return s


def test_keyframe_has_exact_requested_size_and_is_seeded(tiny_sdxl):
    gen = SDXLImages(_settings(tiny_sdxl), None)
    a = gen.generate(SCENE, STYLE, width=72, height=128, seed=3)
    b = gen.generate(SCENE, STYLE, width=72, height=128, seed=3)
    c = gen.generate(SCENE, STYLE, width=72, height=128, seed=4)
    assert a.size == (72, 128) and a.mode == "RGB"
    assert np.array_equal(np.asarray(a), np.asarray(b)), "same seed must give the same keyframe"
    assert not np.array_equal(np.asarray(a), np.asarray(c)), "a new seed must give a new keyframe"
    assert np.asarray(a).std() > 1.0  # the VAE decoded something, not a constant
    assert gen.applied == ["sdpa"]  # compile off and guidance on every step by default (the spec's settings)
    assert gen.version.startswith("diffusers-")


def test_guidance_cutoff_runs_the_late_steps_on_the_conditional_half(tiny_sdxl):
    import torch

    from storygen.providers import accel

    full = SDXLImages(_settings(tiny_sdxl, steps=4, guidance_cutoff=1.0), None)
    half = SDXLImages(_settings(tiny_sdxl, steps=4, guidance_cutoff=0.5), None)
    pipe, _ = half._load()
    assert isinstance(pipe.unet, accel.GuidanceCutoff) and pipe.unet.config is pipe.unet.inner.config
    seen = []
    hook = pipe.unet.inner.register_forward_pre_hook(lambda m, args, kw: seen.append((args or [kw["sample"]])[0].shape[0]),
                                                     with_kwargs=True)
    try:
        b = np.asarray(half.generate(SCENE, STYLE, width=64, height=112, seed=3))
        seen_first = list(seen)
        half.generate(SCENE, STYLE, width=64, height=112, seed=3)  # begin() resets the count per image
    finally:
        hook.remove()
    assert seen_first == [2, 2, 1, 1] and seen[4:] == [2, 2, 1, 1]  # CFG pairs for 2 of 4 steps, then the cond half
    a = np.asarray(full.generate(SCENE, STYLE, width=64, height=112, seed=3))
    assert a.shape == b.shape and not np.array_equal(a, b)
    # the wrapped call on a CFG batch equals the inner model on the cond half, twice
    w = accel.GuidanceCutoff(pipe.unet.inner, 0.5)
    w.begin(2)
    x = torch.randn(2, 4, 14, 8)
    emb = torch.randn(2, 77, pipe.unet.config.cross_attention_dim)
    cond = {"text_embeds": torch.randn(2, pipe.text_encoder_2.config.projection_dim), "time_ids": torch.randn(2, 6)}
    with torch.no_grad():
        w(x, 5, encoder_hidden_states=emb, added_cond_kwargs=cond, return_dict=False)  # step 0: full batch
        got = w(x, 5, encoder_hidden_states=emb, added_cond_kwargs=cond, return_dict=False)[0]
        ref = pipe.unet.inner(x[1:], 5, encoder_hidden_states=emb[1:],
                              added_cond_kwargs={k: v[1:] for k, v in cond.items()}, return_dict=False)[0]
    assert torch.allclose(got[0], ref[0]) and torch.allclose(got[1], ref[0])
    with pytest.raises(ConfigError, match="guidance_cutoff"):
        SDXLImages(_settings(tiny_sdxl, guidance_cutoff=0), None)


def test_registry_builds_sdxl_from_config_and_shares_one_loaded_pipeline(tiny_sdxl):
    registry.clear_cache()
    cfg = load_config(overrides=["keyframes.provider=sdxl", f"keyframes.model={tiny_sdxl}", "keyframes.steps=2",
                                 "keyframes.width=64", "keyframes.height=112", "keyframes.device=cpu"])
    prov = registry.get_provider("images", cfg)
    assert isinstance(prov, SDXLImages)
    img = prov.generate(SCENE, StyleBible(), width=45, height=80, seed=1)  # 9:16
    assert img.size == (45, 80)
    other = SDXLImages(cfg.section("keyframes"), cfg)
    assert other._load() is prov._load(), "one model loaded once serves every scene"


def test_refiner_pass_shares_text_encoder_2_and_vae(tiny_sdxl, tiny_sdxl_refiner):
    gen = SDXLImages(_settings(tiny_sdxl, refiner=str(tiny_sdxl_refiner), steps=5), None)
    img = gen.generate(SCENE, STYLE, width=36, height=64, seed=9)
    assert img.size == (36, 64)
    base, refiner = gen._load()
    assert refiner is not None
    assert refiner.text_encoder_2 is base.text_encoder_2 and refiner.vae is base.vae
    assert "+refiner:" in gen.version


def test_vae_tiling_option_is_applied(tiny_sdxl):
    gen = SDXLImages(_settings(tiny_sdxl, vae_tiling=True), None)
    img = gen.generate(SCENE, STYLE, width=36, height=64, seed=2)
    assert img.size == (36, 64)
    pipe, _ = gen._load()
    assert pipe.vae.use_tiling and "vae_tiling" in gen.applied


def test_replacement_vae_is_loaded_and_used(tiny_sdxl, tmp_path):
    import torch
    from diffusers import AutoencoderKL

    own = AutoencoderKL.from_pretrained(tiny_sdxl / "vae")
    assert own.config.force_upcast  # SDXL's VAE: decoded in fp32 under fp16
    fixed = AutoencoderKL.from_config({**own.config, "force_upcast": False})  # an "fp16-fix" style VAE
    torch.manual_seed(42)
    with torch.no_grad():
        for p in fixed.decoder.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # different weights: the picture must change
    fixed.save_pretrained(tmp_path / "vae-fix")
    base = SDXLImages(_settings(tiny_sdxl), None).generate(SCENE, STYLE, width=36, height=64, seed=2)
    gen = SDXLImages(_settings(tiny_sdxl, vae=str(tmp_path / "vae-fix")), None)
    img = gen.generate(SCENE, STYLE, width=36, height=64, seed=2)
    pipe, _ = gen._load()
    assert img.size == (36, 64) and pipe.vae.config.force_upcast is False
    assert torch.equal(pipe.vae.decoder.conv_in.weight, fixed.decoder.conv_in.weight)
    assert not np.array_equal(np.asarray(img), np.asarray(base)) and "+vae:vae-fix" in gen.version
    with pytest.raises(ConfigError, match="not a diffusers VAE folder"):
        SDXLImages(_settings(tiny_sdxl, vae=str(tmp_path)), None).generate(SCENE, STYLE, width=36, height=64, seed=2)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{}")
    with pytest.raises(ProviderError, match="keyframes.vae"):
        SDXLImages(_settings(tiny_sdxl, vae=str(tmp_path / "broken")), None).generate(SCENE, STYLE, width=36, height=64, seed=2)


def test_prompt_carries_style_palette_and_mentioned_characters():
    p = build_prompt(SCENE, STYLE)
    assert p.startswith("a girl walking through a rainy neon city at night")
    assert "painterly" in p and "colour palette of" in p
    assert "Mara: a girl with a red raincoat" in p
    assert colour_name("#ff0000") in ("red", "crimson") and colour_name("#000000") == "black"
    unmentioned = StyleBible(characters=[Character(name="Tom", description="an old sailor")])
    assert "Tom" not in build_prompt(SCENE, unmentioned)


def test_fit_to_center_crops_to_the_requested_aspect():
    im = Image.new("RGB", (100, 100), (0, 0, 0))
    im.paste((255, 255, 255), (0, 0, 20, 100))  # a white strip on the far left is cropped away
    out = fit_to(im, 9, 16)
    assert out.size == (9, 16)
    assert np.asarray(out).max() < 40


def test_empty_prompt_is_a_clear_input_error(tiny_sdxl):
    gen = SDXLImages(_settings(tiny_sdxl), None)
    with pytest.raises(InputError, match="empty visual prompt"):
        gen.generate(SCENE.model_copy(update={"prompt": "  "}), STYLE, width=36, height=64, seed=1)


def test_hub_id_offline_names_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # read at import time by the hub client
    gen = SDXLImages({**DEFAULTS["keyframes"], "model": "stabilityai/stable-diffusion-xl-base-1.0", "steps": 2, "device": "cpu"}, None)
    with pytest.raises(ProviderError) as ei:
        gen.generate(SCENE, STYLE, width=36, height=64, seed=1)
    msg = str(ei.value)
    assert "offline" in msg and "keyframes.model=DIR" in msg and "huggingface-cli download" in msg


def test_bad_model_folders_and_settings(tmp_path):
    with pytest.raises(ConfigError, match="not a diffusers model folder"):
        SDXLImages({**DEFAULTS["keyframes"], "model": str(tmp_path), "steps": 2, "device": "cpu"}, None).generate(
            SCENE, STYLE, width=36, height=64, seed=1)
    with pytest.raises(ConfigError, match="does not exist"):
        SDXLImages({**DEFAULTS["keyframes"], "model": str(tmp_path / "nope"), "device": "cpu"}, None)
    with pytest.raises(ConfigError, match="multiples of 8"):
        SDXLImages({**DEFAULTS["keyframes"], "model": str(tmp_path), "width": 770, "height": 1344, "device": "cpu"}, None)


@pytest.mark.skipif(importlib.util.find_spec("peft") is not None, reason="peft installed: the LoRA path would run")
def test_lora_without_peft_says_what_to_install(tiny_sdxl, tmp_path):
    gen = SDXLImages(_settings(tiny_sdxl, lora=str(tmp_path / "style.safetensors")), None)
    with pytest.raises(ProviderError, match="pip install peft"):
        gen.generate(SCENE, STYLE, width=36, height=64, seed=1)


def test_device_helpers_and_vram_message(monkeypatch):
    import torch

    assert devices.pick_device("cpu") == "cpu"
    assert devices.pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert devices.dtype_for("cpu", "fp16") == torch.float32
    assert devices.dtype_for("cuda", "fp16") == torch.float16
    devices.check_vram(1e6, "SDXL", "set keyframes.offload=true", device="cpu")  # CPU: nothing to check
    monkeypatch.setattr(devices, "free_vram_gb", lambda device="cuda": 3.5)
    with pytest.raises(ProviderError) as ei:
        devices.check_vram(12, "SDXL with the refiner", "set keyframes.refiner= (refiner off)")
    assert "3.5 GB" in str(ei.value) and "refiner off" in str(ei.value)
    calls = []
    assert devices.load_once(("t", 1), lambda: calls.append(1) or "model") == "model"
    assert devices.load_once(("t", 1), lambda: calls.append(1) or "other") == "model"
    assert calls == [1]
    devices.forget(("t", 1))


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_sdxl_on_cuda_fp16(tiny_sdxl):
    import torch

    gen = SDXLImages(_settings(tiny_sdxl, device="cuda"), None)
    img = gen.generate(SCENE, STYLE, width=72, height=128, seed=3)
    assert img.size == (72, 128)
    pipe, _ = gen._load()
    assert pipe.unet.dtype == torch.float16


def _real_clip_tokenizer(tmp_path):
    """CLIP's own BPE vocabulary (open_clip ships it as bpe_simple_vocab_16e6.txt.gz), as the tokenizer SDXL uses."""
    import gzip
    import json
    from pathlib import Path

    from transformers import CLIPTokenizer

    from visual_fixtures import _bytes_to_unicode

    spec = importlib.util.find_spec("open_clip")
    if spec is None:
        pytest.skip("open_clip_torch (requirements-nodeps.txt) is not installed")
    bpe = Path(spec.origin).parent / "bpe_simple_vocab_16e6.txt.gz"
    merges = gzip.open(bpe).read().decode("utf-8").split("\n")[1: 49152 - 256 - 2 + 1]
    chars = _bytes_to_unicode()
    vocab = [*chars, *(c + "</w>" for c in chars), *("".join(m.split()) for m in merges), "<|startoftext|>",
             "<|endoftext|>"]
    (tmp_path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges))
    return CLIPTokenizer(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"), model_max_length=77)


def test_long_prompts_fit_clips_77_tokens_with_characters_and_palette_kept(tmp_path):
    from storygen.providers.images.sdxl import clip_token_counter

    tok = _real_clip_tokenizer(tmp_path)
    assert tok.tokenize("lighthouse")[:1] == ["lighthouse</w>"]  # the real vocabulary: whole words, not letters
    count = clip_token_counter(tok)
    style = StyleBible(art_style="painterly digital illustration, cinematic lighting, soft volumetric light, "
                                 "9:16 composition, highly detailed, muted film grain, dramatic rim light",
                       palette=["#1b2a49", "#e09f7d", "#6d5a72"],
                       characters=[Character(name="Elias", description="an old lighthouse keeper with a white beard"),
                                   Character(name="Mara", description="a girl in a yellow raincoat")])
    scene = Scene(index=0, text="Elias and Mara watch the sea.", start=0, end=4, seed=1,
                  prompt="one stormy morning Elias and Mara stand at the top of the spiral lighthouse stairs watching "
                         "a green bottle wash up on the rocks below the harbour wall")
    loose = build_prompt(scene, style)
    assert count(loose) > 77  # as built before: CLIP would cut the characters and the palette off the end
    fitted = build_prompt(scene, style, count, 77)
    assert count(fitted) <= 77
    seen = tok.decode(tok(fitted, truncation=True, max_length=77)["input_ids"], skip_special_tokens=True)
    for words in ("elias : an old lighthouse keeper", "mara : a girl in a yellow raincoat", "colour palette of",
                  "one stormy morning elias and mara stand"):
        assert words in seen, (words, seen)
    assert fitted.count("painterly") <= 1
    # a plan made before the style was stated once (style appended to the scene prompt) does not get it twice
    old = scene.model_copy(update={"prompt": f"a bottle on the rocks, {style.art_style}"})
    assert build_prompt(old, style).count("painterly digital illustration") == 1
