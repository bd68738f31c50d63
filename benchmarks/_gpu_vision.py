"""Vision judge on CUDA: Phi-3.5-vision at full size (Phi-3-mini 3.8B + CLIP ViT-L/14-336, random bf16 weights),
through storygen's own Phi3Vision (the same embed + generate the judge runs).

Measures, for one 1080x1920 keyframe with the judge's settings (shrunk to 768 px, 4 crops):
preprocessing, image features (CLIP on 5 tiles + projection), prefill to the first token, and a whole verdict of
a fixed 32 new tokens. The spec says "~50 ms per image analysis".

Knobs: STORYGEN_BENCH_SMOKE=1 (tiny configs, CPU allowed: checks the code path only, figures meaningless),
STORYGEN_BENCH_VISION_TOKENS (32).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

Report = Callable[..., None]

# microsoft/Phi-3.5-vision-instruct's config.json (language side); the rope factors' values do not change speed
PHI35_TEXT = {"vocab_size": 32064, "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 32,
              "num_attention_heads": 32, "num_key_value_heads": 32, "max_position_embeddings": 131072,
              "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
              "sliding_window": 262144, "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
              "pad_token_id": 32000, "rope_scaling": {"type": "su", "short_factor": [1.0] * 48, "long_factor": [1.0] * 48}}
SMOKE_TEXT = {**PHI35_TEXT, "vocab_size": 512, "pad_token_id": 0, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 4,
              "rope_scaling": {"type": "su", "short_factor": [1.0] * 4, "long_factor": [1.0] * 4}}
SMOKE_CLIP = {"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 3, "num_attention_heads": 2,
              "image_size": 28, "patch_size": 7}


def _smoke() -> bool:
    return os.environ.get("STORYGEN_BENCH_SMOKE", "") == "1"


def _build(device: str, dtype: Any) -> Any:
    import torch

    from storygen.providers.vision.phi3v_model import ImageEmbedder, Phi3Vision, VisionLayout, text_config

    raw = dict(SMOKE_TEXT if _smoke() else PHI35_TEXT)
    raw["img_processor"] = {"vision_config": SMOKE_CLIP} if _smoke() else {}
    layout = VisionLayout.from_config(raw)
    cfg = text_config(raw, "sdpa")
    from transformers import Phi3ForCausalLM

    with torch.device(device):
        prev = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            lm = Phi3ForCausalLM(cfg).eval()
            embedder = ImageEmbedder(layout, cfg.hidden_size).eval()
        finally:
            torch.set_default_dtype(prev)
    return Phi3Vision(lm, embedder, layout)


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def run(report: Report) -> None:
    try:
        import torch
    except ImportError:
        print("vision judge skipped: torch is not installed")
        return
    cuda = torch.cuda.is_available()
    if not cuda and not _smoke():
        print("vision judge skipped: no CUDA device (Phi-3.5-vision bf16 needs a GPU)")
        return
    import numpy as np
    from PIL import Image

    from storygen.providers.vision.judging import shrink
    from storygen.providers.vision.phi3v_processing import preprocess

    device, dtype = ("cuda", torch.bfloat16) if cuda else ("cpu", torch.float32)
    tag = " [SMOKE: tiny config, figures meaningless]" if _smoke() else ""
    new = int(os.environ.get("STORYGEN_BENCH_VISION_TOKENS", "32"))
    t0 = time.perf_counter()
    model = _build(device, dtype)
    _sync()
    report(f"Phi-3.5-vision build (random weights on {device}){tag}", time.perf_counter() - t0, "s", "")
    if cuda:
        report("Phi-3.5-vision weights in GPU memory", torch.cuda.memory_allocated() / 2**30, "GiB", "~8 GB (spec)")
    frame = Image.fromarray(np.random.default_rng(0).integers(0, 255, (1920, 1080, 3), dtype=np.uint8))
    settings = model.layout.image_settings(4)
    text_len = 120  # the judge's question is about 120 tokens
    for label, runs in (("warm-up", 1), ("timed", 3)):
        pre = feats = prefill = whole = 0.0
        for _ in range(runs):
            t = time.perf_counter()
            images = preprocess([shrink(frame)], settings)
            pre += time.perf_counter() - t
            n = images.num_tokens[0]
            ids = torch.cat([torch.full((1, n), -1), torch.randint(3, 500, (1, text_len))], dim=1)
            with torch.inference_mode():
                t = time.perf_counter()
                model.embedder(images)
                _sync()
                feats += time.perf_counter() - t
                t = time.perf_counter()
                model.generate(ids, images, max_new_tokens=1, min_new_tokens=1, do_sample=False)
                _sync()
                prefill += time.perf_counter() - t
                t = time.perf_counter()
                model.generate(ids, images, max_new_tokens=new, min_new_tokens=new, do_sample=False)
                _sync()
                whole += time.perf_counter() - t
        if label == "timed":
            report(f"Phi-3.5-vision preprocess 1080x1920 -> {n} image tokens{tag}", pre / runs * 1000, "ms", "")
            report(f"Phi-3.5-vision image features (CLIP x5 tiles + projection){tag}", feats / runs * 1000, "ms", "")
            report(f"Phi-3.5-vision features + prefill to first token ({n + text_len} tokens){tag}", prefill / runs * 1000, "ms",
                   "~50 ms per image analysis")
            report(f"Phi-3.5-vision whole verdict ({new} new tokens){tag}", whole / runs * 1000, "ms", "")
    if cuda:
        report("Phi-3.5-vision peak GPU memory", torch.cuda.max_memory_allocated() / 2**30, "GiB", "~8 GB (spec)")
