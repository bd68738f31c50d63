"""Name -> backend lookup. Imports are lazy so `storygen --help` stays instant and a missing extra
gives a clear message instead of an ImportError at start-up.

``get_provider("voice", cfg)`` is typed per capability (it returns a ``Voice``), and the instance is held by the
current ``lifecycle.ModelHost``: loaded once, shared by the stories of a process or worker, released by ``close()``.
``provider_class`` gives the class without building it, for capabilities a stage needs before any model loads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal, overload

from storygen.config import Config
from storygen.errors import ConfigError, ProviderError
from storygen.providers import lifecycle
from storygen.providers.catalog import REGISTRY, SECTION

if TYPE_CHECKING:
    from storygen.providers.asr.base import ASR
    from storygen.providers.images.base import ImageGenerator
    from storygen.providers.motion.base import MotionGenerator
    from storygen.providers.vision.base import VisionJudge
    from storygen.providers.voice.base import Voice
    from storygen.providers.writer.base import Writer

__all__ = ["REGISTRY", "SECTION", "check_ready", "clear_cache", "fallback_provider", "get_provider", "provider_class", "provider_name"]


def provider_name(capability: str, cfg: Config) -> str:
    sec, key = SECTION[capability]
    return str(cfg.get(f"{sec}.{key}"))


def _entry(capability: str, cfg: Config, name: str | None) -> tuple[str, str]:
    name = name or provider_name(capability, cfg)
    table = REGISTRY[capability]
    if name not in table:
        sec, key = SECTION[capability]
        raise ConfigError(f"Unknown {capability} provider '{name}'.", f"set {sec}.{key} to one of: {', '.join(table)}")
    return name, table[name]


def provider_class(capability: str, cfg: Config, name: str | None = None) -> type:
    """The backend class configured for ``capability``, imported but not built (no model is loaded)."""
    name, target = _entry(capability, cfg, name)
    mod_name, attr = target.split(":")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise ProviderError(
            f"The {capability} provider '{name}' needs a package that is not installed ({e.name}).",
            f"pip install 'storygen[{_extra_for(name)}]'",
        ) from e
    return getattr(module, attr)


@overload
def get_provider(capability: Literal["writer"], cfg: Config, name: str | None = None) -> Writer: ...
@overload
def get_provider(capability: Literal["voice"], cfg: Config, name: str | None = None) -> Voice: ...
@overload
def get_provider(capability: Literal["asr"], cfg: Config, name: str | None = None) -> ASR: ...
@overload
def get_provider(capability: Literal["images"], cfg: Config, name: str | None = None) -> ImageGenerator: ...
@overload
def get_provider(capability: Literal["motion"], cfg: Config, name: str | None = None) -> MotionGenerator: ...
@overload
def get_provider(capability: Literal["vision"], cfg: Config, name: str | None = None) -> VisionJudge: ...


def get_provider(capability: str, cfg: Config, name: str | None = None) -> Any:
    """The backend named in config for ``capability``, built once per settings by the current ModelHost."""
    name, _ = _entry(capability, cfg, name)
    sec, _ = SECTION[capability]
    settings = cfg.section(sec)
    key = ("provider", capability, name, repr(sorted((k, repr(v)) for k, v in settings.items())))
    return lifecycle.current().load(key, lambda: provider_class(capability, cfg, name)(settings, cfg))


def check_ready(capability: str, cfg: Config) -> None:
    """Checks, without building anything, that the configured backend for ``capability`` can start: its package
    is installed and, for a cloud backend, its key is set. A backend class declares the checks of its own in a
    ``check_ready(settings, cfg)`` classmethod; one without it has nothing to check beyond its import."""
    cls = provider_class(capability, cfg)
    check = getattr(cls, "check_ready", None)
    if check is not None:
        check(cfg.section(SECTION[capability][0]), cfg)


def fallback_provider(capability: str, cfg: Config) -> Any:
    """The offline default for ``capability`` (what a fresh install uses): a stage's fallback for one item that
    the configured provider had nothing suitable for."""
    from storygen.config import DEFAULTS

    sec, key = SECTION[capability]
    return get_provider(capability, cfg, DEFAULTS[sec][key])  # type: ignore[call-overload]


def clear_cache() -> None:
    """Release every provider and model the current ModelHost holds."""
    lifecycle.current().forget()


def _extra_for(name: str) -> str:
    return {"openai": "cloud", "openai-images": "cloud", "whisperx": "whisperx"}.get(name, "gpu")
