"""FLUX.1 keyframes through diffusers' FluxPipeline (FLUX.1-schnell by default: 4 steps, no guidance, a
256-token T5 prompt, bf16 on CUDA).

``keyframes.model`` is a hub id or a local diffusers folder. The keyframes section's steps, guidance and
model defaults are SDXL's figures; while they are still at those defaults this backend uses its own
(``FluxImages.DEFAULTS``). FLUX.1-dev folders also load (guidance-distilled: its guidance is embedded,
512-token prompts). The picture is drawn at ``keyframes.width`` x ``keyframes.height`` (multiples of 16)
and fitted to the requested size.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PIL import Image

from storygen.config import Config
from storygen.errors import ConfigError, InputError
from storygen.models import Scene, StyleBible
from storygen.providers import accel, devices
from storygen.providers._diffusers import (applied_to, apply_memory_options, fit_to, load_diffusers, mark_applied,
                                           own_defaults, version_of)
from storygen.providers.images.sdxl import build_prompt

DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"


class FluxImages:
    """keyframes.provider = "flux"."""

    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "flux"
    draws_at_output_size = False  # draws at keyframes.width x height; the keyframes stage fits it to the video
    # what schnell is distilled for; used while keyframes.model/steps/guidance are still SDXL's defaults
    DEFAULTS: ClassVar[dict[str, Any]] = {"model": DEFAULT_MODEL, "steps": 4, "guidance": 0.0}
    MULTIPLE = 16  # VAE factor 8 x 2x2 latent packing

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        self.settings = s = own_defaults(dict(settings), "keyframes", self.DEFAULTS)
        self.model_ref, self.is_local = devices.resolve_model(str(s["model"]), DEFAULT_MODEL)
        self.steps = int(s["steps"])
        self.guidance = float(s["guidance"])
        self.bucket = (int(s["width"]), int(s["height"]))
        if (self.steps < 1 or self.guidance < 0 or self.bucket[0] % self.MULTIPLE or self.bucket[1] % self.MULTIPLE
                or min(self.bucket) < 32):
            raise ConfigError(f"keyframes steps={self.steps}, guidance={self.guidance:g}, width x height="
                              f"{self.bucket[0]}x{self.bucket[1]} are not usable for FLUX.",
                              "use steps >= 1, guidance >= 0 and a width and height that are multiples of 16 "
                              "of at least 32 (e.g. 768x1344)")
        self.device = devices.pick_device(str(s["device"]))
        self.offload = bool(s["offload"])
        self.vae_tiling = bool(s["vae_tiling"])
        self.compile = accel.wants_compile(s["compile"], self.device) and not self.offload
        self.compile_mode = str(s["compile_mode"])
        self.version = version_of(self.model_ref, self.is_local)
        self.applied: list[str] = []

    # -------------------------------------------------------------- loading
    def _load(self) -> Any:
        pipe = devices.load_once(("flux", self.model_ref, self.device, self.offload, self.vae_tiling, self.compile,
                                  self.compile_mode), self._build)
        self.applied = applied_to(pipe)
        return pipe

    def _build(self) -> Any:
        from diffusers import FluxPipeline

        dtype = devices.dtype_for(self.device, "bf16")
        if self.device.startswith("cuda") and not self.offload:
            devices.check_vram(24.0, "FLUX.1", "set keyframes.offload=true (CPU offload) or use keyframes.provider=sdxl",
                               self.device)
        pipe = load_diffusers(FluxPipeline, self.model_ref, self.is_local, dtype, key="keyframes.model", what="FLUX.1")
        self.applied = apply_memory_options(pipe, self.device, offload=self.offload, vae_tiling=self.vae_tiling)
        if self.compile:
            self.applied += accel.compile_denoiser(pipe, "transformer", mode=self.compile_mode)
        pipe.set_progress_bar_config(disable=True)
        mark_applied(pipe, self.applied)
        return pipe

    # -------------------------------------------------------------- generation
    def generate(self, scene: Scene, style: StyleBible, *, width: int, height: int, seed: int) -> Image.Image:
        if width < 1 or height < 1:
            raise InputError(f"Keyframe size {width}x{height} is not valid.", "ask for a positive width and height")
        return self.generate_prompt(build_prompt(scene, style), width=width, height=height, seed=seed)

    def generate_prompt(self, prompt: str, *, width: int, height: int, seed: int) -> Image.Image:
        """The picture for ``prompt`` (CLIP reads its first 77 tokens for the pooled vector, T5 the rest)."""
        import torch

        pipe = self._load()
        bw, bh = self.bucket
        # schnell was distilled on 256-token T5 prompts; the guidance-distilled dev takes 512
        max_tokens = 512 if getattr(pipe.transformer.config, "guidance_embeds", False) else 256
        gen = torch.Generator(device="cpu").manual_seed(int(seed) & 0xFFFFFFFFFFFF)
        with devices.oom_as(f"The GPU ran out of memory generating a {bw}x{bh} FLUX.1 keyframe.",
                            "set keyframes.offload=true, keyframes.vae_tiling=true or a smaller keyframes.width/height; "
                            "finished keyframes are kept and a re-run resumes at this scene"):
            with torch.inference_mode():
                image = pipe(prompt=prompt, num_inference_steps=self.steps, guidance_scale=self.guidance, width=bw,
                             height=bh, max_sequence_length=max_tokens, generator=gen).images[0]
        return fit_to(image, width, height)
