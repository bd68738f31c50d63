"""LLM part of benchmarks/gpu_throughput.py: the transformers writer's models at full size, random weights.

Decoding speed does not depend on the weight values, so Qwen2.5-14B-Instruct and Llama-3.1-8B-Instruct are
built from their published configs (below) with random bf16 weights directly on the GPU; nothing is
downloaded. Every run forces a fixed number of new tokens (min_new_tokens = max_new_tokens), greedy.

Figures per model:
  - plain ``generate`` (dynamic cache), one stream: the baseline;
  - the product's decoder (``storygen.providers.writer.fast_decode.FastDecoder``, what ``writer.fast`` uses):
    bf16, fp8 and int8 weights (``writer.quantize=fp8|int8``; int8 compiled), one stream and a batch of 8 (total tokens/s), each token
    one CUDA-graph replay;
  - the bandwidth limit: the bytes of the weights read once per token (the embedding table is not read whole).

    run(report)   # report(name, value, unit, spec) prints one line per figure

Environment knobs: STORYGEN_BENCH_LLM_MODELS ("qwen14b,llama8b"), STORYGEN_BENCH_NEW_TOKENS (default 256),
STORYGEN_BENCH_SKIP ("plain", "fp8", "int8", "batch", comma separated), STORYGEN_BENCH_MODES ("compile" adds the
torch.compile variant of the decoder: minutes of compiling), STORYGEN_BENCH_GBPS (3000), STORYGEN_BENCH_SMOKE=1 (tiny configs, CPU allowed:
checks the code path only, the figures mean nothing).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from typing import Any

Report = Callable[..., None]

# Qwen/Qwen2.5-14B-Instruct config.json
QWEN25_14B: dict[str, Any] = {
    "vocab_size": 152064, "hidden_size": 5120, "intermediate_size": 13824, "num_hidden_layers": 48,
    "num_attention_heads": 40, "num_key_value_heads": 8, "max_position_embeddings": 32768, "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-06, "hidden_act": "silu", "tie_word_embeddings": False, "use_sliding_window": False,
    "bos_token_id": 151643, "eos_token_id": 151645,
}
# meta-llama/Llama-3.1-8B-Instruct config.json
LLAMA31_8B: dict[str, Any] = {
    "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "max_position_embeddings": 131072, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "rms_norm_eps": 1e-05, "hidden_act": "silu", "tie_word_embeddings": False, "bos_token_id": 128000,
    "eos_token_id": [128001, 128008, 128009],
}
SPEC = {
    "qwen14b": {"plain": "11.2 tok/s (H100, tf 5.17)", "compiled": "62.1 tok/s measured; >= 90 target; ~113 bandwidth limit",
                "batch": ">= 400 tok/s total target (plain 111)"},
    "llama8b": {"plain": "", "compiled": "", "batch": ""},
}


def _smoke() -> bool:
    return os.environ.get("STORYGEN_BENCH_SMOKE", "") == "1"


def _build(key: str, device: str, dtype: Any) -> Any:
    import torch
    import transformers

    cfg_dict = dict(QWEN25_14B if key == "qwen14b" else LLAMA31_8B)
    if _smoke():
        cfg_dict.update(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, bos_token_id=1, eos_token_id=2)
    cls_cfg, cls_model = ((transformers.Qwen2Config, transformers.Qwen2ForCausalLM) if key == "qwen14b"
                          else (transformers.LlamaConfig, transformers.LlamaForCausalLM))
    config = cls_cfg(**cfg_dict)
    torch.manual_seed(0)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = cls_model(config)  # random init straight on the device, in bf16
    finally:
        torch.set_default_dtype(prev)
    model.eval()
    model.generation_config.pad_token_id = 0
    return model


def _time_generate(model: Any, batch: int, prompt_len: int, new_tokens: int, device: str, runs: int = 2, **kw: Any) -> float:
    """Seconds per generate call (best of ``runs`` after one warm-up), forcing exactly ``new_tokens``."""
    import torch

    ids = torch.randint(100, model.config.vocab_size - 1, (batch, prompt_len), device=device)
    attn = torch.ones_like(ids)
    args = dict(input_ids=ids, attention_mask=attn, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                do_sample=False, **kw)

    def once() -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**args)
        if device == "cuda":
            torch.cuda.synchronize()
        assert out.shape[1] == prompt_len + new_tokens, out.shape
        return time.perf_counter() - t

    once()  # warm-up (and, for compiled models, the compile)
    return min(once() for _ in range(runs))


def _time_fast(dec: Any, batch: int, prompt_len: int, new_tokens: int, vocab: int, runs: int = 3) -> float:
    """Seconds per FastDecoder.generate call (best of ``runs`` after one warm-up that also captures the graph)."""
    import random

    import torch

    rng = random.Random(batch)
    prompts = [[rng.randrange(100, vocab - 1) for _ in range(prompt_len)] for _ in range(batch)]

    def once() -> float:
        torch.cuda.synchronize() if torch.cuda.is_available() else None
        t = time.perf_counter()
        rows = dec.generate(prompts, new_tokens, ignore_eos=True)
        torch.cuda.synchronize() if torch.cuda.is_available() else None
        assert all(len(r) == new_tokens for r in rows), [len(r) for r in rows]
        return time.perf_counter() - t

    once()
    return min(once() for _ in range(runs))


def run(report: Report) -> None:
    try:
        import torch
    except ImportError:
        print("LLM throughput skipped: torch is not installed")
        return
    cuda = torch.cuda.is_available()
    if not cuda and not _smoke():
        print("LLM throughput skipped: no CUDA device (Qwen2.5-14B / Llama-3.1-8B bf16 need a GPU)")
        return
    from storygen.providers.writer.fast_decode import FastDecoder, fp8_supported

    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    new = int(os.environ.get("STORYGEN_BENCH_NEW_TOKENS", "8" if _smoke() else "256"))
    prompt_len = 16 if _smoke() else 128
    skip = {s.strip() for s in os.environ.get("STORYGEN_BENCH_SKIP", "").split(",") if s.strip()}
    models = [m.strip() for m in os.environ.get("STORYGEN_BENCH_LLM_MODELS", "qwen14b,llama8b").split(",") if m.strip()]
    tag = " [SMOKE: tiny config, figures meaningless]" if _smoke() else ""
    for key in models:
        name = {"qwen14b": "Qwen2.5-14B", "llama8b": "Llama-3.1-8B"}[key]
        spec = SPEC[key]
        t0 = time.perf_counter()
        model = _build(key, device, dtype)
        report(f"{name} build (random bf16 weights on {device}){tag}", time.perf_counter() - t0, "s", "")
        if cuda:
            weights = torch.cuda.memory_allocated() / 2**30
            report(f"{name} weights in GPU memory", weights, "GiB", "")
            embed = model.model.embed_tokens.weight.numel() * 2 / 2**30
            bw = float(os.environ.get("STORYGEN_BENCH_GBPS", "3000"))  # measured device-to-device copy, GB/s
            report(f"{name} bandwidth limit, 1 stream (weights read once per token)",
                   bw / ((weights - embed) * 2**30 / 1e9), "tok/s", f"at {bw:.0f} GB/s")

        if "plain" not in skip:
            s = _time_generate(model, 1, prompt_len, min(new, 64), device, runs=1)
            report(f"{name} plain generate, 1 stream{tag}", min(new, 64) / s, "tok/s", spec["plain"])

        variants = [("bf16", None)] + ([("fp8", "fp8")] if "fp8" not in skip and (fp8_supported() or _smoke()) else [])
        variants += [("int8", "int8")] if "int8" not in skip else []
        modes = ["graph"] + (["compile"] if "compile" in os.environ.get("STORYGEN_BENCH_MODES", "") else [])
        if not cuda:
            modes = ["eager"]
        if os.environ.get("STORYGEN_BENCH_UNFUSED") == "1":  # the same decoder without fused projections first
            variants = [("bf16 unfused", None)] + variants
        for label, quant in variants:
            if quant == "fp8" and not cuda:
                continue
            # int8 pays only compiled (the int8->bf16 conversion fuses into the product); eager on CPU (smoke)
            for mode in (["compile"] if quant == "int8" and cuda else modes):
                t = time.perf_counter()
                try:
                    dec = FastDecoder(model, quant=quant, mode=mode, fuse="unfused" not in label)
                    s1 = _time_fast(dec, 1, prompt_len, new, model.config.vocab_size)
                except Exception as e:  # noqa: BLE001 - report and go on with the next variant
                    print(f"{name} fast decoder {label}/{mode} FAILED: {type(e).__name__}: {str(e)[:300]}", flush=True)
                    continue
                report(f"{name} storygen fast decoder, {label}, {mode}, 1 stream{tag}", new / s1, "tok/s", spec["compiled"])
                report(f"  setup + warm-up + timed runs ({label}, {mode})", time.perf_counter() - t, "s", "")
                if "batch" not in skip:
                    s8 = _time_fast(dec, 8, prompt_len, new, model.config.vocab_size, runs=2)
                    report(f"{name} storygen fast decoder, {label}, {mode}, batch 8 (total){tag}", 8 * new / s8, "tok/s",
                           spec["batch"])
                del dec
                gc.collect()
                torch.cuda.empty_cache() if cuda else None
        if cuda:
            report(f"{name} peak GPU memory", torch.cuda.max_memory_allocated() / 2**30, "GiB", "")
            torch.cuda.reset_peak_memory_stats()
        del model
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
