"""The ASR protocol: audio in, recognised words with timestamps out."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from storygen.models import HeardWord


__all__ = ["ASR", "HeardWord"]


@runtime_checkable
class ASR(Protocol):
    name: str
    version: str
    wants_gpu: bool  # runs best on a GPU: a scale-out engine sends its stages to a GPU worker

    def transcribe(self, audio: Path, *, language: str = "en", prompt: str | None = None) -> list[HeardWord]:
        """``prompt``: the text the audio is expected to say (the script), a hint for names and rare words.
        A provider that cannot take a hint ignores it."""
        ...
