"""Script-to-speech word alignment: the recognised words give the times, the script gives the words.

1. ``storygen.text.timing.align_words`` maps the recognised words onto the script's words (one timing each;
   unmatched words interpolated and flagged).
2. ``refine_with_audio`` removes Whisper's systematic lag and snaps boundaries to pauses and energy dips.
3. ``align_to_audio`` carries an espeak-ng reading's exact word boundaries onto the audio by DTW, then
   ``snap_to_onsets`` puts the first word and words after pauses on the speech onset.

``alignment_confidence`` (the share of matched words) tells a voice in another language, or a voice
file that reads another text, from a good alignment: it is reported, not hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from storygen.errors import InputError
from storygen.models import HeardWord, WordTiming
from storygen.text.timing import unmatched_runs, align_words, make_monotonic

LOW_CONFIDENCE = 0.6  # below this share of matched words the alignment is reported as unreliable
# below this share the few matches are chance ("a", "the"): the words are spread over the speech instead. Between it
# and LOW_CONFIDENCE many matches are real (a partly ad-libbed reading) and their times are kept.
SPREAD_BELOW = 0.3


def asr_prompt(script: str, language: str = "en") -> str | None:
    """What the recogniser is prompted with before it hears the narration: the script, so that names and rare
    words are heard as written (festival kal: 177 -> 190 of 192 words matched, timing unchanged). None for
    languages written without spaces: there it made the base model drift (Japanese: median 4 -> 66 ms).
    Measured with benchmarks/alignment.py and benchmarks/alignment_voices.py."""
    from storygen.text.language import info

    from storygen.text.words import speakable_text

    spoken = speakable_text(script)  # no [whispers]-style tags: they are not said
    return None if info(language).by_chars or not spoken.strip() else spoken


def alignment_confidence(words: list[WordTiming]) -> float:
    """Share of script words that were matched to recognised speech (1.0 = every word heard)."""
    return sum(1 for w in words if w.matched) / len(words) if words else 0.0


def alignment_report(words: list[WordTiming]) -> dict[str, Any]:
    share = alignment_confidence(words)
    return {
        "matched_share": round(share, 3),
        "mean_confidence": round(float(np.mean([w.confidence for w in words])) if words else 0.0, 3),
        "unmatched_words": sum(1 for w in words if not w.matched),
        "low_confidence": share < LOW_CONFIDENCE,
    }


# ---------------------------------------------------------------- refinement against the audio
def refine_with_audio(words: list[WordTiming], wav: Path | np.ndarray, sample_rate: int = 16000, *,
                      window: float = 0.15) -> list[WordTiming]:
    """Correct ASR word times against the audio.

    1. Boundaries with a pause within ``window`` seconds snap to the pause's edges: the word before ends
       where the silence starts, the word after starts where it ends (reliable, to one 5 ms frame).
    2. The median shift those snaps needed is this file's residual ASR lag (it differs by voice); every
       boundary that had no pause to snap to is moved by it.
    Unmatched (interpolated) words are rescaled between their corrected neighbours.
    """
    if not words:
        return words
    if isinstance(wav, np.ndarray):
        x, sr = wav.astype(np.float32), sample_rate
    else:
        from storygen.media.audio import load_mono

        sr = 16000
        x = load_mono(Path(wav), sr)
    step = 0.005
    hop = int(step * sr)
    nfr = x.size // hop
    if nfr < 4:
        return words
    fr = x[: nfr * hop].reshape(nfr, hop).astype(np.float64)
    db = 10 * np.log10(np.mean(fr**2, axis=1) + 1e-12)
    db = np.convolve(db, np.ones(3) / 3, mode="same")  # 15 ms smoothing
    loud = float(np.percentile(db, 95))
    silent = db < max(loud - 35.0, -65.0)
    # drop silent runs shorter than 40 ms (stop closures inside words)
    d = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
    run_a, run_b = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    keep = (run_b - run_a) * step >= 0.04
    run_a, run_b = run_a[keep], run_b[keep]
    w = window / step

    starts = np.array([x.start for x in words], float)
    ends = np.array([x.end for x in words], float)
    matched = np.array([x.matched for x in words])
    n = len(words)
    new_s, new_e = starts.copy(), ends.copy()
    snapped_s = np.zeros(n, bool)
    snapped_e = np.zeros(n, bool)
    shifts: list[float] = []

    def nearest_run(t: float) -> tuple[float, float] | None:
        if run_a.size == 0:
            return None
        c = t / step
        dist = np.where((run_a <= c) & (c <= run_b), 0.0, np.minimum(np.abs(run_a - c), np.abs(run_b - c)))
        k = int(np.argmin(dist))
        return (run_a[k] * step, run_b[k] * step) if dist[k] <= w else None

    for k in range(n + 1):
        left = k - 1 if k > 0 and matched[k - 1] else None
        right = k if k < n and matched[k] else None
        if left is None and right is None:
            continue
        if left is not None and right is not None:
            t0 = 0.5 * (ends[left] + starts[right]) if ends[left] <= starts[right] else starts[right]
        else:
            t0 = starts[right] if right is not None else ends[left]
        run = nearest_run(t0)
        if run is None:
            continue
        a, b = run
        if right is not None and b < ends[right] and (left is None or b > starts[left]):
            shifts.append(b - starts[right])
            new_s[right], snapped_s[right] = b, True
        if left is not None and a > starts[left] and (right is None or a < ends[right]):
            new_e[left], snapped_e[left] = a, True
    lag = float(np.median(shifts)) if len(shifts) >= 3 else 0.0
    lag = float(np.clip(lag, -0.15, 0.15))
    new_s = np.where(matched & ~snapped_s, starts + lag, new_s)
    new_e = np.where(matched & ~snapped_e, ends + lag, new_e)
    # interpolated runs: keep their relative layout between the corrected neighbours
    for i, j in unmatched_runs(matched):
        lo = new_e[i - 1] if i > 0 else max(0.0, starts[i] + lag)
        hi = new_s[j] if j < n else ends[j - 1] + lag
        span0 = max(1e-6, ends[j - 1] - starts[i])
        scale = max(0.0, hi - lo) / span0
        new_s[i:j] = lo + (starts[i:j] - starts[i]) * scale
        new_e[i:j] = lo + (ends[i:j] - starts[i]) * scale
    new_s = np.maximum(0.0, new_s)
    new_e = np.maximum(new_s, new_e)
    out = [wd.model_copy(update={"start": round(float(new_s[k]), 3), "end": round(float(new_e[k]), 3)})
           for k, wd in enumerate(words)]
    return make_monotonic(out)


# ---------------------------------------------------------------- speech onsets after pauses
_PAUSE_PUNCT = tuple(".,;:!?…—–)\"”»」』。、，！？；：")


def spread_over_speech(words: list[WordTiming], x: np.ndarray, sr: int) -> list[WordTiming]:
    """Each word a share of the speech (the silences left out) by its length, in order: the timing for a narration
    that was not heard as the script, where a few chance matches ("a", "the") would squeeze the words between
    them into a fraction of a second. ``matched`` and ``confidence`` are kept, for the report."""
    if not words:
        return []
    total = x.size / sr
    sil = silent_runs(x, sr)
    cuts = [0.0] + [t for a, b in sil for t in (a, b)] + [total]
    voiced = [(a, b) for a, b in zip(cuts[::2], cuts[1::2]) if b - a > 1e-6]
    if not voiced:
        voiced = [(0.0, total)]
    lengths = np.array([b - a for a, b in voiced])
    cum = np.concatenate([[0.0], np.cumsum(lengths)])

    def clock(v: float, after: bool) -> float:
        """The time at which ``v`` seconds of speech have gone by (at the start of the next run when on a seam)."""
        i = int(np.searchsorted(cum, v, side="right" if after else "left")) - 1
        i = min(max(i, 0), len(voiced) - 1)
        return float(voiced[i][0] + min(max(v - cum[i], 0.0), lengths[i]))

    weight = np.array([max(1, len(w.word)) + 1.0 for w in words])
    edges = np.concatenate([[0.0], np.cumsum(weight)]) / weight.sum() * cum[-1]
    return [w.model_copy(update={"start": round(clock(edges[k], True), 3), "end": round(clock(edges[k + 1], False), 3)})
            for k, w in enumerate(words)]


def silent_runs(x: np.ndarray, sr: int, *, step: float = 0.005, floor_db: float = 35.0,
                min_len: float = 0.04) -> np.ndarray:
    """(start, end) seconds of every silence of at least ``min_len``: 5 ms frames more than ``floor_db``
    below the loudest frames (95th percentile; -65 dB at least), smoothed over 15 ms."""
    hop = max(1, int(step * sr))
    nfr = x.size // hop
    if nfr < 4:
        return np.zeros((0, 2))
    fr = x[: nfr * hop].reshape(nfr, hop).astype(np.float64)
    db = 10 * np.log10(np.mean(fr**2, axis=1) + 1e-12)
    db = np.convolve(np.pad(db, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    silent = db < max(float(np.percentile(db, 95)) - floor_db, -65.0)
    d = np.diff(np.concatenate([[0], silent.astype(np.int8), [0]]))
    a, b = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    keep = (b - a) * step >= min_len
    keep |= a == 0  # leading silence, however short
    return np.stack([a[keep], b[keep]], axis=1) * step


def after_pause(words: list[str], ref_starts: np.ndarray | None = None, ref_ends: np.ndarray | None = None,
                *, gap: float = 0.05) -> np.ndarray:
    """Which words are likely to follow a pause: the first word, a word after punctuation, and a word the
    reference reading (when given) starts more than ``gap`` seconds after the previous word ended."""
    out = np.zeros(len(words), bool)
    if not words:
        return out
    out[0] = True
    for k in range(1, len(words)):
        out[k] = words[k - 1].rstrip().endswith(_PAUSE_PUNCT)
        if ref_starts is not None and ref_ends is not None:
            out[k] |= bool(ref_starts[k] - ref_ends[k - 1] > gap)
    return out


def snap_to_onsets(words: list[WordTiming], x: np.ndarray, sr: int, pause_before: np.ndarray, *,
                   window: float = 0.35, min_pause: float = 0.1) -> list[WordTiming]:
    """Word starts moved onto the speech onset that ends a pause (the failure of DTW and ASR alike: the
    first word, and a word after a pause, tend to be pulled back into the silence or past the onset).

    * A word that follows a pause (``pause_before``: the first word, punctuation, a pause in the
      reference reading) starts at the end of the nearest silence (40 ms or more; the leading silence for
      the first word) within ``window`` s of its estimate; the word before ends where the silence starts.
    * Any other word whose estimate falls inside a pause of at least ``min_pause`` s (longer than a stop
      closure) starts where the pause ends.
    * No word starts inside the leading silence (the warp can put the first two words there when the
      reference reading starts with no silence at all).
    A pause is only used when it leaves the neighbouring words some speech (ordered estimates stay ordered).
    """
    n = len(words)
    runs = silent_runs(x, sr)
    if n == 0 or runs.size == 0:
        return words
    long_ = (runs[:, 1] - runs[:, 0] >= min_pause) | (runs[:, 0] == 0)
    starts = np.array([w.start for w in words], float)
    ends = np.array([w.end for w in words], float)
    total = x.size / sr
    if runs[0, 0] == 0 and runs[0, 1] < total:  # nothing is said in the leading silence, whatever the warp says
        lead = runs[0, 1]
        inside = starts < lead
        starts[inside] = lead
        ends[inside] = np.maximum(ends[inside], lead)
    for k in range(n):
        lo = starts[k - 1] + 0.04 if k > 0 else -1.0  # the word before keeps some speech
        hi = starts[k + 1] if k + 1 < n else total  # this word ends before the next one starts
        # after punctuation any silence will do (a short breath); elsewhere only a real pause
        ok = (runs[:, 1] > lo) & (runs[:, 1] < hi - 0.02) & (True if pause_before[k] else long_)
        if k > 0:
            ok &= runs[:, 0] > 0  # only the first word follows the leading silence
        cand = runs[ok]
        if cand.size == 0:
            continue
        inside = np.flatnonzero((cand[:, 0] <= starts[k]) & (starts[k] < cand[:, 1]))
        if inside.size:  # a word never starts inside a silence, however far from its end
            j = int(inside[0])
        elif pause_before[k]:
            d = np.abs(cand[:, 1] - starts[k])
            j = int(np.argmin(d))
            if d[j] > window:
                continue
        else:
            continue
        a, b = cand[j]
        starts[k] = b
        ends[k] = max(ends[k], b)
        if k > 0 and a > starts[k - 1]:
            ends[k - 1] = min(ends[k - 1], a) if ends[k - 1] > a or pause_before[k] else ends[k - 1]
    out = [w.model_copy(update={"start": round(float(starts[k]), 3), "end": round(float(ends[k]), 3)})
           for k, w in enumerate(words)]
    return make_monotonic(out)


# ---------------------------------------------------------------- the ASR path, end to end
def align_to_audio(script: str, heard: list[HeardWord], wav: Path, *, language: str = "en") -> list[WordTiming]:
    """Word timings for ``script`` read in ``wav``, given the ASR's words (the path for voices without timings).

    1. ``align_words`` + ``refine_with_audio``: which script word was heard where (matched / confidence).
    2. espeak-ng reads the script in ``language`` twice, with a male and a female voice (exact word
       boundaries in its own audio, ~0.1 s a minute); a DTW on speaker-normalised MFCCs, banded around the
       ASR times, carries those boundaries onto ``wav`` from the reading that matches it best
       (``storygen.captions.dtw.best_warp``).
    3. ``snap_to_onsets``: the first word, and words after a pause, start at the speech onset that ends it.
    Measured (median / p95 word-start error): Piper ~18 / 72 ms, espeak ~3 / 15 ms, Spanish 3 / 34-45 ms and
    Japanese 4 / 82 ms (benchmarks/alignment.py); voices from engines we neither ship nor use as the reference,
    flite and festival, 10-12 / 49-75 ms (benchmarks/alignment_voices.py; was 13-19 / 80-258 ms before step
    2's voice choice and step 3, and festival kal 123 ms before the band followed a drifting offset).
    Japanese is matched on kana readings (a kana script against an ASR transcript in kanji), and espeak-ng
    reads kanji in their kana reading (``storygen.text.kana``).
    When fewer than ``LOW_CONFIDENCE`` of the words were heard, the ASR times are kept; below ``SPREAD_BELOW``
    (another language, another text) the few chance matches mean nothing either, and the words share the speech
    by length (``spread_over_speech``). When espeak-ng is missing, the ASR times are kept.
    """
    from storygen.media.audio import load_mono
    from storygen.text.words import script_words

    words = script_words(script)
    if not words:
        return []
    x = load_mono(Path(wav), 16000)
    prior = refine_with_audio(align_words(words, heard, language=language), x, 16000)
    if x.size < 1600:
        return prior
    confidence = alignment_confidence(prior)
    if confidence < SPREAD_BELOW:
        return spread_over_speech(prior, x, 16000)
    if confidence < LOW_CONFIDENCE:
        return prior
    try:
        from storygen.captions import dtw
        from storygen.text.language import espeak_voice, speakable_words

        voice = espeak_voice(language)
        spoken = speakable_words(words, language)
        refs = [dtw.espeak_reference(spoken, voice=v) for v in (voice, voice + "+f3")]
    except (ImportError, OSError, RuntimeError, InputError):
        return prior
    w = dtw.best_warp(refs, x, 16000, np.array([w.start for w in prior]), np.array([w.matched for w in prior]))
    out = [wd.model_copy(update={"start": round(float(w.starts[k]), 3), "end": round(float(w.ends[k]), 3)})
           for k, wd in enumerate(prior)]
    ref = refs[0]
    return snap_to_onsets(make_monotonic(out), x, 16000, after_pause(words, ref.starts, ref.ends))
