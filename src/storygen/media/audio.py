"""Narration post-processing: decode, trim, shorten long pauses, pad and loudness-normalise.

Loudness (measuring, normalising, limiting, what counts as a silent track) is ``media.loudness``.

Every edit is a cut in time, so word timings go through the same piecewise-linear time map as the
samples: captions stay on the words whatever the trimming did. All processing is vectorised numpy.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from storygen.config import DEFAULTS
from storygen.errors import InputError, MediaError
from storygen.media import loudness
from storygen.media.ffmpeg import run_ffmpeg
from storygen.models import WordTiming
from storygen.workspace import atomic_path

SAMPLE_RATE = 48000
_FRAME = 0.010  # seconds per analysis frame
# pauses (frames to trim), not silent tracks: a silent track is loudness.is_silent
_SILENCE_REL_DB = -40.0  # a frame this far below the loud speech level counts as a pause
_SILENCE_ABS_DB = -55.0  # ... and anything under this always does
_GUARD = 0.040  # keep this much audio either side of speech when cutting (consonant onsets, breaths)
VOICE_TRUE_PEAK = -1.0  # dBTP ceiling for the narration (the final mix has its own: render.true_peak)


# ---------------------------------------------------------------- decoding
def decode_to_wav(src: Path, dst: Path, sample_rate: int = SAMPLE_RATE) -> float:
    """Decode any audio (or the audio of a video) to mono 16-bit WAV at ``sample_rate``. Returns seconds.

    Raises InputError for a missing, empty, non-audio, corrupt or silent file.
    """
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise InputError(f"Audio file '{src}' does not exist.", "check the path you passed.")
    if src.stat().st_size == 0:
        raise InputError(f"Audio file '{src}' is empty (0 bytes).", "pass a real audio file (WAV, MP3, M4A, FLAC, OGG).")
    with atomic_path(dst) as tmp:
        try:
            run_ffmpeg(["-v", "error", "-i", src, "-vn", "-sn", "-dn", "-map", "0:a:0", "-ac", "1",
                        "-ar", str(sample_rate), "-c:a", "pcm_s16le", "-f", "wav", tmp],
                       what=f"decoding '{src.name}'")
        except MediaError as e:
            raise InputError(f"'{src}' is not a readable audio file ({_short(e.problem)}).",
                             "pass a valid audio file (WAV, MP3, M4A, FLAC, OGG), or re-export it from your editor.") from None
        x, sr = _read(tmp)
        if x.size == 0:
            raise InputError(f"'{src}' holds no audio samples.", "pass a file with audible speech.")
        if loudness.is_silent(loudness.integrated_lufs(x, sr)):
            raise InputError(f"'{src}' is silent (no measurable loudness).", "pass a file with audible speech, or check its volume.")
    return x.size / sr


def _short(problem: str) -> str:
    return problem.split(": ", 1)[-1][:160]


def _read(path: Path) -> tuple[np.ndarray, int]:
    import soundfile as sf

    try:
        x, sr = sf.read(os.fspath(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as e:  # type: ignore[attr-defined]
        raise MediaError(f"Could not read '{path}' ({e}).", "pass a valid WAV file.") from None
    return x.mean(axis=1).astype(np.float32), int(sr)


def load_mono(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Samples of any audio file as mono float32 at ``sample_rate`` (decoded with ffmpeg when needed)."""
    path = Path(path)
    try:
        x, sr = _read(path)
        if sr == sample_rate:
            return x
    except MediaError:
        pass
    tmp = path.parent / f".{path.stem}.decoded.{os.getpid()}.wav"
    try:
        decode_to_wav(path, tmp, sample_rate)
        return _read(tmp)[0]
    finally:
        tmp.unlink(missing_ok=True)


def write_wav(path: Path, x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Atomic 16-bit mono WAV write."""
    import soundfile as sf

    with atomic_path(path) as tmp:
        sf.write(os.fspath(tmp), np.clip(x, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    return Path(path)


# ---------------------------------------------------------------- silence analysis
def _frame_db(x: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    hop = max(1, int(_FRAME * sr))
    n = x.size // hop
    if n == 0:
        return np.full(1, -120.0), hop
    frames = x[: n * hop].reshape(n, hop).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1) + 1e-20)
    return 20 * np.log10(rms), hop


def silence_mask(x: np.ndarray, sr: int) -> tuple[np.ndarray, int, float]:
    """Per-frame True where the frame is silence; also the hop and the threshold used (dBFS)."""
    db, hop = _frame_db(x, sr)
    loud = float(np.percentile(db, 95)) if db.size else -120.0
    thr = max(loud + _SILENCE_REL_DB, _SILENCE_ABS_DB)
    return db < thr, hop, thr


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index runs where ``mask`` is True."""
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


class TimeMap:
    """Maps input seconds to output seconds through a list of kept [a, b) input spans, then an offset."""

    def __init__(self, kept: list[tuple[float, float]], offset: float):
        self.kept = kept
        self.offset = offset
        acc, self.out_starts = 0.0, []
        for a, b in kept:
            self.out_starts.append(acc)
            acc += b - a
        self.length = acc

    def __call__(self, t: float) -> float:
        for (a, b), o in zip(self.kept, self.out_starts):
            if t < a:  # inside a removed span (or before the first kept one): collapse onto the cut
                return self.offset + o
            if t <= b:
                return self.offset + o + (t - a)
        return self.offset + self.length


_VOICE = DEFAULTS["voice"]


def postprocess(in_wav: Path, out_wav: Path, words: list[WordTiming] | None, *,
                target_lufs: float = _VOICE["target_lufs"], pad_start: float = _VOICE["pad_start"],
                pad_end: float = _VOICE["pad_end"], max_pause: float = _VOICE["max_pause"],
                max_true_peak: float = VOICE_TRUE_PEAK,
                sample_rate: int = SAMPLE_RATE) -> tuple[list[WordTiming] | None, dict[str, Any]]:
    """Trim, shorten pauses over ``max_pause``, pad and normalise ``in_wav`` into ``out_wav`` (48 kHz mono 16-bit).

    ``words`` (timings in ``in_wav``'s time base) come back in ``out_wav``'s time base. The stats dict holds
    every figure for the manifest. A silent narration (``loudness.is_silent``) raises InputError.
    """
    x = load_mono(Path(in_wav), sample_rate)
    sr = sample_rate
    if loudness.is_silent(loudness.integrated_lufs(x, sr)):
        raise InputError(f"The narration '{Path(in_wav).name}' is silent (no measurable loudness).",
                         "check the voice file or the TTS settings.")
    in_dur = x.size / sr
    silent, hop, thr = silence_mask(x, sr)
    voiced = np.flatnonzero(~silent)
    if voiced.size == 0:  # quiet throughout, but not silent: no pause to find, keep it all
        first, last = 0.0, in_dur
    else:
        first = voiced[0] * hop / sr
        last = (voiced[-1] + 1) * hop / sr
    if words:
        # never trim into a word the voice says it spoke
        first = min(first, max(0.0, words[0].start))
        last = max(last, min(in_dur, max(w.end for w in words)))
    start = max(0.0, first - _GUARD)
    end = min(in_dur, last + _GUARD)

    # inner pauses: silent runs inside [start, end) longer than max_pause keep max_pause (half each side)
    kept: list[tuple[float, float]] = []
    cursor = start
    shortened, removed = 0, 0.0
    if max_pause > 0:
        for a, b in _runs(silent):
            ta, tb = a * hop / sr, b * hop / sr
            if ta <= start or tb >= end:
                continue
            if tb - ta > max_pause + 0.02:
                cut_a, cut_b = ta + max_pause / 2, tb - max_pause / 2
                kept.append((cursor, cut_a))
                cursor = cut_b
                shortened += 1
                removed += cut_b - cut_a
    kept.append((cursor, end))

    fade = int(0.004 * sr)
    pieces = []
    for a, b in kept:
        seg = x[int(round(a * sr)): int(round(b * sr))].copy()
        if seg.size > 2 * fade and len(kept) > 1:
            ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
            seg[:fade] *= ramp
            seg[-fade:] *= ramp[::-1]
        pieces.append(seg)
    speech = np.concatenate(pieces) if pieces else x

    norm = loudness.normalise(speech, sr, target_lufs, max_true_peak)
    if norm.silent:  # everything audible was trimmed away
        raise InputError(f"The narration '{Path(in_wav).name}' is silent (no measurable loudness).",
                         "check the voice file or the TTS settings.")
    y = np.concatenate([np.zeros(int(round(pad_start * sr)), np.float32), norm.audio,
                        np.zeros(int(round(pad_end * sr)), np.float32)])
    out_lufs = loudness.integrated_lufs(y, sr)
    write_wav(Path(out_wav), y, sr)

    out_words = None
    if words is not None:
        tmap = TimeMap(kept, pad_start)
        out_words = []
        for w in words:
            s, e = tmap(w.start), tmap(w.end)
            out_words.append(w.model_copy(update={"start": round(s, 3), "end": round(max(s, e), 3)}))

    stats = {
        "input_lufs": _r(norm.input_lufs),
        "output_lufs": _r(out_lufs),
        "target_lufs": target_lufs,
        "gain_db": _r(norm.gain_db),
        "true_peak_dbtp": _r(loudness.true_peak_dbtp(y, sr)),
        "silence_threshold_dbfs": _r(thr),
        "input_seconds": round(in_dur, 3),
        "trimmed_start_seconds": round(start, 3),
        "trimmed_end_seconds": round(in_dur - end, 3),
        "shortened_pauses": shortened,
        "removed_pause_seconds": round(removed, 3),
        "pad_start": pad_start,
        "pad_end": pad_end,
        "max_pause": max_pause,
        "duration": round(y.size / sr, 3),
        "sample_rate": sr,
    }
    return out_words, stats


def _r(v: float) -> float | None:
    return round(v, 2) if math.isfinite(v) else None
