"""The settings the writing functions read: the caller's Config, or the built-in defaults when called without one."""

from __future__ import annotations

from typing import Any

from storygen.config import DEFAULTS, Config

_BUILT_IN = Config(DEFAULTS)


def setting(cfg: Any, key: str) -> Any:
    """``cfg.get(key)``; with no config, the value from ``storygen.config.DEFAULTS``."""
    return (cfg if cfg is not None else _BUILT_IN).get(key)
