"""Chat Completions through the official ``openai`` client: OpenAI itself, or any compatible server
(Ollama, vLLM, LM Studio, llama.cpp's server) via ``writer.base_url``.

- Defaults are the spec's: ``gpt-4o-mini``, temperature 0.9, max_tokens 800.
- Structured output uses ``response_format`` json_schema (strict); a server that rejects it with 400 gets
  the schema in the prompt instead (JSON in plain text), and that is remembered for later calls.
- 429 and 5xx are retried by the client with exponential backoff, honouring ``Retry-After`` (up to two
  minutes); ``writer.max_retries`` retries, ``writer.timeout`` seconds per request.
- The API key is never logged, echoed or put into an error message.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlparse

from storygen.errors import ProviderError
from storygen.providers._openai import OPENAI_BASE_URL, _is_default_openai, _message, api_key, scrub
from storygen.providers.writer.base import Completion, one_by_one

DEFAULT_MODEL = "gpt-4o-mini"
# USD per 1M tokens (input, output); dated snapshots match by prefix
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
}
_STRICT_DROP = ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "pattern", "format", "default", "title")


def price_for(model: str) -> tuple[float, float] | None:
    for name, price in PRICES.items():
        if model == name or model.startswith(name + "-20"):
            return price
    return None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    p = price_for(model)
    if p is None:
        return None
    return round(prompt_tokens * p[0] / 1e6 + completion_tokens * p[1] / 1e6, 8)


def strict_schema(schema: Any) -> Any:
    """A JSON schema that OpenAI's strict structured outputs accept: every property required, no extra keys,
    and no validation keywords it does not support (the reply is validated by pydantic anyway)."""
    if isinstance(schema, list):
        return [strict_schema(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict_schema(v) for k, v in schema.items() if k not in _STRICT_DROP}
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if out.get("type") == "object" and "properties" in out:
        out["properties"] = {k: strict_schema(v) for k, v in schema["properties"].items()}
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


class OpenAIWriter:
    wants_gpu = False
    name = "openai"
    batched = False
    length_bias = 1.0

    @classmethod
    def small(cls, settings: dict[str, Any]) -> bool:
        return False

    @staticmethod
    def _api_key(settings: dict[str, Any]) -> str:
        return api_key(settings, ("The openai writer has no API key: OPENAI_API_KEY is not set.",
                                  "set OPENAI_API_KEY, or set writer.base_url for a local server (Ollama, vLLM, LM Studio, llama.cpp)."))

    @classmethod
    def check_ready(cls, settings: dict[str, Any], cfg: Any = None) -> None:
        """Before a story starts: the key (or a local server), so a missing one is not found minutes in."""
        cls._api_key(settings)

    def __init__(self, settings: dict[str, Any], cfg: Any = None):
        try:
            import openai
        except ImportError as e:
            raise ProviderError("The openai writer needs the 'openai' package.", "pip install 'storygen[cloud]'") from e
        self._openai = openai
        self.model = str(settings["model"]).strip() or DEFAULT_MODEL
        self.base_url = str(settings["base_url"]).strip()
        self._key = self._api_key(settings)
        self.temperature = float(settings["temperature"])
        self.max_tokens = int(settings["max_tokens"])
        self.timeout = float(settings["timeout"])
        self.max_retries = max(0, int(settings["max_retries"]))
        self.seed = settings["seed"]
        host = urlparse(self.base_url).netloc if self.base_url and not _is_default_openai(self.base_url) else ""
        self.version = self.model + (f"@{host}" if host else "")
        self._schema_ok = True  # flips to False when the server rejects response_format json_schema
        self._client = openai.OpenAI(
            api_key=self._key, base_url=self.base_url or None, timeout=self.timeout, max_retries=self.max_retries,
        )

    # ------------------------------------------------------------------ helpers
    def _scrub(self, text: Any) -> str:
        return scrub(text, self._key)

    def _error(self, e: Exception) -> ProviderError:
        o = self._openai
        where = self.base_url or OPENAI_BASE_URL
        if isinstance(e, o.APITimeoutError):
            return ProviderError(f"The writer at {where} did not answer within {self.timeout:g} s.",
                                 "raise writer.timeout, or check that the server is not overloaded.")
        if isinstance(e, o.APIConnectionError):
            return ProviderError(f"Cannot reach the writer at {where}.", "check writer.base_url and your network.")
        if isinstance(e, o.AuthenticationError):
            return ProviderError(f"{where} rejected the API key (401).", "check OPENAI_API_KEY (or writer.api_key).")
        if isinstance(e, o.PermissionDeniedError):
            return ProviderError(f"{where} refused access to model '{self.model}' (403).", "check the key's project and model access.")
        if isinstance(e, o.NotFoundError):
            return ProviderError(f"{where} does not know model '{self.model}' (404).", "set writer.model to a model the server serves.")
        if isinstance(e, o.RateLimitError):
            return ProviderError(f"{where} is rate limiting (429) after {self.max_retries} retries: {self._scrub(_message(e))}",
                                 "wait and retry, raise writer.max_retries, or check your quota.")
        if isinstance(e, o.APIStatusError):
            return ProviderError(f"The writer at {where} failed with HTTP {e.status_code}: {self._scrub(_message(e))}",
                                 "retry later; if it persists, check writer.base_url and writer.model.")
        return ProviderError(f"The writer call failed: {self._scrub(e)}", "retry; check writer.base_url and writer.model.")

    # ------------------------------------------------------------------ the protocol
    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        o = self._openai
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "temperature": float(self.temperature if temperature is None else temperature),
            "max_tokens": int(max_tokens or self.max_tokens),
        }
        if self.seed is not None and not _is_default_openai(self.base_url):
            kwargs["seed"] = int(self.seed)  # local servers honour it; OpenAI deprecated it
        mode = "text"
        if json_schema is not None:
            if self._schema_ok:
                mode = "json_schema"
                kwargs["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "reply", "schema": strict_schema(json_schema), "strict": True},
                }
            else:
                mode = "json_in_text"
                kwargs["messages"] = _with_schema_hint(kwargs["messages"], json_schema)
        t0 = time.perf_counter()
        try:
            try:
                res = self._client.chat.completions.create(**kwargs)
            except o.BadRequestError:
                if mode != "json_schema":
                    raise
                # the server does not do structured outputs: ask for JSON in the text instead, from now on
                self._schema_ok = False
                mode = "json_in_text"
                kwargs.pop("response_format")
                kwargs["messages"] = _with_schema_hint(kwargs["messages"], json_schema)
                res = self._client.chat.completions.create(**kwargs)
        except o.OpenAIError as e:
            raise self._error(e) from None
        seconds = time.perf_counter() - t0
        if not getattr(res, "choices", None):
            raise ProviderError(f"The writer at {self.base_url or OPENAI_BASE_URL} sent a reply without choices.",
                                "check that writer.base_url speaks the Chat Completions API.")
        choice = res.choices[0]
        msg = choice.message
        refusal = getattr(msg, "refusal", None)
        if refusal:
            raise ProviderError(f"The model refused: {self._scrub(refusal)}",
                                "rephrase the idea (the model's safety rules declined it), or use another writer.")
        usage = getattr(res, "usage", None)
        pt = int(getattr(usage, "prompt_tokens", 0) or 0)
        ct = int(getattr(usage, "completion_tokens", 0) or 0)
        return Completion(
            text=msg.content or "",
            model=getattr(res, "model", None) or self.model,
            prompt_tokens=pt,
            completion_tokens=ct,
            seconds=seconds,
            cost_usd=cost_usd(self.model, pt, ct),
            extra={"finish_reason": choice.finish_reason, "mode": mode,
                   "tokens_per_s": round(ct / seconds, 2) if seconds > 0 else 0.0},
        )

    def complete_many(self, conversations: list[list[dict[str, str]]], **kw: Any) -> list[Completion]:
        return one_by_one(self, conversations, **kw)


def _with_schema_hint(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    hint = "Reply with only a JSON object (no code fences) matching this JSON schema: " + json.dumps(schema, separators=(",", ":"))
    msgs = [dict(m) for m in messages]
    if msgs and msgs[0].get("role") == "system":
        msgs[0]["content"] = msgs[0]["content"] + "\n" + hint
    else:
        msgs.insert(0, {"role": "system", "content": hint})
    return msgs
