"""Diffusion part of benchmarks/gpu_throughput.py: SDXL and LTX-Video (2B) at full size, random weights.

The speed of a network does not depend on its weight values, so the spec's architectures are built from
their published configs (written out below) with random weights; nothing is downloaded. Settings are the
product's: SDXL 30 steps, CFG 7.5, fp16 (the VAE upcast to fp32 for decoding, as SDXL's force_upcast asks);
LTX-Video 50 steps, CFG 3, bf16, 121 frames at 768x512, image-to-video; the T5 text encoder is left out
(precomputed prompt embeddings), as in the spec's own figure.

    run(report)   # report(name, value, unit, spec) prints one line per figure

The product's speed path (storygen.providers.accel: torch.compile with a persistent cache, and the guidance
cutoff) is measured after the plain figures, plus a cold start in a new process with the compile cache warm.

Environment knobs: STORYGEN_BENCH_IMAGES (timed SDXL images, default 3), STORYGEN_BENCH_COMPILE_MODE
(default: keyframes.compile_mode), STORYGEN_BENCH_LTX_COMPILE_MODE (default: clips.compile_mode),
STORYGEN_BENCH_SKIP ("sdxl", "graph", "compile", "cold", "ltx", "ltxfast", comma separated),
STORYGEN_BENCH_SMOKE=1 (tiny configs on CPU: checks the code path only, the figures mean nothing).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from storygen.providers import accel

os.environ.update(accel.inductor_env(os.environ))  # an entry point: compiled kernels go to storygen's cache

Report = Callable[..., None]

# ---------------------------------------------------------------- published configs
# stabilityai/stable-diffusion-xl-base-1.0 unet/config.json
SDXL_UNET: dict[str, Any] = {
    "act_fn": "silu", "addition_embed_type": "text_time", "addition_embed_type_num_heads": 64,
    "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20], "block_out_channels": [320, 640, 1280],
    "center_input_sample": False, "class_embed_type": None, "class_embeddings_concat": False, "conv_in_kernel": 3,
    "conv_out_kernel": 3, "cross_attention_dim": 2048, "cross_attention_norm": None,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "downsample_padding": 1,
    "dual_cross_attention": False, "encoder_hid_dim": None, "encoder_hid_dim_type": None, "flip_sin_to_cos": True,
    "freq_shift": 0, "in_channels": 4, "layers_per_block": 2, "mid_block_only_cross_attention": None,
    "mid_block_scale_factor": 1, "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 32,
    "num_attention_heads": None, "num_class_embeds": None, "only_cross_attention": False, "out_channels": 4,
    "projection_class_embeddings_input_dim": 2816, "resnet_out_scale_factor": 1.0, "resnet_skip_time_act": False,
    "resnet_time_scale_shift": "default", "sample_size": 128, "time_cond_proj_dim": None,
    "time_embedding_act_fn": None, "time_embedding_dim": None, "time_embedding_type": "positional",
    "timestep_post_act": None, "transformer_layers_per_block": [1, 2, 10],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "upcast_attention": None,
    "use_linear_projection": True,
}
# vae/config.json
SDXL_VAE: dict[str, Any] = {
    "act_fn": "silu", "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
    "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3,
    "sample_size": 1024, "scaling_factor": 0.13025, "up_block_types": ["UpDecoderBlock2D"] * 4, "force_upcast": True,
}
# text_encoder/config.json (CLIP ViT-L/14 text tower) and text_encoder_2/config.json (OpenCLIP ViT-bigG/14)
SDXL_TE1: dict[str, Any] = {
    "vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "projection_dim": 768, "num_hidden_layers": 12,
    "num_attention_heads": 12, "max_position_embeddings": 77, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-05,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
SDXL_TE2: dict[str, Any] = {
    "vocab_size": 49408, "hidden_size": 1280, "intermediate_size": 5120, "projection_dim": 1280, "num_hidden_layers": 32,
    "num_attention_heads": 20, "max_position_embeddings": 77, "hidden_act": "gelu", "layer_norm_eps": 1e-05,
    "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
}
# scheduler/scheduler_config.json
SDXL_SCHEDULER: dict[str, Any] = {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "interpolation_type": "linear",
    "num_train_timesteps": 1000, "prediction_type": "epsilon", "steps_offset": 1, "timestep_spacing": "leading",
    "use_karras_sigmas": False,
}
# Lightricks/LTX-Video transformer/config.json (the 2B model)
LTX_TRANSFORMER: dict[str, Any] = {
    "activation_fn": "gelu-approximate", "attention_bias": True, "attention_head_dim": 64, "attention_out_bias": True,
    "caption_channels": 4096, "cross_attention_dim": 2048, "in_channels": 128, "norm_elementwise_affine": False,
    "norm_eps": 1e-06, "num_attention_heads": 32, "num_layers": 28, "out_channels": 128, "patch_size": 1,
    "patch_size_t": 1, "qk_norm": "rms_norm_across_heads",
}
# vae/config.json (LTX-Video 0.9.0 causal video VAE: 32x spatial, 8x temporal compression, 128 latent channels)
LTX_VAE: dict[str, Any] = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 128, "block_out_channels": [128, 256, 512, 512],
    "decoder_block_out_channels": [128, 256, 512, 512], "layers_per_block": [4, 3, 3, 3, 4],
    "decoder_layers_per_block": [4, 3, 3, 3, 4], "spatio_temporal_scaling": [True, True, True, False],
    "decoder_spatio_temporal_scaling": [True, True, True, False], "decoder_inject_noise": [False] * 5,
    "upsample_residual": [False] * 4, "upsample_factor": [1] * 4, "timestep_conditioning": False, "patch_size": 4,
    "patch_size_t": 1, "resnet_norm_eps": 1e-06, "scaling_factor": 1.0, "encoder_causal": True, "decoder_causal": False,
}
LTX_T5_DIM, LTX_MAX_TOKENS = 4096, 128

# ---------------------------------------------------------------- tiny configs (STORYGEN_BENCH_SMOKE=1 only)
_SMOKE = {
    "unet": dict(SDXL_UNET, block_out_channels=[32, 64], attention_head_dim=[2, 4], layers_per_block=1,
                 down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"], up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"],
                 transformer_layers_per_block=[1, 1], cross_attention_dim=64, addition_time_embed_dim=8,
                 projection_class_embeddings_input_dim=80, norm_num_groups=8),
    "vae": dict(SDXL_VAE, block_out_channels=[16, 32], down_block_types=["DownEncoderBlock2D"] * 2,
                up_block_types=["UpDecoderBlock2D"] * 2, norm_num_groups=8),
    "te1": dict(SDXL_TE1, hidden_size=32, intermediate_size=37, projection_dim=32, num_hidden_layers=1, num_attention_heads=4),
    "te2": dict(SDXL_TE2, hidden_size=32, intermediate_size=37, projection_dim=32, num_hidden_layers=1, num_attention_heads=4),
    "ltx": dict(LTX_TRANSFORMER, num_layers=1, num_attention_heads=2, attention_head_dim=8, cross_attention_dim=16,
                caption_channels=32, in_channels=8, out_channels=8),
    "ltx_vae": dict(LTX_VAE, latent_channels=8, block_out_channels=[8, 8, 8, 8], decoder_block_out_channels=[8, 8, 8, 8],
                    layers_per_block=[1] * 5, decoder_layers_per_block=[1] * 5, spatio_temporal_scaling=[True, True, False, False],
                    decoder_spatio_temporal_scaling=[True, True, False, False], patch_size=1),
    "t5_dim": 32,
}


def _clip_tokenizer() -> Any:
    """A byte-level CLIP BPE tokenizer built in memory (ids < 49408). Prompts are padded to 77 tokens, so the
    encoders' cost is the same as with the real vocabulary."""
    from transformers import CLIPTokenizer

    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    chars = [chr(c) for c in cs]
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": 256 + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = 512, 513
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def build_sdxl(device: str, dtype: Any, smoke: bool = False) -> Any:
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    c = _SMOKE if smoke else {"unet": SDXL_UNET, "vae": SDXL_VAE, "te1": SDXL_TE1, "te2": SDXL_TE2}
    with torch.device(device):  # initialise straight on the GPU: random init of 3.5 B params on CPU is slow
        unet = UNet2DConditionModel(**c["unet"]).to(dtype)
        vae = AutoencoderKL(**c["vae"]).to(dtype)
        te1 = CLIPTextModel(CLIPTextConfig(**c["te1"])).to(dtype)
        te2 = CLIPTextModelWithProjection(CLIPTextConfig(**c["te2"])).to(dtype)
    pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=te1, text_encoder_2=te2, tokenizer=_clip_tokenizer(),
                                     tokenizer_2=_clip_tokenizer(), unet=unet,
                                     scheduler=EulerDiscreteScheduler(**SDXL_SCHEDULER))
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _sdxl_image(pipe: Any, size: int, steps: int, seed: int = 0) -> Any:
    import torch

    gen = torch.Generator(device="cpu").manual_seed(seed)
    with torch.inference_mode():
        return pipe(prompt="a lighthouse on a cliff at dusk, painterly digital illustration, cinematic lighting",
                    negative_prompt="text, watermark, blurry, deformed", num_inference_steps=steps, guidance_scale=7.5,
                    width=size, height=size, generator=gen).images[0]


def bench_sdxl(report: Report, device: str, smoke: bool) -> None:
    import torch

    dtype = torch.float32 if smoke else torch.float16
    size, steps = (64, 2) if smoke else (1024, 30)
    n = 1 if smoke else int(os.environ.get("STORYGEN_BENCH_IMAGES", "3"))
    skip = os.environ.get("STORYGEN_BENCH_SKIP", "")
    t0 = time.perf_counter()
    pipe = build_sdxl(device, dtype, smoke)
    _sync(device)
    build_s = time.perf_counter() - t0
    _sdxl_image(pipe, size, steps)
    _sync(device)
    cold = time.perf_counter() - t0
    report("SDXL cold start: build + first image (plain)", cold, "s", "<= 45 s first image (target)")
    report("  of which building the random-weight pipeline", build_s, "s", "")
    t = time.perf_counter()
    for i in range(n):
        _sdxl_image(pipe, size, steps, seed=i + 1)
    _sync(device)
    plain = (time.perf_counter() - t) / n
    report(f"SDXL {size}x{size}, {steps} steps, CFG 7.5, fp16: plain defaults", plain, "s/image",
           "3.5 s (H100, diffusers 0.42); spec table 3.5 s")
    if device.startswith("cuda"):
        report("SDXL peak GPU memory (plain)", torch.cuda.max_memory_allocated() / 2**30, "GiB", "~12 GB (spec)")
    if device.startswith("cuda") and not smoke:
        # where the time goes: one UNet step at batch 2 (CFG) and 1, and the fp32-upcast VAE decode
        lat = size // 8
        unet = pipe.unet
        with torch.inference_mode():
            for b in (2, 1):
                x = torch.randn(b, 4, lat, lat, device=device, dtype=dtype)
                emb = torch.randn(b, 77, 2048, device=device, dtype=dtype)
                add = {"text_embeds": torch.randn(b, 1280, device=device, dtype=dtype),
                       "time_ids": torch.randn(b, 6, device=device, dtype=dtype)}
                unet(x, 500, encoder_hidden_states=emb, added_cond_kwargs=add)
                _sync(device)
                t = time.perf_counter()
                for _ in range(5):
                    unet(x, 500, encoder_hidden_states=emb, added_cond_kwargs=add)
                _sync(device)
                report(f"  SDXL UNet step, eager, batch {b}", (time.perf_counter() - t) / 5 * 1000, "ms", "")
            # the fp32-upcast decode force_upcast asks for, then what keyframes.vae=<an fp16-fix VAE> gives: the same
            # network in fp16 (speed does not depend on the values; SDXL's own weights would overflow in fp16)
            for label, vae_dtype in (("fp32 upcast, as force_upcast asks", torch.float32),
                                     ("fp16 (keyframes.vae = an fp16-fix VAE)", dtype)):
                pipe.vae.to(vae_dtype)
                z = torch.randn(1, 4, lat, lat, device=device, dtype=vae_dtype)
                pipe.vae.decode(z)
                _sync(device)
                t = time.perf_counter()
                pipe.vae.decode(z)
                _sync(device)
                report(f"  SDXL VAE decode, {label}", (time.perf_counter() - t) * 1000, "ms", "")
            pipe.vae.to(dtype)
    if device.startswith("cuda") and "graph" not in skip:
        # experiment (not a product path yet): the eager UNet replayed as a CUDA graph, no compiling. Eager SDXL is
        # bound by host dispatch (54 ms a step at batch 1, 68 at batch 2 on an H100), which a graph removes.
        eager_unet = pipe.unet
        pipe.unet = GraphedUNet(eager_unet)
        t = time.perf_counter()
        _sdxl_image(pipe, size, steps, seed=7)  # captures the graph on the first step
        _sync(device)
        report("SDXL first image with the UNet as a CUDA graph (capture included)", time.perf_counter() - t, "s", "")
        t = time.perf_counter()
        for i in range(n):
            _sdxl_image(pipe, size, steps, seed=i + 1)
        _sync(device)
        report(f"SDXL {size}x{size}, {steps} steps, CFG 7.5: UNet as a CUDA graph (experiment)", (time.perf_counter() - t) / n,
               "s/image", "target <= 1.0 s")
        pipe.unet = eager_unet
        torch.cuda.empty_cache()
    if "compile" in skip or (smoke and not os.environ.get("STORYGEN_BENCH_SMOKE_FULL")):
        return
    # the product's path (storygen.providers.accel, as SDXLImages applies it): fused QKV, channels_last,
    # torch.compile(mode=keyframes.compile_mode) with a persistent cache, then the guidance cutoff
    from storygen.config import DEFAULTS
    from storygen.providers import accel

    mode = os.environ.get("STORYGEN_BENCH_COMPILE_MODE", DEFAULTS["keyframes"]["compile_mode"])
    cutoff = float(os.environ.get("STORYGEN_BENCH_CUTOFF", "0.5"))  # the speed option (the default is 1: the spec's CFG)
    report("compile cache", str(accel.compile_cache_dir()), "", "")
    # the guidance cutoff alone, eager
    eager_unet = pipe.unet
    pipe.unet = wrap = accel.GuidanceCutoff(eager_unet, cutoff)
    t = time.perf_counter()
    for i in range(2):
        wrap.begin(steps)
        _sdxl_image(pipe, size, steps, seed=i + 1)
    _sync(device)
    report(f"SDXL {size}x{size}, {steps} steps: eager, guidance cutoff {cutoff:g}", (time.perf_counter() - t) / 2, "s/image", "")
    pipe.unet = eager_unet
    accel.compile_denoiser(pipe, "unet", mode=mode)
    pipe.unet = wrap = accel.GuidanceCutoff(pipe.unet, cutoff)
    t = time.perf_counter()
    wrap.begin(steps)
    _sdxl_image(pipe, size, steps)
    _sync(device)
    report(f"SDXL first image with torch.compile({mode}) + cutoff (cold compile, 2 shapes)", time.perf_counter() - t, "s",
           "142 s measured (max-autotune)")
    for label, cut in ((f"guidance cutoff {cutoff:g} (keyframes.compile=on, guidance_cutoff)", cutoff), ("full CFG (cutoff 1)", 1.0)):
        wrap.cutoff = cut
        wrap.begin(steps)
        _sdxl_image(pipe, size, steps, seed=99)  # settle
        t = time.perf_counter()
        for i in range(n):
            wrap.begin(steps)
            _sdxl_image(pipe, size, steps, seed=i + 1)
        _sync(device)
        report(f"SDXL {size}x{size}, {steps} steps, CFG 7.5, fp16: compile({mode}), {label}", (time.perf_counter() - t) / n,
               "s/image", "1.22-1.29 s measured (compile); target <= 1.0 s")
    if "cold" not in skip:
        # a new process, as a user's next run: build, compile from the warm on-disk cache, first image
        import subprocess
        import sys

        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", f"import _gpu_diffusion as g; g.cold_start({size}, {steps}, {mode!r}, {cutoff})"],
                           capture_output=True, text=True, timeout=600, env=os.environ.copy(),
                           cwd=os.path.dirname(os.path.abspath(__file__)))
        wall = time.perf_counter() - t
        line = [x for x in r.stdout.splitlines() if x.startswith("COLD ")]
        if r.returncode == 0 and line:
            inner = float(line[-1].split()[1])
            report("SDXL cold start, new process, warm compile cache: start to first image", wall, "s", "<= 45 s target")
            report("  of which build + compile + first image (after imports)", inner, "s", "")
        else:
            print("SDXL cold start subprocess FAILED:", r.returncode, (r.stderr or "")[-2000:], flush=True)


class GraphedUNet:
    """The SDXL UNet replayed as CUDA graphs, one per input shape: inputs are copied into static buffers, the
    graph replays, the output is cloned. Attribute access falls through to the UNet (config, dtype, ...)."""

    def __init__(self, unet: Any):
        self.__dict__.update(unet=unet, graphs={})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["unet"], name)

    def __call__(self, sample: Any, timestep: Any, encoder_hidden_states: Any = None, added_cond_kwargs: Any = None,
                 return_dict: bool = True, **kw: Any) -> Any:
        import torch

        if kw.get("timestep_cond") is not None or kw.get("cross_attention_kwargs"):
            return self.unet(sample, timestep, encoder_hidden_states, added_cond_kwargs=added_cond_kwargs,
                             return_dict=return_dict, **kw)
        t = torch.as_tensor(timestep, device=sample.device).reshape(())
        args = [sample, t, encoder_hidden_states, added_cond_kwargs["text_embeds"], added_cond_kwargs["time_ids"]]
        key = tuple((tuple(a.shape), a.dtype) for a in args)
        entry = self.graphs.get(key)
        if entry is None:
            static = [a.clone() for a in args]

            def run() -> Any:
                return self.unet(static[0], static[1], static[2],
                                 added_cond_kwargs={"text_embeds": static[3], "time_ids": static[4]}, return_dict=False)[0]

            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    run()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = run()
            entry = self.graphs[key] = (graph, static, out)
        graph, static, out = entry
        for dst, src in zip(static, args):
            dst.copy_(src)
        graph.replay()
        res = out.clone()
        return (res,) if not return_dict else type("Out", (), {"sample": res})()


def cold_start(size: int, steps: int, mode: str, cutoff: float) -> None:
    """Run in a fresh process by bench_sdxl: the product's SDXL path from nothing to the first image."""
    import torch

    from storygen.providers import accel

    t = time.perf_counter()
    pipe = build_sdxl("cuda", torch.float16)
    accel.compile_denoiser(pipe, "unet", mode=mode)
    pipe.unet = wrap = accel.GuidanceCutoff(pipe.unet, cutoff)
    wrap.begin(steps)
    _sdxl_image(pipe, size, steps)
    torch.cuda.synchronize()
    print(f"COLD {time.perf_counter() - t:.3f}", flush=True)


def build_ltx(device: str, dtype: Any, smoke: bool = False) -> Any:
    import torch
    from diffusers import (AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXImageToVideoPipeline,
                           LTXVideoTransformer3DModel)

    tcfg = _SMOKE["ltx"] if smoke else LTX_TRANSFORMER
    vcfg = _SMOKE["ltx_vae"] if smoke else LTX_VAE
    with torch.device(device):
        transformer = LTXVideoTransformer3DModel(**tcfg).to(dtype)
        vae = AutoencoderKLLTXVideo(**vcfg).to(dtype)
    # LTX-Video's scheduler_config.json
    sched = FlowMatchEulerDiscreteScheduler(base_image_seq_len=1024, base_shift=0.95, max_image_seq_len=4096,
                                            max_shift=2.05, num_train_timesteps=1000, shift=1.0, shift_terminal=0.1,
                                            use_dynamic_shifting=True)
    pipe = LTXImageToVideoPipeline(scheduler=sched, vae=vae, text_encoder=None, tokenizer=None, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _ltx_clip(pipe: Any, w: int, h: int, frames: int, steps: int, t5_dim: int, device: str, dtype: Any) -> Any:
    import numpy as np
    import torch
    from PIL import Image

    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8))
    emb = torch.randn(1, LTX_MAX_TOKENS, t5_dim, device=device, dtype=dtype)  # stands in for T5-XXL's output
    mask = torch.ones(1, LTX_MAX_TOKENS, device=device, dtype=torch.long)
    gen = torch.Generator(device="cpu").manual_seed(0)
    with torch.inference_mode():
        return pipe(image=image, prompt_embeds=emb, prompt_attention_mask=mask, negative_prompt_embeds=torch.zeros_like(emb),
                    negative_prompt_attention_mask=mask, width=w, height=h, num_frames=frames, frame_rate=24,
                    num_inference_steps=steps, guidance_scale=3.0, generator=gen, output_type="np").frames[0]


def bench_ltx(report: Report, device: str, smoke: bool) -> None:
    import torch

    dtype = torch.float32 if smoke else torch.bfloat16
    w, h, frames, steps = (32, 32, 9, 2) if smoke else (768, 512, 121, 50)
    t5 = _SMOKE["t5_dim"] if smoke else LTX_T5_DIM
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    pipe = build_ltx(device, dtype, smoke)
    _ltx_clip(pipe, w, h, frames, 2, t5, device, dtype)  # warm-up (kernels, allocator)
    _sync(device)
    report("LTX-Video build + warm-up (2 steps)", time.perf_counter() - t0, "s", "")
    t = time.perf_counter()
    out = _ltx_clip(pipe, w, h, frames, steps, t5, device, dtype)
    _sync(device)
    per_clip = time.perf_counter() - t
    assert len(out) == frames, f"LTX returned {len(out)} frames, expected {frames}"
    report(f"LTX-Video 2B i2v {frames} frames {w}x{h}, {steps} steps, CFG 3, bf16 (no T5)", per_clip, "s/clip",
           "9.4 s measured (H100); target <= 5 s per 5 s clip; spec 2-3 min (RTX 4090)")
    report("LTX-Video real-time factor (generation s / clip s)", per_clip / (frames / 24), "x", "<= 1.0 target")
    if device.startswith("cuda"):
        report("LTX-Video peak GPU memory", torch.cuda.max_memory_allocated() / 2**30, "GiB", "~24 GB (spec)")
    if (smoke and not os.environ.get("STORYGEN_BENCH_SMOKE_FULL")) or "ltxfast" in os.environ.get("STORYGEN_BENCH_SKIP", ""):
        return
    from storygen.config import DEFAULTS
    from storygen.providers import accel

    mode = os.environ.get("STORYGEN_BENCH_LTX_COMPILE_MODE", DEFAULTS["clips"]["compile_mode"])
    cutoff = float(os.environ.get("STORYGEN_BENCH_CUTOFF", "0.5"))
    wrap = None
    t = time.perf_counter()
    if "compile" not in os.environ.get("STORYGEN_BENCH_SKIP", ""):
        accel.compile_denoiser(pipe, "transformer", mode=mode)
    pipe.transformer = wrap = accel.GuidanceCutoff(pipe.transformer, cutoff)
    wrap.begin(steps)
    _ltx_clip(pipe, w, h, frames, steps, t5, device, dtype)
    _sync(device)
    report(f"LTX-Video first clip, compile({mode}) + guidance cutoff {cutoff:g} (cold compile)", time.perf_counter() - t, "s", "")
    t = time.perf_counter()
    wrap.begin(steps)
    _ltx_clip(pipe, w, h, frames, steps, t5, device, dtype)
    _sync(device)
    fast = time.perf_counter() - t
    report(f"LTX-Video {frames} frames {w}x{h}, {steps} steps: compile + cutoff {cutoff:g} (clips.compile=on, guidance_cutoff)", fast, "s/clip",
           "target <= 5 s per 5 s clip")
    report("LTX-Video real-time factor, compile + cutoff", fast / (frames / 24), "x", "<= 1.0 target")
    wrap.cutoff = 1.0
    t = time.perf_counter()
    wrap.begin(steps)
    _ltx_clip(pipe, w, h, frames, steps, t5, device, dtype)
    _sync(device)
    report(f"LTX-Video {frames} frames, {steps} steps: compile, full CFG", time.perf_counter() - t, "s/clip", "9.4 s plain (spec figure)")


def run(report: Report) -> None:
    try:
        import torch
    except ImportError:
        print("skipped: no CUDA (torch is not installed)")
        return
    smoke = os.environ.get("STORYGEN_BENCH_SMOKE", "") == "1"
    if not torch.cuda.is_available() and not smoke:
        print("diffusion (SDXL, LTX-Video): skipped: no CUDA")
        return
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if smoke:
        print("smoke mode: tiny configs, figures are meaningless")
    if device == "cuda":
        report("GPU", torch.cuda.get_device_name(0), "", "H100 for the measured figures")
        torch.backends.cuda.matmul.allow_tf32 = True
    skip = os.environ.get("STORYGEN_BENCH_SKIP", "")
    import diffusers

    report("diffusers", diffusers.__version__, "", "0.42")
    if "sdxl" not in skip:
        bench_sdxl(report, device, smoke)
        torch.cuda.empty_cache() if device == "cuda" else None
    if "ltx" not in skip:
        bench_ltx(report, device, smoke)
