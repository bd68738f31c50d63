"""Shared diffusers plumbing for the image and video providers (SDXL keyframes, LTX-Video and SVD clips):
loading a pipeline with clear errors, the memory options, and fitting a picture to an exact size.

Heavy imports (torch, diffusers) happen inside the functions.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from PIL import Image

from storygen.errors import ConfigError, ProviderError
from storygen.providers import devices


def version_of(model_ref: str, is_local: bool) -> str:
    """``diffusers-X.Y:model`` - the version string a diffusers provider records (a local folder by its name)."""
    import diffusers

    return f"diffusers-{diffusers.__version__}:{Path(model_ref).name if is_local else model_ref}"


def fit_to(image: Image.Image, width: int, height: int) -> Image.Image:
    """Centre-crop ``image`` to the aspect of ``width``x``height`` and resize to exactly that size (RGB)."""
    image = image.convert("RGB")
    w, h = image.size
    target = width / height
    if abs(w / h - target) > 1e-6:
        if w / h > target:  # too wide: trim the sides
            nw = max(1, round(h * target))
            x0 = (w - nw) // 2
            image = image.crop((x0, 0, x0 + nw, h))
        else:  # too tall: trim top and bottom
            nh = max(1, round(w / target))
            y0 = (h - nh) // 2
            image = image.crop((0, y0, w, y0 + nh))
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image


def _has_fp16_variant(folder: Path) -> bool:
    return any(folder.rglob("*.fp16.safetensors"))


def load_diffusers(cls: Any, ref: str, is_local: bool, dtype: Any, *, key: str, what: str, **kwargs: Any) -> Any:
    """``cls.from_pretrained`` with use_safetensors and the fp16 variant when there is one; clear errors."""
    import torch

    want_variant = dtype == torch.float16 and (not is_local or _has_fp16_variant(Path(ref)))
    if is_local and not (Path(ref) / "model_index.json").is_file():
        raise ConfigError(f"'{ref}' is not a diffusers model folder (no model_index.json).",
                          f"point {key} at the folder made by `huggingface-cli download ... --local-dir DIR` or save_pretrained")
    attempts = [{"variant": "fp16"}, {}] if want_variant else [{}]
    last: Exception | None = None
    for extra in attempts:
        try:
            # `dtype` is diffusers 0.42's name for the spec's `torch_dtype` (deprecated there)
            return cls.from_pretrained(ref, dtype=dtype, use_safetensors=True, **extra, **kwargs)
        except (OSError, ValueError, EnvironmentError) as e:  # noqa: UP024 - hub errors subclass OSError/ValueError
            last = e
            continue
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get("TRANSFORMERS_OFFLINE", "") not in ("", "0")
    if not is_local:
        why = "Hugging Face is offline and it is not in the local cache" if offline else f"it could not be loaded ({type(last).__name__})"
        raise ProviderError(f"The {what} model '{ref}' is not available: {why}.", devices.offline_fix(what, key, ref)) from last
    raise ProviderError(f"The {what} model folder '{ref}' could not be loaded ({type(last).__name__}: {str(last)[:160]}).",
                        f"check that {key} points at a complete diffusers folder with .safetensors weights") from last


def mark_applied(pipe: Any, applied: list[str]) -> None:
    """Record on a built pipeline the options applied to it (offload, tiling, compile), for ``applied_to``."""
    pipe._storygen_applied = list(applied)


def applied_to(pipe: Any) -> list[str]:
    """The options applied when the pipeline was built, also when another provider instance built it."""
    return list(getattr(pipe, "_storygen_applied", []))


def apply_memory_options(pipe: Any, device: str, *, offload: bool, vae_tiling: bool) -> list[str]:
    """SDPA is diffusers' default; xFormers when installed on CUDA; VAE tiling; model CPU offload. Returns what was applied."""
    applied = ["sdpa"]
    if device.startswith("cuda") and importlib.util.find_spec("xformers") is not None:
        try:
            pipe.enable_xformers_memory_efficient_attention()
            applied = ["xformers"]
        except Exception:  # noqa: BLE001 - a broken xformers build falls back to SDPA
            pass
    if vae_tiling:
        vae = getattr(pipe, "vae", None)
        if vae is not None and hasattr(vae, "enable_tiling"):
            vae.enable_tiling()
            applied.append("vae_tiling")
    if offload and device.startswith("cuda"):
        pipe.enable_model_cpu_offload(device=device)
        applied.append("cpu_offload")
    else:
        pipe.to(device)
    return applied


def own_defaults(settings: dict[str, Any], section: str, mine: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with every key still at the section's shared default (SDXL's for keyframes, LTX's for clips)
    replaced by this backend's own (``mine``)."""
    from storygen.config import DEFAULTS

    shared = DEFAULTS[section]
    return {**settings, **{k: v for k, v in mine.items() if settings.get(k, shared.get(k)) == shared.get(k)}}
