"""The ASR protocol: audio in, recognised words with timestamps out."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Protocol, runtime_checkable


class HeardWord(NamedTuple):
    word: str
    start: float
    end: float
    probability: float = 1.0


@runtime_checkable
class ASR(Protocol):
    name: str
    version: str

    def transcribe(self, audio: Path, *, language: str = "en", prompt: str | None = None) -> list[HeardWord]:
        ...
