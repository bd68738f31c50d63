"""Speed options for the diffusers backends (SDXL keyframes, LTX-Video / SVD clips) on CUDA.

- ``compile_denoiser``: channels_last memory format, fused QKV projections where the model has them, and
  ``torch.compile`` of the denoiser (UNet or transformer). ``*.compile`` settings: "off" (the default), "on",
  or "auto" (on with CUDA). Compiling costs minutes the first time; the compiled kernels go to a persistent
  cache (``compile_cache_dir``; the CLI points torch at it with ``inductor_env``), so later runs skip most of it. Measured on an H100 (random-weight SDXL at
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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

COMPILE_MODES = ("auto", "on", "off")


def compile_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where TorchInductor should keep compiled kernels: the user's ``TORCHINDUCTOR_CACHE_DIR`` when they chose
    one, else ``$STORYGEN_COMPILE_CACHE``, else ``$STORYGEN_CACHE/torch-compile`` (default
    ``~/.cache/storygen/torch-compile``). Reads ``environ`` (default ``os.environ``); sets nothing."""
    env = os.environ if environ is None else environ
    cur = env.get("TORCHINDUCTOR_CACHE_DIR")
    if cur and not _is_torch_default(cur):  # torch writes its /tmp default into the environment on first use
        return Path(cur)
    root = env.get("STORYGEN_COMPILE_CACHE") or str(
        Path(env.get("STORYGEN_CACHE") or Path.home() / ".cache" / "storygen") / "torch-compile")
    return Path(root)


def inductor_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment variables to set (at the process's entry point, before torch compiles anything) so that
    TorchInductor keeps its kernels in ``compile_cache_dir``: empty when ``environ`` already points there.

    torch has no API for its local cache folder: ``torch._inductor.runtime.cache_dir_utils.cache_dir()`` reads
    ``TORCHINDUCTOR_CACHE_DIR`` (and writes its /tmp default back into the environment), so the folder can
    only be chosen through the environment. Usage: ``os.environ.update(accel.inductor_env(os.environ))``."""
    path = str(compile_cache_dir(environ))
    return {} if environ.get("TORCHINDUCTOR_CACHE_DIR") == path else {"TORCHINDUCTOR_CACHE_DIR": path}


def use_persistent_caches() -> None:
    """Turn on TorchInductor's on-disk FX-graph and AOT-autograd caches through torch's config (not the
    environment). They live in ``TORCHINDUCTOR_CACHE_DIR``, which the entry point sets with ``inductor_env``."""
    try:
        import torch._functorch.config as fc
        import torch._inductor.config as ic

        ic.fx_graph_cache = True
        fc.enable_autograd_cache = True
    except Exception:  # noqa: BLE001 - knobs differ between torch versions (both are on by default in recent ones)
        pass


def _is_torch_default(path: str) -> bool:
    """torch's own ``$TMPDIR/torchinductor_<user>`` (torch writes it into the environment on first use). Checked by
    name, so that the CLI can call ``inductor_env`` without importing torch."""
    import tempfile

    p = os.path.abspath(path)
    return os.path.basename(p).startswith("torchinductor_") and os.path.dirname(p) == os.path.abspath(tempfile.gettempdir())


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
    use_persistent_caches()
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
