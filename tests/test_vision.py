"""Vision judges: the heuristic on real pixel cases; LLaVA-OneVision on a tiny random-weight model loaded
through vision.model=<folder>; and the verdict parser (Phi-3.5-vision: test_vision_phi35.py)."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

from storygen.config import DEFAULTS, load_config
from storygen.errors import ProviderError
from storygen.models import Verdict
from storygen.providers import registry
from storygen.providers.vision.heuristic import CANNOT_JUDGE, HeuristicJudge
from storygen.providers.vision.judging import hamming, judge_prompt, parse_verdict, phash
from storygen.providers.vision.llava_onevision import LlavaOneVisionJudge
from visual_fixtures import tiny_llava  # noqa: F401 - session fixture


def _scene_image(seed=0, size=(90, 160)):
    """A textured picture: gradient sky, a dark hill, a bright moon, noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    img = np.concatenate([40 + 120 * y, 60 + 80 * y, 150 - 60 * y], axis=2) * np.ones((1, w, 1))
    img[int(h * 0.7):, :, :] = [30, 60, 35]
    cy, cx = int(h * 0.25) + seed * 7 % 20, int(w * 0.6) - seed * 11 % 30
    yy, xx = np.mgrid[0:h, 0:w]
    img[(yy - cy) ** 2 + (xx - cx) ** 2 < 100] = [240, 235, 200]
    img += rng.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


# ---------------------------------------------------------------- heuristic
def test_heuristic_passes_a_normal_frame_but_says_it_cannot_judge_content():
    v = HeuristicJudge({}, None).judge(_scene_image(), "a moon over a hill")
    assert v.score == 1.0 and v.judged_content is False
    assert v.problems == [CANNOT_JUDGE]
    assert "heuristic" in v.judge


@pytest.mark.parametrize("image,expect,score", [
    (Image.new("RGB", (90, 160), (128, 128, 128)), "blank or uniform", 0.0),
    (Image.new("RGB", (90, 160), (0, 0, 0)), "blank or uniform", 0.0),
    (Image.fromarray((np.asarray(_scene_image(2), dtype=np.float64) * 0.15).astype(np.uint8)), "too dark", 0.3),
    (Image.fromarray((255 - (255 - np.asarray(_scene_image(3), dtype=np.float64)) * 0.08).astype(np.uint8)), "too bright", 0.3),
])
def test_heuristic_catches_blank_dark_and_bright_frames(image, expect, score):
    v = HeuristicJudge().judge(image, "anything")
    assert v.score == score and any(expect in p for p in v.problems)
    assert CANNOT_JUDGE in v.problems and not v.judged_content


def test_heuristic_catches_near_duplicates_by_perceptual_hash():
    a = _scene_image(0)
    a_resized_noisier = _scene_image(0, size=(180, 320)).resize((90, 160))
    b = _scene_image(0).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    assert hamming(phash(a), phash(a_resized_noisier)) <= 6
    assert hamming(phash(a), phash(b)) > 10
    judge = HeuristicJudge()
    dup = judge.judge(a_resized_noisier, "p", others=[b, a])
    assert dup.score == 0.2 and any("near-duplicate of earlier frame #1" in p for p in dup.problems)
    assert judge.judge(b, "p", others=[a]).score == 1.0


# ---------------------------------------------------------------- LLaVA-OneVision (tiny, random weights)
def test_llava_onevision_tiny_model_runs_and_garbage_becomes_score_zero(tiny_llava):
    registry.clear_cache()
    cfg = load_config(overrides=["vision.provider=llava-onevision", f"vision.model={tiny_llava}", "vision.device=cpu"])
    judge = registry.get_provider("vision", cfg)
    assert isinstance(judge, LlavaOneVisionJudge)
    judge.max_new_tokens = 12
    reply = judge.ask(_scene_image(), judge_prompt("a moon over a hill"))
    assert isinstance(reply, str) and reply  # random weights: some tokens, no meaning
    v = judge.judge(_scene_image(size=(200, 120)), "a moon over a hill", others=[_scene_image(5)])
    assert isinstance(v, Verdict) and 0.0 <= v.score <= 1.0
    if not v.judged_content:  # the overwhelmingly likely case for random weights
        assert v.score == 0.0 and v.problems[0].startswith("unparseable reply from the judge")
    dup = judge.judge(_scene_image(), "a moon", others=[_scene_image()])
    assert "near-duplicate of an earlier frame" in dup.problems and dup.score <= 0.2


def test_llava_offline_hub_id_names_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)  # read at import time by the hub client
    judge = LlavaOneVisionJudge({**DEFAULTS["vision"], "device": "cpu"}, None)
    assert judge.model_ref == "llava-hf/llava-onevision-qwen2-7b-ov-hf"
    with pytest.raises(ProviderError, match="vision.model=DIR"):
        judge.judge(_scene_image(), "a moon")


@pytest.mark.parametrize("reply,score,problems,judged", [
    ('{"score": 8, "problems": ["extra fingers"]}', 0.8, ["extra fingers"], True),
    ('Sure! Here it is:\n```json\n{"Score": 4.5, "problems": []}\n```', 0.45, [], True),
    ("{'score': '6', 'problems': 'text artifacts; blurry'}", 0.6, ["text artifacts", "blurry"], True),
    ("Score: 3/10, the subject is wrong", 0.3, [], True),
    ('{"score": 85, "problems": ["wrong subject"]}', 0.85, ["wrong subject"], True),
    ('{"score": 14000}', 1.0, [], True),
    ("ĠtĠt#&", 0.0, None, False),
    ("", 0.0, None, False),
    ('{"problems": ["x"]}', 0.0, None, False),
])
def test_parse_verdict_is_robust(reply, score, problems, judged):
    v = parse_verdict(reply, "test")
    assert v.score == pytest.approx(score) and v.judged_content is judged
    if problems is None:
        assert v.problems[0].startswith("unparseable reply")
    else:
        assert v.problems == problems


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_llava_on_cuda_fp16(tiny_llava):
    judge = LlavaOneVisionJudge({**DEFAULTS["vision"], "model": str(tiny_llava), "device": "cuda", "max_new_tokens": 8}, None)
    v = judge.judge(_scene_image(), "a moon")
    assert 0.0 <= v.score <= 1.0
