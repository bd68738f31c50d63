"""espeak-ng speech with its true word start times (used by the alignment benchmark and tests).

The ctypes binding lives in ``storygen.captions.dtw`` (one espeak-ng initialisation per process, with
phoneme events on); this wrapper keeps the benchmark's simple interface.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from storygen.captions.dtw import EVENT_WORD, espeak_synth


def synth(text: str, voice: str = "en-us", rate_wpm: int = 165) -> tuple[np.ndarray, int, list[tuple[int, int, float]]]:
    """(float32 audio, sample rate, [(char start, 0, start seconds)]) for each WORD event espeak gave."""
    audio, sr, events = espeak_synth(text, voice, rate_wpm)
    return audio, sr, [(cpos, 0, t) for typ, cpos, t, _ph in events if typ == EVENT_WORD]


def write(path: Path, text: str, **kw) -> tuple[Path, list[tuple[int, int, float]]]:
    import soundfile as sf

    audio, sr, events = synth(text, **kw)
    sf.write(str(path), audio, sr, subtype="PCM_16")
    return path, events
