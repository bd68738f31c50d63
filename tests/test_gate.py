"""The vision gate: retries below the threshold with new seeds and adjusted prompts, at most max_tries,
returns the best image and every verdict. Driven by the real heuristic judge and, end to end, by the
tiny random-weight SDXL provider."""

from __future__ import annotations

import numpy as np
from PIL import Image

from storygen.config import DEFAULTS
from storygen.gate import actionable, adjust_prompt, gate_keyframe, middle_frame, retry_seed
from storygen.models import Scene, StyleBible
from storygen.providers.images.sdxl import SDXLImages
from storygen.providers.motion.frames import write_clip
from storygen.providers.vision.heuristic import CANNOT_JUDGE, HeuristicJudge
from visual_fixtures import tiny_sdxl  # noqa: F401 - session fixture

SCENE = Scene(index=4, text="The lamp flickers.", start=0, end=3, prompt="a lamp flickering in a dark attic, dust",
              negative_prompt="text, watermark", seed=21)


def _textured(seed):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(40, 220, (64, 36, 3), dtype=np.uint8))


def test_blank_first_try_is_regenerated_with_new_seed_and_adjusted_prompt():
    calls = []

    def generate(seed, prompt, negative):  # first a blank frame, then real texture
        calls.append((seed, prompt, negative))
        return Image.new("RGB", (36, 64), (90, 90, 90)) if len(calls) == 1 else _textured(seed % 1000)

    image, log = gate_keyframe(generate, HeuristicJudge(), SCENE, threshold=0.5, max_tries=3)
    assert len(calls) == 2 and len(log) == 2
    assert calls[0] == (21, SCENE.prompt, "text, watermark")
    assert calls[1][0] == retry_seed(21, 1) != 21
    assert "detailed scene with a clear subject" in calls[1][1]
    assert "blank" in calls[1][2] and "text, watermark" in calls[1][2]
    assert CANNOT_JUDGE not in calls[1][2]  # the judge's note is not a problem to fix
    assert [e["passed"] for e in log] == [False, True] and [e["chosen"] for e in log] == [False, True]
    assert log[0]["score"] == 0.0 and log[1]["score"] == 1.0 and log[1]["judged_content"] is False
    assert np.asarray(image).std() > 10


def test_at_most_max_tries_and_the_best_try_wins():
    shades = iter([(5, 5, 5), (128, 128, 128), (250, 250, 250)])

    def generate(seed, prompt):  # two-argument form: only the prompt is adjusted
        c = next(shades)
        rng = np.random.default_rng(seed % 1000)
        base = np.full((64, 36, 3), c, dtype=np.float64) + rng.normal(0, 5.0 if c[0] != 128 else 0.5, (64, 36, 3))
        return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))

    image, log = gate_keyframe(generate, HeuristicJudge(), SCENE, threshold=0.9, max_tries=3)
    assert len(log) == 3 and not any(e["passed"] for e in log)
    assert [e["score"] for e in log] == [0.3, 0.0, 0.3]  # dark, uniform grey, bright
    assert log[0]["chosen"] and np.asarray(image).mean() < 20  # ties go to the earliest try
    assert "negative_prompt" not in log[0]
    assert len({e["seed"] for e in log}) == 3


def test_near_duplicate_of_an_earlier_scene_asks_for_a_new_composition():
    earlier = _textured(1)
    prompts = []

    def generate(seed, prompt):
        prompts.append(prompt)
        return earlier.copy() if len(prompts) == 1 else _textured(seed % 1000 + 7)

    image, log = gate_keyframe(generate, HeuristicJudge(), SCENE, threshold=0.5, max_tries=2, others=[earlier])
    assert "near-duplicate" in " ".join(log[0]["problems"]) and log[1]["passed"]
    assert "a different composition and camera angle" in prompts[1]


def test_adjust_prompt_maps_vlm_problems():
    p, n = adjust_prompt("a knight on a horse, sunset", "blurry",
                         ["wrong subject", "text artifacts", "extra fingers", "unparseable reply from the judge: 'x'",
                          "weird purple blob"])
    assert p.startswith("a knight on a horse, sunset, clearly showing a knight on a horse")
    assert "correct anatomy" in p
    for word in ("blurry", "watermark", "extra fingers", "weird purple blob"):
        assert word in n
    assert "unparseable" not in n
    assert actionable([CANNOT_JUDGE, "too dark (x)"]) == ["too dark (x)"]
    assert gate_keyframe  # noqa: B018


def test_gate_with_the_tiny_sdxl_provider_end_to_end(tiny_sdxl):
    gen = SDXLImages({**DEFAULTS["keyframes"], "model": str(tiny_sdxl), "steps": 2, "width": 64, "height": 112, "device": "cpu"}, None)
    style = StyleBible()

    def generate(seed, prompt, negative):
        return gen.generate(SCENE.model_copy(update={"prompt": prompt, "negative_prompt": negative}), style,
                            width=36, height=64, seed=seed)

    image, log = gate_keyframe(generate, HeuristicJudge(), SCENE, threshold=0.5, max_tries=2)
    assert image.size == (36, 64) and 1 <= len(log) <= 2
    assert all(0.0 <= e["score"] <= 1.0 and e["judge"].startswith("heuristic") for e in log)


def test_middle_frame_of_a_clip(tmp_path):
    frames = [np.full((32, 32, 3), i * 25, dtype=np.uint8) for i in range(9)]
    write_clip(frames, tmp_path / "c.mp4", src_fps=9, duration=1.0, out_fps=9)
    mid = middle_frame(tmp_path / "c.mp4")
    assert mid.size == (32, 32) and abs(float(np.asarray(mid).mean()) - 100) < 12
