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
    """Capabilities (stages ask these, never the provider's name):

    - ``batched``: ``complete_many`` decodes several conversations as one batch (else it runs them one by one);
    - ``length_bias``: how much longer than wanted to ask for (small models write short);
    - ``small(settings)``: the model is too small to storyboard or rewrite well, so stages skip those by default.
      A class method, so a stage's settings can be decided without loading the model.
    """

    name: str
    version: str  # model id / file hash: recorded in the manifest and part of the stage key
    wants_gpu: bool  # runs best on a GPU: a scale-out engine sends its stages to a GPU worker
    batched: bool
    length_bias: float

    @classmethod
    def small(cls, settings: dict[str, Any]) -> bool:
        ...

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

    def complete_many(self, conversations: list[list[dict[str, str]]], **kw: Any) -> list[Completion]:
        """One completion per conversation: as one batch where ``batched``, else one call each (``one_by_one``)."""
        ...


def one_by_one(writer: Any, conversations: list[list[dict[str, str]]], **kw: Any) -> list[Completion]:
    """``complete_many`` for a writer that decodes one conversation at a time."""
    return [writer.complete(msgs, **kw) for msgs in conversations]
