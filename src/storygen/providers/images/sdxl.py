"""SDXL keyframes through diffusers, as the spec shows (fp16 on CUDA, 30 steps, guidance 7.5).

``keyframes.model`` is a hub id or a local diffusers folder; ``keyframes.refiner`` optionally adds
the SDXL refiner as an ensemble of experts (base denoises the first 80 %, the refiner the rest),
sharing text_encoder_2 and the VAE. The image is generated in a portrait bucket
(``keyframes.width`` x ``keyframes.height``, 768x1344 by default) and centre-cropped/resized to exactly
the requested size.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from collections.abc import Callable
from typing import Any

from PIL import Image

from storygen.config import Config
from storygen.errors import ConfigError, InputError, ProviderError
from storygen.models import Scene, StyleBible
from storygen.providers import accel, devices
from storygen.providers._diffusers import (applied_to, apply_memory_options, fit_to, load_diffusers, mark_applied,
                                           version_of)

DEFAULT_MODEL = "stabilityai/stable-diffusion-xl-base-1.0"
REFINER_SPLIT = 0.8  # base handles the first 80 % of the noise schedule when a refiner is set

# rough colour names for palette hex codes: CLIP knows words, not hex
_COLOUR_NAMES = {
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "silver": (192, 192, 192),
    "red": (200, 30, 30), "crimson": (150, 20, 40), "orange": (240, 140, 30), "amber": (255, 190, 0),
    "gold": (230, 190, 80), "yellow": (250, 230, 60), "olive": (110, 110, 30), "green": (40, 160, 60),
    "teal": (0, 128, 128), "cyan": (60, 200, 220), "sky blue": (130, 190, 235), "blue": (40, 80, 200),
    "navy": (20, 30, 80), "purple": (110, 40, 150), "violet": (170, 110, 220), "pink": (240, 140, 180),
    "magenta": (200, 40, 160), "brown": (120, 70, 30), "beige": (225, 210, 170), "slate blue": (70, 90, 130),
    "pale blue": (200, 215, 225), "dark navy": (25, 40, 70),
}


def colour_name(hex_code: str) -> str:
    """Nearest plain colour word for ``#rrggbb`` (or the text itself when it is not a hex code)."""
    h = hex_code.strip().lstrip("#")
    if len(h) != 6:
        return hex_code.strip()
    try:
        rgb = tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return hex_code.strip()
    return min(_COLOUR_NAMES, key=lambda n: sum((a - b) ** 2 for a, b in zip(_COLOUR_NAMES[n], rgb)))


#: CLIP's context (77 token positions, two of them the start and end markers): what an SDXL text encoder reads
CLIP_TOKENS = 77


def build_prompt(scene: Scene, style: StyleBible, count_tokens: Callable[[str], int] | None = None,
                 budget: int = CLIP_TOKENS) -> str:
    """The scene's subject first, then the characters it mentions, its palette, and the art style, stated once.

    With ``count_tokens`` (the text encoder's tokenizer, start and end markers included), the prompt is fitted to
    ``budget`` tokens: CLIP truncates at 77 and would cut the end off (palette and characters, when a scene's prompt
    and the style are long). Fitting drops the style's trailing words first, then the subject's tail (never its first
    eight words), so the characters and the palette always reach the encoder."""
    if not scene.prompt or not scene.prompt.strip():
        raise InputError(f"Scene {scene.index} has an empty visual prompt.",
                         "edit scenes/scenes.json to give it a prompt, or re-run the scenes stage")
    subject = scene.prompt.strip().rstrip(".,")
    style_words = (style.art_style or "").strip()
    if style_words and subject.lower().endswith(style_words.lower()):  # plans made before the style was stated once
        subject = subject[: -len(style_words)].rstrip(" ,")
    palette = scene.palette or style.palette
    colours: list[str] = []
    for c in palette:
        w = colour_name(c)
        if w and w not in colours:
            colours.append(w)
    haystack = f"{scene.prompt} {scene.text}".lower()
    people = [f"{ch.name}: {ch.description}" for ch in style.characters if ch.name and ch.name.lower() in haystack]
    tail = [*people, ("colour palette of " + ", ".join(colours[:5])) if colours else ""]

    def join(subj: str, sty: str) -> str:
        return ", ".join(p for p in [subj, *tail, sty] if p)

    prompt = join(subject, style_words)
    if count_tokens is None or count_tokens(prompt) <= budget:
        return prompt
    sty = style_words.split()
    while sty and count_tokens(join(subject, " ".join(sty))) > budget:
        sty.pop()
    words = subject.split()
    while len(words) > 8 and count_tokens(join(" ".join(words), " ".join(sty))) > budget:
        words.pop()
    return join(" ".join(words).rstrip(","), " ".join(sty).rstrip(","))


def clip_token_counter(tokenizer: Any) -> Callable[[str], int]:
    """Tokens a CLIP tokenizer makes of a text, start and end markers included (no truncation)."""
    return lambda text: len(tokenizer(text, truncation=False)["input_ids"])


class SDXLImages:
    """keyframes.provider = "sdxl"."""

    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "sdxl"
    draws_at_output_size = False  # draws in its portrait bucket; the keyframes stage fits it to the video

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        self.settings = s = dict(settings)
        self.model_ref, self.is_local = devices.resolve_model(str(s["model"]), DEFAULT_MODEL)
        refiner = str(s["refiner"]).strip()
        self.refiner_ref, self.refiner_local = devices.resolve_model(refiner, "") if refiner else ("", False)
        self.steps = int(s["steps"])
        self.guidance = float(s["guidance"])
        self.bucket = (int(s["width"]), int(s["height"]))
        if self.steps < 1 or self.bucket[0] % 8 or self.bucket[1] % 8 or min(self.bucket) < 64:
            raise ConfigError(f"keyframes steps={self.steps}, width x height={self.bucket[0]}x{self.bucket[1]} are not usable.",
                              "use steps >= 1 and a width and height that are multiples of 8 (e.g. 768x1344)")
        self.device = devices.pick_device(str(s["device"]))
        self.offload = bool(s["offload"])
        self.vae_tiling = bool(s["vae_tiling"])
        self.lora = str(s["lora"]).strip()
        vae = str(s["vae"]).strip()  # e.g. madebyollin/sdxl-vae-fp16-fix
        self.vae_ref, self.vae_local = devices.resolve_model(vae, "") if vae else ("", False)
        self.compile = accel.wants_compile(s["compile"], self.device) and not self.offload
        self.compile_mode = str(s["compile_mode"])
        self.cutoff = float(s["guidance_cutoff"])
        if not 0.0 < self.cutoff <= 1.0:
            raise ConfigError(f"keyframes.guidance_cutoff={self.cutoff} is out of range.",
                              "use a share of the steps in (0, 1], e.g. 0.5; 1 keeps guidance on every step")
        self.version = version_of(self.model_ref, self.is_local)
        if self.refiner_ref:
            self.version += f"+refiner:{Path(self.refiner_ref).name if self.refiner_local else self.refiner_ref}"
        if self.lora:
            self.version += f"+lora:{Path(self.lora).name}"
        if self.vae_ref:
            self.version += f"+vae:{Path(self.vae_ref).name if self.vae_local else self.vae_ref}"
        self.applied: list[str] = []

    # -------------------------------------------------------------- loading
    def _load(self) -> tuple[Any, Any]:
        key = ("sdxl", self.model_ref, self.refiner_ref, self.lora, self.vae_ref, self.device, self.offload,
               self.vae_tiling, self.compile, self.compile_mode, self.cutoff)
        loaded = devices.load_once(key, self._build)
        self.applied = applied_to(loaded[0])
        return loaded

    def _build(self) -> tuple[Any, Any]:
        from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline

        dtype = devices.dtype_for(self.device, "fp16")
        if self.device.startswith("cuda") and not self.offload:
            need = 16.0 if self.refiner_ref else 12.0
            smaller = ("set keyframes.refiner= (refiner off) or keyframes.offload=true" if self.refiner_ref
                       else "set keyframes.offload=true (CPU offload) or use a quantized/distilled SDXL variant")
            devices.check_vram(need * 0.7, "SDXL" + (" with the refiner" if self.refiner_ref else ""), smaller, self.device)
        extra = {"vae": self._load_vae(dtype)} if self.vae_ref else {}
        pipe = load_diffusers(StableDiffusionXLPipeline, self.model_ref, self.is_local, dtype,
                              key="keyframes.model", what="SDXL", **extra)
        if self.lora:
            if importlib.util.find_spec("peft") is None:
                raise ProviderError("keyframes.lora needs the 'peft' package, which is not installed.",
                                    "pip install peft, or set keyframes.lora= to turn the LoRA off")
            try:
                pipe.load_lora_weights(self.lora)
            except (OSError, ValueError, KeyError) as e:
                raise ProviderError(f"The LoRA '{self.lora}' could not be loaded ({type(e).__name__}).",
                                    "point keyframes.lora at an SDXL LoRA .safetensors file or folder") from e
        refiner = None
        if self.refiner_ref:
            refiner = load_diffusers(StableDiffusionXLImg2ImgPipeline, self.refiner_ref, self.refiner_local, dtype,
                                     key="keyframes.refiner", what="SDXL refiner",
                                     text_encoder_2=pipe.text_encoder_2, vae=pipe.vae)
        self.applied = apply_memory_options(pipe, self.device, offload=self.offload, vae_tiling=self.vae_tiling)
        if refiner is not None:
            apply_memory_options(refiner, self.device, offload=self.offload, vae_tiling=self.vae_tiling)
        if self.compile:
            self.applied += accel.compile_denoiser(pipe, "unet", mode=self.compile_mode)
        if self.cutoff < 1.0:
            pipe.unet = accel.GuidanceCutoff(pipe.unet, self.cutoff)
            self.applied.append(f"guidance_cutoff:{self.cutoff:g}")
        for p in (pipe, refiner):
            if p is not None:
                p.set_progress_bar_config(disable=True)
        mark_applied(pipe, self.applied)
        return pipe, refiner

    def _load_vae(self, dtype: Any) -> Any:
        """keyframes.vae: a replacement AutoencoderKL. SDXL's own VAE overflows in fp16, so diffusers decodes
        it in fp32 (its config says force_upcast); an fp16-fixed VAE (force_upcast false) decodes in fp16:
        faster and smaller, with the same look."""
        from diffusers import AutoencoderKL

        if self.vae_local and not (Path(self.vae_ref) / "config.json").is_file():
            raise ConfigError(f"'{self.vae_ref}' is not a diffusers VAE folder (no config.json).",
                              "point keyframes.vae at a downloaded AutoencoderKL, e.g. madebyollin/sdxl-vae-fp16-fix")
        try:
            return AutoencoderKL.from_pretrained(self.vae_ref, dtype=dtype, use_safetensors=True)
        except (OSError, ValueError) as e:
            if self.vae_local:
                raise ProviderError(f"The VAE folder '{self.vae_ref}' could not be loaded ({type(e).__name__}: {str(e)[:160]}).",
                                    "check that keyframes.vae points at a complete AutoencoderKL folder with .safetensors "
                                    "weights, or set keyframes.vae= for the model's own") from e
            raise ProviderError(f"The VAE '{self.vae_ref}' is not available ({type(e).__name__}).",
                                devices.offline_fix("VAE", "keyframes.vae", self.vae_ref)) from e

    # -------------------------------------------------------------- generation
    def generate(self, scene: Scene, style: StyleBible, *, width: int, height: int, seed: int) -> Image.Image:
        if width < 1 or height < 1:
            raise InputError(f"Keyframe size {width}x{height} is not valid.", "ask for a positive width and height")
        pipe, _ = self._load()
        # what the pipeline's text encoders read: it truncates the tokens past the tokenizer's length
        prompt = build_prompt(scene, style, clip_token_counter(pipe.tokenizer), int(pipe.tokenizer.model_max_length))
        negative = (scene.negative_prompt or "").strip() or None
        return self.generate_prompt(prompt, negative, width=width, height=height, seed=seed)

    def generate_prompt(self, prompt: str, negative: str | None, *, width: int, height: int, seed: int) -> Image.Image:
        import torch

        pipe, refiner = self._load()
        bw, bh = self.bucket
        gen = torch.Generator(device="cpu").manual_seed(int(seed) & 0xFFFFFFFFFFFF)
        kw: dict[str, Any] = dict(prompt=prompt, negative_prompt=negative, num_inference_steps=self.steps,
                                  guidance_scale=self.guidance, width=bw, height=bh, generator=gen)
        if isinstance(pipe.unet, accel.GuidanceCutoff):
            pipe.unet.begin(self.steps)
        with devices.oom_as(f"The GPU ran out of memory generating a {bw}x{bh} SDXL keyframe.",
                            "set keyframes.offload=true, keyframes.vae_tiling=true, keyframes.refiner= (refiner off) or "
                            "a smaller keyframes.width/height; finished keyframes are kept and a re-run resumes at this "
                            "scene"):
            with torch.inference_mode():
                if refiner is None:
                    image = pipe(**kw).images[0]
                else:
                    latents = pipe(**kw, denoising_end=REFINER_SPLIT, output_type="latent").images
                    image = refiner(prompt=prompt, negative_prompt=negative, image=latents,
                                    num_inference_steps=self.steps, guidance_scale=self.guidance,
                                    denoising_start=REFINER_SPLIT, generator=gen).images[0]
        return fit_to(image, width, height)
