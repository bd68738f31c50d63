"""Configuration: built-in defaults < storygen.toml (or --config) < `-c key=value`; secrets from the environment.

Every provider is chosen by name (``writer.provider``, ``voice.provider`` ...). Keys that hold
secrets (any key ending in ``api_key``) are never hashed, logged or written into artifacts.
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path
from typing import Any

from storygen.errors import ConfigError
from storygen.providers import catalog  # data only: the registered backend names
from storygen.providers.catalog import COMPILE_MODES

DEFAULTS: dict[str, Any] = {
    "story": {
        "language": "",  # BCP-47 code (es, pt-BR, ja, ar ...); "" = detected from the idea's text
    },
    "writer": {
        "provider": "llamacpp",  # llamacpp | openai | transformers
        "model": "",  # "" = the provider's default (llamacpp: the packaged Qwen2.5-Coder-1.5B GGUF)
        "base_url": "",
        "api_key": "",
        "temperature": 0.9,
        "max_tokens": 800,
        "threads": 0,  # llamacpp CPU threads; 0 = auto
        "gpu_layers": 0,
        "context": 4096,
        "timeout": 120.0,
        "max_retries": 3,
        "fast": "auto",  # transformers: static KV cache (+ torch.compile on CUDA); auto = on with CUDA
        "quantize": "",  # transformers: "" | "8bit" | "4bit" (bitsandbytes, CUDA) | "fp8" | "int8" (fast decoder)
        "seed": 7,
        "prompts_dir": "",  # a folder whose *.txt override the packaged prompt templates
    },
    "idea": {"max_chars": 2000, "hard_max_chars": 10000},
    "script": {"target_words": 360, "min_words": 330, "max_words": 390, "max_attempts": 6,
               "outline": False},  # outline: plan 5 beats first, then write from the plan (one more call)
    "revise": {"llm": "auto",  # auto = on unless the writer is the small embedded model
               "audio_tags": False, "max_sentence_words": 22},
    "voice": {
        "provider": "piper",  # piper | elevenlabs
        "voice": "",  # provider-specific voice name / id; "" = chosen from the narrator
        "model": "",
        "base_url": "",
        "api_key": "",
        "with_timestamps": True,
        "stability": 0.5,
        "similarity_boost": 0.75,
        "target_lufs": -16.0,
        "pad_start": 0.5,
        "pad_end": 1.0,
        "max_pause": 0.7,
        "length_scale": 1.0,
    },
    "captions": {
        "asr": "faster-whisper",  # used when the voice gives no word timings: faster-whisper | whisperx
        "asr_model": "",  # "" = packaged tiny.en on CPU, large-v3 when a GPU and the model are present
        "align_model": "",  # whisperx: wav2vec2 CTC alignment model (folder or HF id); "" = whisperx's default
        "compute_type": "int8",
        "vad_filter": False,
        "style": "karaoke",  # karaoke | pop | boxed
        "font": "Fjalla One",
        "size": 92,
        "primary_color": "#FFFFFF",
        "highlight_color": "#FFD23F",
        "outline_color": "#000000",
        "outline": 6,
        "position": 0.62,  # vertical centre of the caption block, as a share of the height
        "max_words": 3,
        "max_chars": 18,
    },
    "scenes": {"planner": "auto", "count": 0, "min_seconds": 4.0, "max_seconds": 9.0},
    "keyframes": {
        "provider": "procedural",  # procedural | sdxl
        "model": "stabilityai/stable-diffusion-xl-base-1.0",
        "refiner": "",
        "steps": 30,
        "guidance": 7.5,
        "width": 768,
        "height": 1344,
        "device": "auto",
        "offload": False,
        "vae_tiling": False,
        "lora": "",
        "vae": "",  # a replacement VAE, e.g. madebyollin/sdxl-vae-fp16-fix (decodes in fp16 instead of fp32)
        "seed": 1234,
        "compile": "off",  # torch.compile the UNet (off | on | auto = on with CUDA); kernels are cached on disk
        "compile_mode": "reduce-overhead",  # CUDA graphs; "max-autotune" tunes GEMMs too, but compiles for 5+ minutes
        "guidance_cutoff": 1.0,  # classifier-free guidance for this share of the steps (e.g. 0.5 with compile on)
        "base_url": "",  # openai-images: any server speaking OpenAI's images API ("" = OpenAI)
        "api_key": "",  # openai-images: OPENAI_API_KEY
        "size": "",  # openai-images: "" = the model's portrait size (gpt-image-1 1024x1536, dall-e-3 1024x1792)
    },
    "clips": {
        "provider": "kenburns",  # kenburns | ltx | svd
        "model": "",
        "steps": 50,
        "guidance": 3.0,
        "frames": 121,
        "fps": 24,
        "width": 0,  # generation size for a portrait keyframe (landscape swaps); 0 = model default (ltx 512x768, svd 576x1024)
        "height": 0,
        "decode_chunk_size": 8,  # svd
        "offload": False,
        "device": "auto",
        "compile": "off",  # ltx: torch.compile the transformer (off | on | auto = on with CUDA)
        "compile_mode": "default",
        "guidance_cutoff": 1.0,  # ltx: classifier-free guidance for this share of the steps
        "flow_shift": 0.0,  # wan: the flow-matching scheduler's shift (3 for 480p, 5 for 720p); 0 = the model's own
    },
    "pexels": {"api_key": "", "base_url": ""},  # PEXELS_API_KEY; base_url "" = https://api.pexels.com
    "pixabay": {"api_key": "", "base_url": ""},  # PIXABAY_API_KEY; base_url "" = https://pixabay.com
    "vision": {"provider": "heuristic", "model": "", "threshold": 0.5, "max_tries": 2, "device": "auto",
               "max_new_tokens": 96},
    "render": {
        "width": 1080,
        "height": 1920,
        "fps": 30,
        "crossfade": 0.35,
        "preset": "turbo",  # x264: "turbo" = ultrafast + CABAC/8x8dct/deblock (see media/render.py); any x264 preset works
        "crf": 21,
        "threads": 0,
        "loudness": -14.0,
        "true_peak": -1.0,
        "music": "generated",  # "generated" | "none" | path to an audio file
        "music_gain_db": -14.0,
        "duck_ratio": 8.0,
    },
}

SECRET_ENV = {
    ("writer", "api_key"): "OPENAI_API_KEY",
    ("writer", "base_url"): "OPENAI_BASE_URL",
    ("voice", "api_key"): "ELEVENLABS_API_KEY",
    ("keyframes", "api_key"): "OPENAI_API_KEY",
    ("pexels", "api_key"): "PEXELS_API_KEY",
    ("pixabay", "api_key"): "PIXABAY_API_KEY",
}


def is_secret(key: str) -> bool:
    return key.endswith("api_key") or key.endswith("token") or key.endswith("password")


class Config:
    """Nested settings with dotted access: ``cfg.get("writer.provider")``, ``cfg.section("voice")``."""

    def __init__(self, data: dict[str, Any]):
        self._data = data

    # lookup --------------------------------------------------------------
    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self._data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def section(self, name: str) -> dict[str, Any]:
        return dict(self._data.get(name, {}))

    def public_section(self, name: str) -> dict[str, Any]:
        """A section without secrets: what may be hashed, logged and written to the manifest."""
        return {k: v for k, v in self.section(name).items() if not is_secret(k)}

    def secrets(self) -> list[str]:
        out = []
        for sec in self._data.values():
            if isinstance(sec, dict):
                out += [str(v) for k, v in sec.items() if is_secret(k) and v]
        return out

    def redact(self, text: str) -> str:
        """Mask every configured secret inside ``text``."""
        for s in self.secrets():
            if len(s) >= 4:
                text = text.replace(s, mask(s))
        return text

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)

    def with_overrides(self, pairs: list[str]) -> "Config":
        data = copy.deepcopy(self._data)
        for pair in pairs:
            _apply_override(data, pair)
        validate(data)
        return Config(data)


def mask(secret: str) -> str:
    if not secret:
        return "(not set)"
    return f"{secret[:3]}…{secret[-2:]}" if len(secret) > 8 else "****"


X264_NAMES = ("turbo", "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
              "placebo")
#: what each checked key may hold: a tuple of choices, or (low, high) bounds for a number (None = open)
#: provider choices come from the registry's table (storygen.providers.catalog), the one list of backends
RULES: dict[str, Any] = {
    **catalog.choices(),
    "writer.temperature": (0.0, 2.0),
    "writer.max_tokens": (1, 32768),
    "writer.threads": (0, 256),
    "voice.target_lufs": (-40.0, -5.0),
    "voice.pad_start": (0.0, 10.0),
    "voice.pad_end": (0.0, 10.0),
    "voice.length_scale": (0.5, 2.0),
    "captions.style": ("karaoke", "pop", "boxed"),
    "captions.size": (8, 400),
    "captions.position": (0.0, 1.0),
    "captions.max_words": (1, 12),
    "captions.max_chars": (4, 80),
    "script.target_words": (20, 5000),
    "script.min_words": (10, 5000),
    "script.max_words": (10, 5000),
    "script.max_attempts": (1, 20),
    "scenes.min_seconds": (0.5, 60.0),
    "scenes.max_seconds": (0.5, 120.0),
    "keyframes.compile": COMPILE_MODES,
    "keyframes.steps": (1, 500),
    "clips.compile": COMPILE_MODES,
    "vision.threshold": (0.0, 1.0),
    "vision.max_tries": (1, 20),
    "render.width": (16, 8192),
    "render.height": (16, 8192),
    "render.fps": (1, 120),
    "render.crossfade": (0.0, 5.0),
    "render.preset": X264_NAMES,
    "render.crf": (0, 51),
    "render.threads": (0, 256),
    "render.loudness": (-40.0, -5.0),
    "render.true_peak": (-20.0, 0.0),
    "render.duck_ratio": (1.0, 40.0),
}


def validate(data: dict[str, Any]) -> None:
    """Check choices and ranges up front, so a bad value fails in a second, not after minutes of work."""
    import math

    for key, rule in RULES.items():
        sec, name = key.split(".")
        value = data.get(sec, {}).get(name)
        if value is None:
            continue
        if isinstance(rule[0], str):
            if str(value).strip().lower() not in rule:
                raise ConfigError(f"Config key '{key}' is '{value}', which is not one of: {', '.join(rule)}.",
                                  f"use e.g. -c {key}={DEFAULTS[sec][name]}")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"Config key '{key}' wants a number, got '{value}'.", f"use e.g. -c {key}={DEFAULTS[sec][name]}")
        lo, hi = rule
        if math.isnan(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f"Config key '{key}' is {value}, outside {lo}..{hi}.", f"use e.g. -c {key}={DEFAULTS[sec][name]}")


def _coerce(raw: str, like: Any, key: str) -> Any:
    if isinstance(like, bool):
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"Config key '{key}' wants true or false, got '{raw}'.", f"use -c {key}=true")
    if isinstance(like, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"Config key '{key}' wants a whole number, got '{raw}'.", f"use e.g. -c {key}={like}") from None
    if isinstance(like, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"Config key '{key}' wants a number, got '{raw}'.", f"use e.g. -c {key}={like}") from None
    return raw


def _apply_override(data: dict[str, Any], pair: str) -> None:
    if "=" not in pair:
        raise ConfigError(f"Override '{pair}' has no '='.", "write it as -c section.key=value, e.g. -c voice.provider=elevenlabs")
    key, raw = pair.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if len(parts) != 2 or parts[0] not in DEFAULTS:
        raise ConfigError(f"Unknown config key '{key}'.", f"use section.key with a section from: {', '.join(DEFAULTS)}")
    sec, name = parts
    if name not in DEFAULTS[sec]:
        raise ConfigError(f"Unknown config key '{key}'.", f"known keys in [{sec}]: {', '.join(DEFAULTS[sec])}")
    data.setdefault(sec, {})[name] = _coerce(raw, DEFAULTS[sec][name], key)


def _merge_file(data: dict[str, Any], path: Path) -> None:
    try:
        loaded = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Config file '{path}' not found.", "check the --config path.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"Config file '{path}' is not valid TOML: {e}.", "fix the line it names.") from None
    for sec, values in loaded.items():
        if sec not in DEFAULTS or not isinstance(values, dict):
            raise ConfigError(f"Unknown section [{sec}] in {path}.", f"known sections: {', '.join(DEFAULTS)}")
        for k, v in values.items():
            if k not in DEFAULTS[sec]:
                raise ConfigError(f"Unknown key '{sec}.{k}' in {path}.", f"known keys in [{sec}]: {', '.join(DEFAULTS[sec])}")
            like = DEFAULTS[sec][k]
            if isinstance(like, (int, float)) and not isinstance(like, bool) and isinstance(v, (int, float)):
                v = type(like)(v)
            data[sec][k] = v


def load_config(path: str | os.PathLike[str] | None = None, overrides: list[str] | None = None,
                env: dict[str, str] | None = None) -> Config:
    """Defaults, then the TOML file (``path`` or ./storygen.toml if present), then env secrets, then overrides."""
    env = os.environ if env is None else env
    data = copy.deepcopy(DEFAULTS)
    if path is not None:
        _merge_file(data, Path(path))
    elif Path("storygen.toml").is_file():
        _merge_file(data, Path("storygen.toml"))
    for (sec, key), var in SECRET_ENV.items():
        if not data[sec].get(key) and env.get(var):
            data[sec][key] = env[var]
    cfg = Config(data)
    return cfg.with_overrides(overrides or [])
