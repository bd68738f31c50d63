"""Keyframes from an image API (``keyframes.provider=openai-images``) through the official ``openai`` client's
``images.generate``: OpenAI itself, or any server that speaks that wire format (a local stable-diffusion server,
LocalAI, ...) via ``keyframes.base_url`` - keyframes without a local GPU and without diffusers.

- ``gpt-image-1`` by default (``keyframes.model``; ``dall-e-3`` accepted), at a portrait size: 1024x1536 for
  gpt-image-1, 1024x1792 for dall-e-3 (``keyframes.size`` overrides). The stage fits the result to 1080x1920.
- Key handling, retries and errors as the writer's: ``OPENAI_API_KEY`` or ``keyframes.api_key`` (a local server
  needs none), 429/5xx retried by the client with backoff honouring ``Retry-After``; the key never reaches a
  message. The cost of each image is recorded (from the reply's token usage for gpt-image-1, the list price for
  dall-e-3) in ``image.info["storygen_choice"]`` and summed in ``total_cost_usd``.
"""

from __future__ import annotations

import base64
import io
import re
import time
from typing import Any
from urllib.parse import urlparse

from PIL import Image, ImageOps

from storygen.config import DEFAULTS
from storygen.errors import ProviderError
from storygen.models import Scene, StyleBible
from storygen.providers._openai import OPENAI_BASE_URL, _is_default_openai, _message, api_key, scrub

DEFAULT_MODEL = "gpt-image-1"
PORTRAIT = {"gpt-image-1": "1024x1536", "dall-e-3": "1024x1792", "dall-e-2": "1024x1024"}
# gpt-image-1, USD per 1M tokens: text input, image output
TOKEN_PRICES = {"gpt-image-1": (5.0, 40.0)}
# dall-e-3, USD per image at a portrait size: standard, hd
IMAGE_PRICES = {"dall-e-3": {"standard": 0.08, "hd": 0.12}}
TIMEOUT_S = 120.0
MAX_RETRIES = 3
MAX_PROMPT = 4000  # dall-e-3's limit; gpt-image-1 takes more, but a keyframe prompt never needs it


def cost_usd(model: str, usage: Any, quality: str = "standard") -> float | None:
    if model in TOKEN_PRICES and usage is not None:
        pin, pout = TOKEN_PRICES[model]
        it = int(getattr(usage, "input_tokens", 0) or 0)
        ot = int(getattr(usage, "output_tokens", 0) or 0)
        return round(it * pin / 1e6 + ot * pout / 1e6, 6)
    if model in IMAGE_PRICES:
        return IMAGE_PRICES[model].get(quality, IMAGE_PRICES[model]["standard"])
    return None


class OpenAIImages:
    wants_gpu = False
    name = "openai-images"
    draws_at_output_size = False  # draws at the model's portrait size; the keyframes stage fits it to 1080x1920

    @staticmethod
    def _api_key(settings: dict[str, Any]) -> str:
        return api_key(settings, ("The openai-images keyframes have no API key: OPENAI_API_KEY is not set.",
                                  "set OPENAI_API_KEY (or keyframes.api_key), or keyframes.base_url for a local server."))

    @classmethod
    def check_ready(cls, settings: dict[str, Any], cfg: Any = None) -> None:
        """Before a story starts: the key (or a local server)."""
        cls._api_key(settings)

    def __init__(self, settings: dict[str, Any], cfg: Any = None):
        try:
            import openai
        except ImportError as e:
            raise ProviderError("The openai-images keyframes need the 'openai' package.", "pip install 'storygen[cloud]'") from e
        self._openai = openai
        self.base_url = str(settings.get("base_url") or "").strip()
        model = str(settings.get("model") or "").strip()
        if not model or model == DEFAULTS["keyframes"]["model"]:  # the SDXL default means "not chosen"
            model = DEFAULT_MODEL
        self.model = model
        size = str(settings.get("size") or "").strip() or PORTRAIT.get(model, PORTRAIT[DEFAULT_MODEL])
        if not re.fullmatch(r"\d{2,5}x\d{2,5}", size):
            raise ProviderError(f"keyframes.size is '{size}', not WIDTHxHEIGHT.", "use e.g. -c keyframes.size=1024x1536")
        self.size = size
        self._key = key = self._api_key(settings)
        host = urlparse(self.base_url).netloc if self.base_url and not _is_default_openai(self.base_url) else ""
        self.version = f"{self.model}@{self.size}" + (f"@{host}" if host else "")
        self.total_cost_usd = 0.0
        self.last: dict[str, Any] = {}
        self._client = openai.OpenAI(api_key=key, base_url=self.base_url or None, timeout=TIMEOUT_S,
                                     max_retries=MAX_RETRIES)

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ errors
    def _scrub(self, text: Any) -> str:
        return scrub(text, self._key)

    def _error(self, e: Exception) -> ProviderError:
        o = self._openai
        where = self.base_url or OPENAI_BASE_URL
        if isinstance(e, o.APITimeoutError):
            return ProviderError(f"The image API at {where} did not answer within {TIMEOUT_S:g} s.",
                                 "retry later, or check that the server is not overloaded.")
        if isinstance(e, o.APIConnectionError):
            return ProviderError(f"Cannot reach the image API at {where}.", "check keyframes.base_url and your network.")
        if isinstance(e, (o.AuthenticationError, o.PermissionDeniedError)):
            return ProviderError(f"{where} rejected the key ({e.status_code}): key rejected.",
                                 "check OPENAI_API_KEY (or keyframes.api_key) and its access to "
                                 f"'{self.model}'.")
        if isinstance(e, o.NotFoundError):
            return ProviderError(f"{where} does not serve image model '{self.model}' (404).",
                                 "set keyframes.model to a model the server serves (gpt-image-1, dall-e-3).")
        if isinstance(e, o.RateLimitError):
            return ProviderError(f"{where} is rate limiting (429) after {MAX_RETRIES} retries: {self._scrub(_message(e))}",
                                 "wait and run the same command again (finished keyframes are kept), or check your quota.")
        if isinstance(e, o.BadRequestError):
            return ProviderError(f"The image API refused the request (400): {self._scrub(_message(e))}",
                                 "check keyframes.model and keyframes.size; a safety refusal needs a different scene prompt.")
        if isinstance(e, o.APIStatusError):
            return ProviderError(f"The image API at {where} failed with HTTP {e.status_code}: {self._scrub(_message(e))}",
                                 "retry later; if it persists, check keyframes.base_url and keyframes.model.")
        return ProviderError(f"The image API call failed: {self._scrub(e)}", "retry; check keyframes.base_url.")

    # ------------------------------------------------------------------ the protocol
    def generate(self, scene: Scene, style: StyleBible, *, width: int, height: int, seed: int) -> Image.Image:
        o = self._openai
        prompt = " ".join(scene.prompt.split())[:MAX_PROMPT]
        kwargs: dict[str, Any] = {"model": self.model, "prompt": prompt, "n": 1, "size": self.size}
        if self.model.startswith("dall-e"):
            kwargs["response_format"] = "b64_json"  # gpt-image-1 always answers b64_json and rejects this field
        if not _is_default_openai(self.base_url):
            kwargs["extra_body"] = {"seed": int(seed)}  # local servers honour it; OpenAI has no seed
        t0 = time.perf_counter()
        try:
            res = self._client.images.generate(**kwargs)
        except o.OpenAIError as e:
            raise self._error(e) from None
        seconds = time.perf_counter() - t0
        data = list(getattr(res, "data", None) or [])
        if not data:
            raise ProviderError(f"The image API at {self.base_url or OPENAI_BASE_URL} sent no image.",
                                "check that keyframes.base_url speaks the OpenAI images API.")
        item = data[0]
        raw = self._image_bytes(item)
        try:
            image = Image.open(io.BytesIO(raw))
            image.load()
        except Exception:  # noqa: BLE001 - PIL raises many kinds
            raise ProviderError("The image API sent data that is not an image.",
                                "check that keyframes.base_url speaks the OpenAI images API.") from None
        usage = getattr(res, "usage", None)
        cost = cost_usd(self.model, usage)
        self.total_cost_usd = round(self.total_cost_usd + (cost or 0.0), 6)
        record = {"provider": self.name, "model": self.model, "size": self.size, "seconds": round(seconds, 3),
                  "cost_usd": cost, "revised_prompt": getattr(item, "revised_prompt", None) or "",
                  "usage": usage.model_dump() if hasattr(usage, "model_dump") else None,
                  "drawn": list(image.size)}
        self.last = record
        out = ImageOps.fit(image.convert("RGB"), (int(width), int(height)), Image.Resampling.LANCZOS)
        out.info["storygen_choice"] = record
        return out

    def _image_bytes(self, item: Any) -> bytes:
        b64 = getattr(item, "b64_json", None)
        if b64:
            try:
                return base64.b64decode(b64, validate=False)
            except (ValueError, TypeError):
                raise ProviderError("The image API sent an image that is not valid base64.",
                                    "check that keyframes.base_url speaks the OpenAI images API.") from None
        url = getattr(item, "url", None)
        if url:
            import httpx

            try:
                r = httpx.get(url, timeout=TIMEOUT_S, follow_redirects=True)
                r.raise_for_status()
            except httpx.HTTPError as e:
                raise ProviderError(f"Could not fetch the generated image ({type(e).__name__}).",
                                    "retry; the image URL the API gave may have expired.") from None
            return r.content
        raise ProviderError("The image API's reply holds neither b64_json nor url.",
                            "check that keyframes.base_url speaks the OpenAI images API.")
