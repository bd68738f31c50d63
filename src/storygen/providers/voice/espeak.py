"""espeak-ng: the offline voice for every language espeak has (robotic, but it speaks them all). Word timings
come from espeak's own WORD events (``audio_position``) in the same synthesis that made the audio.

Used when no better voice is configured for a story's language (the voice stage falls back to it from the
default English Piper voice, with a warning), or chosen with ``voice.provider = espeak``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from storygen.config import DEFAULTS, Config
from storygen.errors import ConfigError, InputError, ProviderError
from storygen.models import WordTiming
from storygen.providers.voice.base import Speech
from storygen.text.language import LANGUAGES, base, espeak_voice, speakable_words
from storygen.text.words import script_words
from storygen.workspace import atomic_path

RATE_WPM = 165  # espeak's words per minute at length_scale 1.0
_VARIANTS = {"female": "+f3", "male": "+m3", "neutral": ""}
ROBOTIC = "espeak-ng is robotic: fine for drafts and tests; configure a Piper voice or ElevenLabs for a real narration."


def _data_path() -> Path | None:
    try:
        import espeakng_loader
    except ImportError:
        return None
    return Path(espeakng_loader.get_data_path())


def _has_dictionary(voice: str) -> bool:
    data = _data_path()
    return data is not None and (data / f"{voice.split('-')[0].split('+')[0]}_dict").is_file()


class EspeakVoice:
    wants_gpu = False
    name = "espeak"
    reads_audio_tags = False  # it would read "[whispers]" aloud

    @classmethod
    def speaks(cls, settings: dict[str, Any], language: str) -> bool:
        """espeak-ng speaks every language storygen knows that it has a dictionary for."""
        return base(language) in LANGUAGES and _has_dictionary(espeak_voice(language))

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        if _data_path() is None:
            raise ProviderError("The espeak voice needs espeak-ng.", "pip install espeakng-loader==0.2.4")
        from importlib.metadata import PackageNotFoundError, version

        try:
            self.version = f"espeakng-loader {version('espeakng-loader')}"
        except PackageNotFoundError:  # pragma: no cover
            self.version = "unknown"
        self.settings = {**DEFAULTS["voice"], **settings}
        self.length_scale = float(self.settings["length_scale"] or 1.0)
        if not 0.3 <= self.length_scale <= 3.0:
            raise ConfigError(f"voice.length_scale {self.length_scale} is out of range.",
                              "use a value between 0.5 (fast) and 2.0 (slow).")

    def synthesize(self, text: str, out_wav: Path, *, narrator_gender: str = "neutral", on_progress=None,
                   language: str = "en") -> Speech:
        from storygen.captions.dtw import espeak_reference

        words = script_words(text)
        if not words:
            raise InputError("The script has no words to speak.", "write a script with at least one word.")
        if not self.speaks(self.settings, language):
            raise InputError(f"espeak-ng has no voice for '{language}'.",
                             "configure voice.provider=elevenlabs or a Piper voice (voice.voice) for this language.")
        spoken = speakable_words(words, language)  # Japanese kanji in kana (or a clear error)
        voice = str(self.settings["voice"] or "").strip() or espeak_voice(language) + _VARIANTS.get(narrator_gender, "")
        try:
            ref = espeak_reference(spoken, voice=voice, rate_wpm=int(round(RATE_WPM / self.length_scale)))
        except RuntimeError as e:
            raise ProviderError(f"espeak-ng could not read the script ({e}).", "check the script text.") from e
        pcm = ref.audio
        if pcm.size == 0 or float(np.max(np.abs(pcm))) < 1e-4:
            raise ProviderError("espeak-ng produced silence.", f"check the script text and voice '{voice}'.")
        import soundfile as sf

        with atomic_path(Path(out_wav)) as tmp:
            sf.write(str(tmp), pcm, ref.sample_rate, subtype="PCM_16", format="WAV")
        timings = [WordTiming(word=w, start=float(s), end=float(e)) for w, s, e in zip(words, ref.starts, ref.ends)]
        if on_progress:
            on_progress(1.0)
        return Speech(wav=Path(out_wav), sample_rate=ref.sample_rate, words=timings, model=f"espeak-ng:{voice}",
                      voice=voice, extra={"timing_source": "espeak-ng word events", "voice_note": ROBOTIC,
                                          "language": language})
