"""The voice protocol: text in, a WAV file (and word timings where the engine knows them) out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from storygen.models import WordTiming


@dataclass(frozen=True)
class Speech:
    wav: Path  # mono WAV as synthesised (before post-processing)
    sample_rate: int
    words: list[WordTiming] | None  # timings in ``wav``'s time base, one per script word; None = unknown
    model: str = ""
    voice: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Voice(Protocol):
    """Capabilities: ``reads_audio_tags`` - the engine performs inline audio tags like ``[whispers]`` (ElevenLabs v3),
    so the script keeps them; for other voices they are taken out before speaking. ``speaks(settings, language)``
    - whether the voice these settings pick speaks a BCP-47 language (asked before the voice is built)."""

    name: str
    version: str
    wants_gpu: bool  # runs best on a GPU: a scale-out engine sends its stages to a GPU worker
    reads_audio_tags: bool

    @classmethod
    def speaks(cls, settings: dict[str, Any], language: str) -> bool:
        ...

    def synthesize(self, text: str, out_wav: Path, *, narrator_gender: str = "neutral",
                   on_progress: Callable[[float], None] | None = None, language: str = "en") -> Speech:
        ...


#: the registered voice that speaks every language (robotic): what a story in a language the default voice cannot
#: speak falls back to when no voice was chosen
FALLBACK_VOICE = "espeak"
