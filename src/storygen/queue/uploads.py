"""What a request may carry: file uploads (kind, size, type) and config keys (no paths, no secrets)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from storygen.config import is_secret
from storygen.errors import InputError
from storygen.queue.errors import Refused

MB = 1024 * 1024
LIMITS = {"script": 200 * 1024, "voice": 40 * MB, "images": 15 * MB}
MAX_IMAGES = 30
AUDIO_EXTS = (".wav", ".mp3", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".aac")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")


class TooLarge(InputError):
    """An upload over its size limit (HTTP 413)."""


class Unsupported(InputError):
    """An upload of the wrong type (HTTP 415)."""


@dataclass
class Upload:
    filename: str
    data: bytes
    content_type: str = ""


def _safe_name(name: str, exts: tuple[str, ...], fallback: str) -> str:
    """A plain file name for the upload inside the story (never the client's path)."""
    base = re.split(r"[\\/]", name or "")[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:60]
    ext = next((e for e in exts if stem.lower().endswith(e)), None)
    return stem if stem and ext else fallback


def _audio_magic(data: bytes) -> bool:
    head = data[:12]
    return (head[:4] == b"RIFF" and head[8:12] == b"WAVE") or head[:3] == b"ID3" or head[:4] in (b"OggS", b"fLaC") \
        or head[4:8] == b"ftyp" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _image_magic(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n" or data[:3] == b"\xff\xd8\xff" or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def check_upload(kind: str, up: Upload, index: int = 0) -> str:
    """The file name to store ``up`` under; TooLarge or Unsupported with a one-line message."""
    limit = LIMITS[kind]
    label = {"script": "The script", "voice": "The voice file", "images": f"Image {index + 1}"}[kind]
    if re.search(r"[\\/\x00]|\.\.", up.filename or ""):
        raise InputError(f"{label}'s name '{(up.filename or '')[:80]}' is a path.", "send the file under its plain name.")
    if len(up.data) > limit:
        raise TooLarge(f"{label} is {len(up.data) / MB:.1f} MB, over the {limit / MB:.1f} MB limit.",
                       "send a smaller file (a shorter voice-over, a compressed JPEG).")
    if kind == "script":
        try:
            text = up.data.decode("utf-8")
        except UnicodeDecodeError:
            raise Unsupported(f"{label} is not UTF-8 text.", "send a plain .txt file.") from None
        if "\x00" in text:
            raise Unsupported(f"{label} is not text.", "send a plain .txt file.")
        return "script.txt"
    if kind == "voice":
        if not _audio_magic(up.data):
            raise Unsupported(f"{label} '{up.filename}' is not audio.", f"send one of: {', '.join(AUDIO_EXTS)}.")
        ext = next((e for e in AUDIO_EXTS if (up.filename or "").lower().endswith(e)), ".wav")
        return _safe_name(up.filename, AUDIO_EXTS, f"voice{ext}")
    if not _image_magic(up.data):
        raise Unsupported(f"{label} '{up.filename}' is not a PNG, JPEG or WebP image.", "send pictures only.")
    ext = ".png" if up.data[:4] == b"\x89PNG" else ".webp" if up.data[:4] == b"RIFF" else ".jpg"
    return f"{index + 1:03d}_" + _safe_name(up.filename, IMAGE_EXTS, f"image{ext}")


# ---------------------------------------------------------------- config from a request
#: keys that name a file, a folder or a URL: only with `serve --allow-paths`
_PATH_KEY = re.compile(r"^(?:[a-z_]+\.(?:model|base_url|vae|lora|refiner|asr_model|align_model|prompts_dir)"
                       r"|render\.music|voice\.voice)$")
_SAFE_MUSIC = ("generated", "none")


def check_config(config: Any, allow_paths: bool) -> dict[str, Any]:
    """A request's config overrides: a flat object of scalars, no secrets, no paths (unless allowed)."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise InputError("'config' must be an object of \"section.key\": value pairs.",
                         'send e.g. {"config": {"voice.provider": "piper"}}')
    out: dict[str, Any] = {}
    for key, value in config.items():
        if not isinstance(key, str) or len(key) > 80:
            raise InputError(f"Config key '{str(key)[:80]}' is not a section.key name.", 'use e.g. "voice.provider".')
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise InputError(f"Config key '{key}' must be a string, number or true/false.", f"send a plain value for {key}.")
        if is_secret(key):
            raise Refused(f"Config key '{key}' is a secret and cannot be sent in a request.",
                          "set it in the server's environment (e.g. OPENAI_API_KEY) before starting it.")
        text = str(value) if value is not None else ""
        names_path = _PATH_KEY.match(key) and not (key == "render.music" and text in _SAFE_MUSIC) \
            and not (key == "voice.voice" and not re.search(r"[\\/]|\.onnx$", text)) and text != ""
        if not allow_paths and (names_path or re.search(r"(^|[\\/])\.\.([\\/]|$)|^[~/]", text)):
            raise Refused(f"Config key '{key}' names a file or URL, which this server does not accept from requests.",
                          "start the server with `storygen serve --allow-paths`, or leave the key out.")
        if isinstance(value, str) and len(value) > 500:
            raise InputError(f"Config key '{key}' is too long.", "send a shorter value.")
        out[key] = value
    return out

