"""The settings the writing functions read: the caller's Config, or the built-in defaults when called without one."""

from __future__ import annotations

from typing import Any

from storygen.config import DEFAULTS, Config

_BUILT_IN = Config(DEFAULTS)


def setting(cfg: Any, key: str) -> Any:
    """``cfg.get(key)``; with no config, the value from ``storygen.config.DEFAULTS``."""
    return (cfg if cfg is not None else _BUILT_IN).get(key)


def story_language(cfg: Any, idea: Any = None, text: str = "") -> str:
    """The story's language: ``story.language`` when set (validated), else the idea's, else detected in ``text``."""
    from storygen.text.language import detect_language, parse_language

    configured = str(setting(cfg, "story.language") or "").strip()
    if configured:
        return parse_language(configured)
    if idea is not None and getattr(idea, "language", ""):
        return parse_language(idea.language)
    return detect_language(text)
