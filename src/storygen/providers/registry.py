"""Name -> backend lookup. Imports are lazy so `storygen --help` stays instant and a missing extra
gives a clear message instead of an ImportError at start-up."""

from __future__ import annotations

import importlib
from typing import Any

from storygen.config import Config
from storygen.errors import ConfigError, ProviderError

# capability -> name -> "module:attr"; attr is a factory taking (settings: dict, cfg: Config)
REGISTRY: dict[str, dict[str, str]] = {
    "writer": {
        "llamacpp": "storygen.providers.writer.llamacpp:LlamaCppWriter",
        "openai": "storygen.providers.writer.openai_chat:OpenAIWriter",
        "transformers": "storygen.providers.writer.hf_transformers:TransformersWriter",
    },
    "voice": {
        "piper": "storygen.providers.voice.piper_tts:PiperVoice",
        "elevenlabs": "storygen.providers.voice.elevenlabs:ElevenLabsVoice",
    },
    "asr": {
        "faster-whisper": "storygen.providers.asr.faster_whisper_asr:FasterWhisperASR",
        "whisperx": "storygen.providers.asr.whisperx_asr:WhisperXASR",
    },
    "images": {
        "procedural": "storygen.providers.images.procedural:ProceduralImages",
        "sdxl": "storygen.providers.images.sdxl:SDXLImages",
    },
    "motion": {
        "kenburns": "storygen.providers.motion.kenburns:KenBurnsMotion",
        "ltx": "storygen.providers.motion.ltx:LTXMotion",
        "svd": "storygen.providers.motion.svd:SVDMotion",
    },
    "vision": {
        "heuristic": "storygen.providers.vision.heuristic:HeuristicJudge",
        "llava-onevision": "storygen.providers.vision.llava_onevision:LlavaOneVisionJudge",
        "phi35-vision": "storygen.providers.vision.phi35_vision:Phi35VisionJudge",
    },
}

# which config section picks each capability, and with which key
SECTION = {
    "writer": ("writer", "provider"),
    "voice": ("voice", "provider"),
    "asr": ("captions", "asr"),
    "images": ("keyframes", "provider"),
    "motion": ("clips", "provider"),
    "vision": ("vision", "provider"),
}

_CACHE: dict[tuple[str, str, str], Any] = {}


def provider_name(capability: str, cfg: Config) -> str:
    sec, key = SECTION[capability]
    return str(cfg.get(f"{sec}.{key}"))


def get_provider(capability: str, cfg: Config, name: str | None = None) -> Any:
    """Build (once per process and settings) the backend named in config for ``capability``.

    One loaded model serves every scene of a run: instances are cached by name and settings.
    """
    name = name or provider_name(capability, cfg)
    table = REGISTRY[capability]
    if name not in table:
        sec, key = SECTION[capability]
        raise ConfigError(f"Unknown {capability} provider '{name}'.", f"set {sec}.{key} to one of: {', '.join(table)}")
    sec, _ = SECTION[capability]
    settings = cfg.section(sec)
    key = (capability, name, repr(sorted((k, repr(v)) for k, v in settings.items())))
    if key in _CACHE:
        return _CACHE[key]
    mod_name, attr = table[name].split(":")
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise ProviderError(
            f"The {capability} provider '{name}' needs a package that is not installed ({e.name}).",
            f"pip install 'storygen[{_extra_for(name)}]'",
        ) from e
    instance = getattr(module, attr)(settings, cfg)
    _CACHE[key] = instance
    return instance


def clear_cache() -> None:
    _CACHE.clear()


def _extra_for(name: str) -> str:
    return {"openai": "cloud", "whisperx": "whisperx"}.get(name, "gpu")
