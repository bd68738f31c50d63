"""Phi-3.5-vision without its remote code: the HD-transform tiling, the feature layout, loading a tiny
hub-layout checkpoint through Phi3ForCausalLM.from_pretrained + the embedder, and the judge end to end."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from visual_fixtures import TINY_CLIP, tiny_phi35  # noqa: F401 - session fixture

from storygen.config import DEFAULTS, load_config
from storygen.errors import ProviderError
from storygen.models import Verdict
from storygen.providers import devices, registry
from storygen.providers.vision.judging import judge_prompt
from storygen.providers.vision.phi3v_model import (
    ImageEmbedder,
    Phi3Vision,
    VisionLayout,
)
from storygen.providers.vision.phi3v_processing import (
    ImageSettings,
    hd_size,
    hd_transform,
    image_tokens,
    preprocess,
    prompt_ids,
)
from storygen.providers.vision.phi35_vision import Phi35VisionJudge, phi35_chat


def _published_tokens(h: int, w: int) -> int:
    """The token count formula in the model repo's processor (336 px tiles, 12x12 merged features)."""
    return int((h // 336 * w // 336 + 1) * 144 + 1 + (h // 336 + 1) * 12)


def _photo(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))


# ---------------------------------------------------------------- the HD transform
@pytest.mark.parametrize("size,crops,hd", [
    ((1024, 1024), 4, (672, 672)),   # square: 2x2 tiles
    ((768, 1344), 4, (672, 672)),    # a 9:16 keyframe: 384 px wide after scaling, padded to 2 tiles
    ((1920, 1080), 4, (672, 672)),
    ((3000, 500), 4, (1344, 336)),   # a panorama: 4 tiles in a row
    ((1024, 1024), 16, (1344, 1344)),  # Phi-3-vision's 16 crops
    ((200, 100), 1, (336, 336)),
])
def test_hd_transform_sizes_and_token_counts(size, crops, hd):
    out = hd_transform(_photo(*size), crops)
    assert out.size == hd
    w, h = out.size
    assert (h // 336) * (w // 336) <= crops
    assert image_tokens(h, w) == _published_tokens(h, w)
    if size == (1024, 1024) and crops == 4:
        assert image_tokens(h, w) == 757


def test_hd_transform_pads_the_short_side_with_white_centred():
    img = Image.new("RGB", (1920, 1080), (10, 20, 200))
    out = np.asarray(hd_transform(img, 4))
    assert hd_size(1920, 1080, 4) == (672, 378)
    top = (672 - 378) // 2
    assert (out[:top] == 255).all() and (out[top + 378:] == 255).all()
    assert np.abs(out[top + 2:top + 376].astype(int) - [10, 20, 200]).max() <= 1
    portrait = np.asarray(hd_transform(Image.new("RGB", (1080, 1920), (10, 20, 200)), 4))
    assert (portrait[:, :top] == 255).all() and np.abs(portrait[:, 336].astype(int) - [10, 20, 200]).max() <= 1


def test_preprocess_puts_the_global_image_first_then_tiles_row_by_row_then_zeros():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]  # TL, TR, BL, BR quadrants
    img = Image.new("RGB", (56, 56))
    for i, c in enumerate(colours):
        img.paste(c, ((i % 2) * 28, (i // 2) * 28, (i % 2) * 28 + 28, (i // 2) * 28 + 28))
    s = ImageSettings(num_crops=6, crop=28, grid=2)
    batch = preprocess([img], s)
    assert batch.pixel_values.shape == (1, 7, 3, 28, 28)
    assert batch.image_sizes.tolist() == [[56, 56]] and batch.num_tokens == [image_tokens(56, 56, 28, 2)]
    mean, std = torch.tensor(s.mean).view(3, 1, 1), torch.tensor(s.std).view(3, 1, 1)
    for k, c in enumerate(colours):
        pixels = batch.pixel_values[0, 1 + k] * std + mean
        assert torch.allclose(pixels.mean(dim=(1, 2)), torch.tensor(c) / 255.0, atol=0.02), k
    whole = batch.pixel_values[0, 0] * std + mean
    assert torch.allclose(whole[:, :10, :10].mean(dim=(1, 2)), torch.tensor(colours[0]) / 255.0, atol=0.05)
    assert (batch.pixel_values[0, 5:] == 0).all()


def test_prompt_ids_replace_each_tag_with_one_placeholder_per_feature(tiny_phi35):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_phi35[0])
    text = phi35_chat("is this a moon?")
    ids = prompt_ids(tok, text, [37])
    assert ids.count(-1) == 37 and min(ids) == -1
    first = ids.index(-1)
    assert ids[:first] == tok("<|user|>\n").input_ids and ids[first + 37:] == tok("\nis this a moon?<|end|>\n<|assistant|>\n").input_ids
    with pytest.raises(ValueError, match="no gaps"):
        prompt_ids(tok, "<|image_2|> hi", [5])
    with pytest.raises(ValueError, match="names 1 images but 2"):
        prompt_ids(tok, "<|image_1|> hi", [5, 6])


# ---------------------------------------------------------------- the feature layout
def test_embedder_lays_merged_features_out_in_picture_rows_with_separators():
    layout = VisionLayout.from_config({"img_processor": {"vision_config": TINY_CLIP, "image_dim_out": 16}})
    emb = ImageEmbedder(layout, hidden_size=8)
    g, c = layout.grid, layout.width  # 2 merged features a side per tile, 16 channels
    down, across = 2, 3
    side = 2 * g
    # feature value = tile * 100 + patch row * 10 + patch col, the same in every channel
    tiles = torch.tensor([[[t * 100 + (p // side) * 10 + p % side] * c for p in range(side * side)]
                          for t in range(down * across)], dtype=torch.float32)
    out = emb._rows(tiles, down, across).reshape(down * g, across * g + 1, 4 * c)
    with torch.no_grad():
        for r in range(down * g):
            for col in range(across * g):
                tile = (r // g) * across + col // g
                pr, pc = 2 * (r % g), 2 * (col % g)
                want = [tile * 100 + (pr + a) * 10 + pc + b for a in (0, 1) for b in (0, 1)]
                got = out[r, col].reshape(4, c)[:, 0].tolist()
                assert got == want, (r, col)
            assert torch.equal(out[r, across * g], emb.sub_GN[0, 0, 0])
    assert out.shape[0] * out.shape[1] == down * g * (across * g + 1)


def test_unsupported_variants_are_named():
    from storygen.providers.vision.phi3v_model import UnsupportedCheckpoint

    with pytest.raises(UnsupportedCheckpoint, match="hd_transform_order"):
        VisionLayout.from_config({"embd_layer": {"hd_transform_order": "glb_sub"}})
    with pytest.raises(UnsupportedCheckpoint, match="projection_cls"):
        VisionLayout.from_config({"embd_layer": {"projection_cls": "linear"}})
    assert VisionLayout.from_config({}).grid == 12 and VisionLayout.from_config({}).crop == 336


# ---------------------------------------------------------------- the tiny checkpoint
@pytest.fixture(scope="module")
def phi3v(tiny_phi35):
    return Phi3Vision.from_folder(tiny_phi35[0])


def test_every_checkpoint_tensor_is_loaded(tiny_phi35, phi3v):
    folder, written = tiny_phi35
    assert not any(folder.glob("*.py"))  # the auto_map's remote code is not there and not needed
    lm_state = phi3v.lm.state_dict()
    emb_state = phi3v.embedder.state_dict()
    checked = 0
    for key, value in written.items():
        if key.startswith("model.vision_embed_tokens."):
            name = key[len("model.vision_embed_tokens."):]
            if name.startswith("wte."):
                continue
            if name not in emb_state:
                name = name.replace("img_processor.vision_model.", "img_processor.", 1)
            assert torch.equal(emb_state[name], value), key
        else:
            assert torch.equal(lm_state[key], value), key
        checked += 1
    assert checked == len(lm_state) + len([k for k in emb_state if not k.endswith("position_ids")])
    assert phi3v.lm.config.rope_parameters["rope_type"] == "longrope"


def test_image_features_replace_the_placeholders_and_steer_generation(tiny_phi35, phi3v):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_phi35[0])
    settings = phi3v.layout.image_settings(4)
    images = preprocess([_photo(90, 160, 1)], settings)
    ids = torch.tensor([prompt_ids(tok, phi35_chat("what is this?"), images.num_tokens)])
    embeds = phi3v.embed(ids, images)
    with torch.no_grad():
        feats = phi3v.embedder(images)
        table = phi3v.lm.get_input_embeddings()(ids.clamp(min=0))
    where = ids[0] < 0
    assert torch.equal(embeds[0, where], feats) and torch.equal(embeds[0, ~where], table[0, ~where])

    new = phi3v.generate(ids, images, max_new_tokens=4, do_sample=False)
    # greedy by hand from the same embeddings
    seq = embeds
    manual = []
    with torch.no_grad():
        for _ in range(4):
            nxt = phi3v.lm(inputs_embeds=seq).logits[0, -1].argmax()
            manual.append(int(nxt))
            seq = torch.cat([seq, phi3v.lm.get_input_embeddings()(nxt.view(1, 1))], dim=1)
    assert new[0].tolist() == manual
    other = preprocess([_photo(90, 160, 2)], settings)
    with torch.no_grad():
        a = phi3v.lm(inputs_embeds=embeds).logits[0, -1]
        b = phi3v.lm(inputs_embeds=phi3v.embed(ids, other)).logits[0, -1]
    assert not torch.allclose(a, b)  # the picture reaches the language model
    with pytest.raises(ValueError, match="image placeholders"):
        phi3v.embed(ids[:, :-5].clone().fill_(-1), images)


def test_phi35_judge_runs_through_the_registry(tiny_phi35):
    registry.clear_cache()
    devices.forget()
    cfg = load_config(overrides=["vision.provider=phi35-vision", f"vision.model={tiny_phi35[0]}", "vision.device=cpu",
                                 "vision.max_new_tokens=6"])
    judge = registry.get_provider("vision", cfg)
    assert isinstance(judge, Phi35VisionJudge) and judge.num_crops is None
    reply = judge.ask(_photo(120, 200), judge_prompt("a moon over a hill"))
    assert isinstance(reply, str)
    v = judge.judge(_photo(200, 120, 3), "a moon over a hill", others=[_photo(200, 120, 4)])
    assert isinstance(v, Verdict) and 0.0 <= v.score <= 1.0 and v.judge.startswith("phi35-vision:")
    if not v.judged_content:  # random weights: almost surely not JSON
        assert v.problems[0].startswith("unparseable reply from the judge")
    same = _photo(200, 120, 5)
    assert "near-duplicate of an earlier frame" in judge.judge(same, "a moon", others=[same]).problems


def test_phi35_broken_folders_are_clear_errors(tiny_phi35, tmp_path):
    devices.forget()
    folder = tmp_path / "phi"
    shutil.copytree(tiny_phi35[0], folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["embd_layer"]["hd_transform_order"] = "glb_sub"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ProviderError, match="variant storygen does not build"):
        Phi35VisionJudge({**DEFAULTS["vision"], "model": str(folder), "device": "cpu"}).judge(_photo(50, 50), "x")
    devices.forget()
    cfg["embd_layer"]["hd_transform_order"] = "sub_glb"
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(ProviderError, match="could not be loaded"):
        Phi35VisionJudge({**DEFAULTS["vision"], "model": str(folder), "device": "cpu"}).judge(_photo(50, 50), "x")
    with pytest.raises(Exception, match="num_crops"):
        Phi35VisionJudge({**DEFAULTS["vision"], "model": str(folder), "device": "cpu", "num_crops": 40})


def test_phi35_offline_hub_id_names_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # read at import time by the hub client
    devices.forget()
    judge = Phi35VisionJudge({**DEFAULTS["vision"], "device": "cpu"}, None)
    assert judge.model_ref == "microsoft/Phi-3.5-vision-instruct"
    with pytest.raises(ProviderError, match="vision.model=DIR"):
        judge.judge(_photo(50, 50), "a moon")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_phi35_on_cuda_bf16(tiny_phi35):
    devices.forget()
    judge = Phi35VisionJudge({**DEFAULTS["vision"], "model": str(tiny_phi35[0]), "device": "cuda", "max_new_tokens": 6}, None)
    v = judge.judge(_photo(120, 200), "a moon")
    assert 0.0 <= v.score <= 1.0
