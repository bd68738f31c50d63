"""The writer protocol: chat messages in, text out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost_usd: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Writer(Protocol):
    name: str
    version: str  # model id / file hash: recorded in the manifest and part of the stage key

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        """Run one chat completion. ``json_schema`` asks for structured output where the backend supports it."""
        ...
