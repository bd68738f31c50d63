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
    **kw: Any,
) -> tuple[T, list[Completion]]:
    """Run the chat, parse + validate with ``parse``; retry with the error fed back. Raises ProviderError.

    Keywords as ``ask_json_many``: schema, max_retries, max_tokens, cfg, what, temperature."""
    results, comps = ask_json_many(writer, [messages], parse, **kw)
    return results[0], comps


def _complete_many(writer: Any, conversations: list[list[dict[str, str]]], **kw: Any) -> list[Completion]:
    """One batch where the writer decodes batches (its ``batched`` capability), else one call per conversation."""
    if len(conversations) > 1 and writer.batched:
        return list(writer.complete_many(conversations, **kw))
    return [writer.complete(c, **kw) for c in conversations]


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
    """Parse + validate each conversation's reply with ``parse``, retrying with the error fed back.

    The conversations go to the writer together (one batch per round where it decodes batches), and each
    round re-asks only those whose reply did not validate. Raises ProviderError."""
    comps: list[Completion] = []
    msgs = [list(m) for m in conversations]
    results: list[Any] = [None] * len(msgs)
    errors = [""] * len(msgs)
    pending = list(range(len(msgs)))
    for _ in range(max(0, int(max_retries)) + 1):
        replies = _complete_many(writer, [msgs[i] for i in pending], max_tokens=max_tokens, json_schema=schema,
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
    where = f"after {len(comps)} tries" if len(msgs) == 1 else f"for {len(pending)} of {len(msgs)} prompts"
    raise ProviderError(
        f"The writer ({getattr(writer, 'version', '?')}) gave no valid {what} {where}: {errors[pending[0]][:300]}",
        "try again, raise writer.max_retries, or use a stronger model (writer.provider / writer.model).",
    )
