"""Structured replies: ask for JSON (with a schema where the backend supports it), validate it, and on a
malformed reply ask again with the validation error fed back, at most ``max_retries`` times."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from storygen.errors import ProviderError
from storygen.providers.writer.base import Completion, Writer
from storygen.writing.prompts import render

T = TypeVar("T")


def extract_json(text: str) -> Any:
    """Parse the JSON object in a reply, tolerating code fences and chatter around it."""
    s = text.strip()
    s = re.sub(r"^```(?:json)?\s*|\s*```$", "", s)
    try:
        return json.loads(s)
    except json.JSONDecodeError as first:
        start = s.find("{")
        end = s.rfind("}")
        if start != -1 and end > start:
            try:
                return json.loads(s[start:end + 1])
            except json.JSONDecodeError:
                pass
        raise ValueError(f"not valid JSON ({first.msg} at line {first.lineno} column {first.colno})") from None


def describe_error(e: Exception) -> str:
    if isinstance(e, ValidationError):
        parts = []
        for err in e.errors()[:5]:
            loc = ".".join(str(x) for x in err["loc"]) or "(root)"
            parts.append(f"{loc}: {err['msg']}")
        return "; ".join(parts)
    return str(e)


def ask_json(
    writer: Writer,
    messages: list[dict[str, str]],
    parse: Callable[[Any], T],
    *,
    schema: dict[str, Any] | None,
    max_retries: int,
    max_tokens: int,
    cfg: Any = None,
    what: str = "reply",
    temperature: float | None = None,
) -> tuple[T, list[Completion]]:
    """Run the chat, parse + validate with ``parse``; retry with the error fed back. Raises ProviderError."""
    comps: list[Completion] = []
    msgs = list(messages)
    last_error = ""
    for _ in range(max(0, int(max_retries)) + 1):
        c = writer.complete(msgs, max_tokens=max_tokens, json_schema=schema, temperature=temperature)
        comps.append(c)
        try:
            return parse(extract_json(c.text)), comps
        except (ValueError, TypeError, KeyError, ValidationError) as e:
            last_error = describe_error(e)
            if c.extra.get("finish_reason") == "length":
                last_error += " (the reply was cut off: keep it shorter)"
            msgs = msgs + [
                {"role": "assistant", "content": c.text[:4000]},
                {"role": "user", "content": render("json_fix", cfg, error=last_error)},
            ]
    raise ProviderError(
        f"The writer ({getattr(writer, 'version', '?')}) gave no valid {what} after {len(comps)} tries: {last_error[:300]}",
        "try again, raise writer.max_retries, or use a stronger model (writer.provider / writer.model).",
    )


def ask_json_many(
    writer: Any,
    conversations: list[list[dict[str, str]]],
    parse: Callable[[Any], T],
    *,
    schema: dict[str, Any] | None,
    max_retries: int,
    max_tokens: int,
    cfg: Any = None,
    what: str = "reply",
    temperature: float | None = None,
) -> tuple[list[T], list[Completion]]:
    """``ask_json`` for several conversations decoded together (``writer.complete_many``, one batch per round).

    Each round re-asks only the conversations whose reply did not validate, with the error fed back."""
    comps: list[Completion] = []
    msgs = [list(m) for m in conversations]
    results: list[Any] = [None] * len(msgs)
    errors = [""] * len(msgs)
    pending = list(range(len(msgs)))
    for _ in range(max(0, int(max_retries)) + 1):
        replies = writer.complete_many([msgs[i] for i in pending], max_tokens=max_tokens, json_schema=schema,
                                       temperature=temperature)
        comps.extend(replies)
        still = []
        for i, c in zip(pending, replies):
            try:
                results[i] = parse(extract_json(c.text))
            except (ValueError, TypeError, KeyError, ValidationError) as e:
                errors[i] = describe_error(e) + (" (the reply was cut off: keep it shorter)"
                                                 if c.extra.get("finish_reason") == "length" else "")
                msgs[i] = msgs[i] + [{"role": "assistant", "content": c.text[:4000]},
                                     {"role": "user", "content": render("json_fix", cfg, error=errors[i])}]
                still.append(i)
        pending = still
        if not pending:
            return results, comps
    raise ProviderError(
        f"The writer ({getattr(writer, 'version', '?')}) gave no valid {what} for {len(pending)} of {len(msgs)} "
        f"prompts: {errors[pending[0]][:300]}",
        "try again, raise writer.max_retries, or use a stronger model (writer.provider / writer.model).",
    )
