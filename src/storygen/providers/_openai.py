"""What the OpenAI-client backends share (the writer, the images provider): the default address and how to read
an API error's message."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from storygen.config import mask

OPENAI_BASE_URL = "https://api.openai.com/v1"


def _is_default_openai(base_url: str) -> bool:
    return not base_url or urlparse(base_url).hostname in ("api.openai.com",)


def api_key(settings: dict[str, Any], missing: tuple[str, str]) -> str:
    """The configured key; "not-needed" for a local server (they accept any key); without either, a ProviderError
    with ``missing`` (problem, fix). Called before a story starts (``check_ready``) and when the client is built."""
    from storygen.errors import ProviderError

    key = str(settings.get("api_key") or "").strip()
    if key:
        return key
    if _is_default_openai(str(settings.get("base_url") or "").strip()):
        raise ProviderError(*missing)
    return "not-needed"


def _message(e: Any) -> str:
    """The message inside an openai.APIError (its JSON body's error.message), else its text."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(getattr(e, "message", "") or e)


def scrub(text: Any, key: str | None) -> str:
    """An error text for a message: one line, at most 300 characters, the API key masked."""
    s = " ".join(str(text).split())
    if key and len(key) >= 4:
        s = s.replace(key, mask(key))
    return s[:300]
