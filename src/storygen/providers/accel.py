"""Speed options for the diffusers backends (SDXL keyframes, LTX-Video / SVD clips) on CUDA.

- ``compile_denoiser``: channels_last memory format, fused QKV projections where the model has them, and
  ``torch.compile`` of the denoiser (UNet or transformer). ``*.compile`` settings: "off" (the default), "on",
  or "auto" (on with CUDA). Compiling costs minutes the first time; the compiled kernels go to a persistent
  cache (``compile_cache_dir``), so later runs skip most of it. Measured on an H100 (random-weight SDXL at
  1024x1024): eager is 1.78 s/image and CPU-bound (a UNet step at batch 1 costs 54 ms, at batch 2 68 ms), which
  is what CUDA graphs ("reduce-overhead") remove; the compiled figures are still to be measured there.
- ``GuidanceCutoff``: classifier-free guidance for the first ``cutoff`` share of the steps only. After that the
  denoiser runs on the conditional half of the batch and its output is used for both halves, which is exactly
  guidance off, at half the work per step. The early steps fix composition and layout, where guidance matters;
  the late steps refine detail. ``*.guidance_cutoff`` = 1.0 (the default) keeps the spec's guidance on every
  step. It pays only once the step is GPU-bound (compiled): eager SDXL on an H100 took 1.80 s/image with a 0.5
  cutoff against 1.78 s without.

Nothing here imports torch at module import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

COMPILE_MODES = ("auto", "on", "off")


def compile_cache_dir() -> Path:
    """Point TorchInductor's on-disk caches at ``$STORYGEN_COMPILE_CACHE`` or ``$STORYGEN_CACHE/torch-compile``
    (default ``~/.cache/storygen/torch-compile``) unless the user set ``TORCHINDUCTOR_CACHE_DIR`` already."""
    root = os.environ.get("STORYGEN_COMPILE_CACHE") or str(
        Path(os.environ.get("STORYGEN_CACHE") or Path.home() / ".cache" / "storygen") / "torch-compile")
    cur = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if cur is None or _is_torch_default(cur):  # torch writes its /tmp default into the environment on first use
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = root
    path = Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _is_torch_default(path: str) -> bool:
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir

        return os.path.abspath(path) == os.path.abspath(default_cache_dir())
    except Exception:  # noqa: BLE001 - older/newer torch: recognise the temp-folder default by name
        import tempfile

        return os.path.basename(path).startswith("torchinductor_") and os.path.dirname(path) == tempfile.gettempdir()


def wants_compile(setting: Any, device: str) -> bool:
    """Decode a ``*.compile`` setting: "auto" means on with CUDA, off on CPU (where inductor gains little)."""
    s = str(setting if setting is not None else "auto").strip().lower()
    if s in ("auto", ""):
        return str(device).startswith("cuda")
    if s in ("on", "true", "1", "yes"):
        return True
    if s in ("off", "false", "0", "no"):
        return False
    from storygen.errors import ConfigError

    raise ConfigError(f"compile={setting!r} is not a valid choice.", "use compile=auto, on or off")


def compile_denoiser(pipe: Any, attr: str, *, mode: str = "reduce-overhead") -> list[str]:
    """channels_last + fused QKV + torch.compile for ``pipe.<attr>`` (and channels_last for the VAE).

    Returns what was applied. A failure to set up compiling is not fatal: the pipeline stays eager."""
    import torch

    applied: list[str] = []
    compile_cache_dir()
    net = getattr(pipe, attr)
    if hasattr(net, "fuse_qkv_projections"):
        try:
            net.fuse_qkv_projections()
            applied.append("fused_qkv")
        except Exception:  # noqa: BLE001 - some attention processors cannot be fused; that is fine
            pass
    if attr == "unet":  # convolutional: channels_last lets cuDNN pick NHWC kernels
        net.to(memory_format=torch.channels_last)
        vae = getattr(pipe, "vae", None)
        if vae is not None:
            vae.to(memory_format=torch.channels_last)
        applied.append("channels_last")
    try:
        import torch._inductor.config as ic

        ic.conv_1x1_as_mm = True  # 1x1 convolutions as matmuls (diffusers' SDXL guide); cheap to compile
        # no coordinate_descent_tuning: with it (under max-autotune, and under reduce-overhead) SDXL was still
        # compiling after five minutes on an H100; the compile time without it is not measured yet
    except Exception:  # noqa: BLE001 - knobs differ between torch versions
        pass
    # dynamic=False: one specialised graph per shape (the guidance cutoff adds a half-batch shape)
    setattr(pipe, attr, torch.compile(net, mode=mode, fullgraph=True, dynamic=False))
    applied.append(f"compile:{mode}")
    return applied


def _halves(x: Any, n: int) -> Any:
    """The conditional half of every batched tensor in ``x`` (tensors whose first dim is ``2n``)."""
    import torch

    if isinstance(x, torch.Tensor):
        return x[n:] if x.dim() > 0 and x.shape[0] == 2 * n else x
    if isinstance(x, dict):
        return {k: _halves(v, n) for k, v in x.items()}
    if isinstance(x, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in x):
        return type(x)(_halves(v, n) for v in x)
    return x


def _doubled(out: Any) -> Any:
    import torch

    if isinstance(out, torch.Tensor):
        return torch.cat([out, out])
    if isinstance(out, tuple):
        return tuple(_doubled(o) for o in out)
    if hasattr(out, "sample"):
        out.sample = torch.cat([out.sample, out.sample])
        return out
    return out


class GuidanceCutoff:
    """Wraps a pipeline's denoiser so that, from step ``round(cutoff * steps)`` on, a CFG batch (uncond + cond)
    is computed on its conditional half only. Call ``begin(steps)`` before each pipeline call.

    Attribute access falls through to the wrapped module, so the pipeline sees the same ``config``, ``dtype``
    and helpers it expects."""

    def __init__(self, inner: Any, cutoff: float):
        if not 0.0 < cutoff <= 1.0:
            from storygen.errors import ConfigError

            raise ConfigError(f"guidance_cutoff={cutoff} is out of range.", "use a share of the steps in (0, 1], e.g. 0.5; 1 = always")
        self.__dict__.update(inner=inner, cutoff=float(cutoff), _calls=0, _from=10**9)

    def begin(self, steps: int) -> None:
        self._calls = 0
        self._from = max(1, round(self.cutoff * steps)) if self.cutoff < 1.0 else 10**9

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        i = self._calls
        self._calls += 1
        first = args[0] if args else next(iter(kwargs.values()))
        if i < self._from or first.shape[0] % 2:
            return self.inner(*args, **kwargs)
        n = first.shape[0] // 2
        return _doubled(self.inner(*_halves(args, n), **_halves(kwargs, n)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["inner"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__:
            self.__dict__[name] = value
        else:
            setattr(self.inner, name, value)
