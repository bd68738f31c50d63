"""Device choice, dtypes and a VRAM check before loading. Loaded models are held by the current
``lifecycle.ModelHost`` (``load_once`` / ``forget`` are its short names for provider code).

Heavy imports (torch) happen inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from storygen.errors import ConfigError, ProviderError
from storygen.providers import lifecycle


def pick_device(pref: str = "auto") -> str:
    """``"cuda"`` when asked for (or "auto") and available, else ``"cpu"``.

    ``pref`` is "auto", "cpu", "cuda" or "cuda:N". Asking for CUDA on a machine without it is an error,
    not a silent fallback, so a user who set ``device=cuda`` learns why it is slow.
    """
    pref = (pref or "auto").strip().lower()
    if pref == "cpu":
        return "cpu"
    if pref not in ("auto", "gpu") and not pref.startswith("cuda"):
        raise ConfigError(f"Unknown device '{pref}'.", "use device=auto, cpu, cuda or cuda:N")
    import torch

    has_cuda = torch.cuda.is_available()
    if pref in ("auto",):
        return "cuda" if has_cuda else "cpu"
    if not has_cuda:
        raise ProviderError(f"device={pref} was requested but this machine has no usable CUDA GPU.",
                            "set device=auto (or cpu), or install a CUDA build of torch")
    return "cuda" if pref == "gpu" else pref


def dtype_for(device: str, want: str = "fp16") -> Any:
    """The torch dtype to load weights in: ``want`` (fp16 or bf16) on CUDA, fp32 on CPU."""
    import torch

    if not str(device).startswith("cuda"):
        return torch.float32
    want = (want or "fp16").lower()
    if want in ("bf16", "bfloat16"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if want in ("fp32", "float32"):
        return torch.float32
    return torch.float16


def free_vram_gb(device: str = "cuda") -> float | None:
    """Free memory on a CUDA device in GiB, or None on CPU / when it cannot be read."""
    if not str(device).startswith("cuda"):
        return None
    import torch

    try:
        free, _total = torch.cuda.mem_get_info(torch.device(device))
    except Exception:  # noqa: BLE001 - an unreadable figure is "unknown", not fatal
        return None
    return free / 2**30


def check_vram(needed_gb: float, what: str, smaller_option: str, device: str = "cuda") -> None:
    """Raise ProviderError naming ``smaller_option`` when the GPU has less than ``needed_gb`` free.

    Does nothing on CPU (system RAM is not checked) or when the free figure cannot be read.
    """
    free = free_vram_gb(device)
    if free is None:
        return
    if free < needed_gb:
        raise ProviderError(
            f"{what} needs about {needed_gb:.0f} GB of free GPU memory but only {free:.1f} GB is free on {device}.",
            f"{smaller_option}, or close other programs that use the GPU",
        )


def load_once(key: Any, factory: Callable[[], Any]) -> Any:
    """The model held under ``key`` by the current ModelHost, built with ``factory()`` the first time.

    One model loaded once serves every scene of a run, and every story of a worker.
    """
    return lifecycle.current().load(key, factory)


def forget(key: Any | None = None) -> None:
    """Release one held model (or all, as after an out-of-memory error) and free GPU memory."""
    lifecycle.current().forget(key)


def is_oom(exc: BaseException) -> bool:
    """True for a CUDA out-of-memory error (whatever class this torch raises it as)."""
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except Exception:  # noqa: BLE001
        pass
    return "out of memory" in str(exc).lower()


@contextlib.contextmanager
def oom_as(problem: str, fix: str) -> Iterator[None]:
    """A CUDA out-of-memory error inside the block releases every model this worker's ModelHost holds (so the
    next scene or story starts from free memory) and becomes ``ProviderError(problem, fix)``; any other error
    passes through unchanged."""
    try:
        yield
    except Exception as e:
        if is_oom(e):
            lifecycle.current().on_oom()
            raise ProviderError(problem, fix) from e
        raise


def resolve_model(model: str, default: str) -> tuple[str, bool]:
    """``(ref, is_local)``: a local diffusers/transformers folder or a hub id."""
    from pathlib import Path

    ref = (model or "").strip() or default
    p = Path(ref).expanduser()
    if p.exists():
        return str(p.resolve()), True
    if ref.startswith((".", "/", "~")) or ref.count("/") > 1:
        raise ConfigError(f"Model folder '{ref}' does not exist.", "point the model setting at a downloaded model folder")
    return ref, False


def offline_fix(what: str, key: str, ref: str) -> str:
    return (f"download {ref} once with `huggingface-cli download {ref} --local-dir DIR` on a machine with internet, "
            f"then set {key}=DIR (or allow network access so the {what} weights can be fetched into the Hugging Face cache)")
