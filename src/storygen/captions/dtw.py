"""Reference-speech alignment: DTW between a synthesised reading of the script and the real audio.

The script is read by a local TTS voice whose word times are exact for its own audio. Both signals
are turned into speaker-normalised spectral features (MFCC without c0, mean/variance normalised per
file, plus a speech/silence channel), and a dynamic-time-warping path between them is searched inside
a band around the ASR's rough word times (so a 60 s narration costs a fraction of a second and an ASR
slip cannot drag the path far). Each reference word boundary is then carried through the path.

Pure numpy/scipy; no model is needed beyond the TTS voice that makes the reference.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import numpy as np

SR = 16000


@dataclass
class Features:
    feat: np.ndarray  # (frames, dims), float32
    speech: np.ndarray  # (frames,) bool, frame is not silence
    hop: float  # seconds per frame


def _mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    def mel2hz(m):
        return 700.0 * (10 ** (np.asarray(m) / 2595.0) - 1.0)

    pts = mel2hz(np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2))
    bins = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fb = np.zeros((n_mels, bins.size))
    for m in range(n_mels):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        fb[m] = np.clip(np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)), 0.0, None)
    return fb


_FB: dict[tuple, np.ndarray] = {}


def resample(x: np.ndarray, sr: int, to: int = SR) -> np.ndarray:
    if sr == to:
        return np.asarray(x, np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sr), int(to))
    return resample_poly(np.asarray(x, np.float64), to // g, int(sr) // g).astype(np.float32)


def features(x: np.ndarray, sr: int = SR, *, hop: float = 0.01, n_mfcc: int = 13, n_mels: int = 40,
             energy_weight: float = 1.0, deltas: bool = True) -> Features:
    """MFCC 1..n_mfcc-1 (+ deltas), per-file mean/variance normalised, and a weighted speech/silence channel."""
    from scipy.fft import dct

    x = resample(x, sr)
    n_fft, win = 512, 400
    h = int(round(hop * SR))
    pad = np.concatenate([np.zeros(win // 2, np.float32), x, np.zeros(win, np.float32)])
    nfr = max(1, 1 + (pad.size - win) // h)
    idx = np.arange(win)[None, :] + h * np.arange(nfr)[:, None]
    frames = pad[idx] * np.hanning(win).astype(np.float32)
    spec = np.abs(np.fft.rfft(frames, n_fft, axis=1)) ** 2
    key = (SR, n_fft, n_mels)
    if key not in _FB:
        _FB[key] = _mel_filters(SR, n_fft, n_mels, 60.0, 7600.0)
    mel = spec @ _FB[key].T
    energy = 10 * np.log10(spec.sum(axis=1) + 1e-10)
    loud = float(np.percentile(energy, 95))
    speech = energy > max(loud - 35.0, -70.0)
    # a floor relative to the loudest frames makes digital silence and room noise look alike
    logmel = np.log(np.maximum(mel, mel.max() * 1e-5 + 1e-10))
    c = dct(logmel, type=2, norm="ortho", axis=1)[:, 1:n_mfcc]
    ref = c[speech] if speech.sum() > 10 else c
    c = (c - ref.mean(axis=0)) / (ref.std(axis=0) + 1e-6)
    parts = [c]
    if deltas:
        d = np.zeros_like(c)
        d[2:-2] = (c[4:] - c[:-4] + 2 * (c[3:-1] - c[1:-3])) / 10.0
        d /= d[speech].std(axis=0) + 1e-6 if speech.sum() > 10 else d.std(axis=0) + 1e-6
        parts.append(0.5 * d)
    e = np.clip((energy - loud + 35.0) / 10.0, -1.5, 1.5)[:, None]
    parts.append(energy_weight * e)
    return Features(np.concatenate(parts, axis=1).astype(np.float32), speech, hop)


def banded_dtw(ref: np.ndarray, tgt: np.ndarray, center: np.ndarray, half_width: int, *,
               step_penalty: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DTW path between ``ref`` (n, d) and ``tgt`` (m, d) restricted to |j - center[i]| <= half_width.

    Steps: diagonal, or one frame on either side (ref holds / target holds) at an extra
    ``step_penalty`` (in units of the per-frame distance). Returns (ref frame, target frame, local cost)
    along the path, from (0, 0) to (n-1, m-1).
    """
    n, m = len(ref), len(tgt)
    w = 2 * half_width + 1
    c = np.clip(np.round(np.asarray(center, float)).astype(int), 0, m - 1)
    lo = np.maximum.accumulate(np.clip(c - half_width, 0, max(0, m - w)))
    lo[0] = 0
    # every row's window must reach the end of the target at the last row, and rows must overlap
    lo[-1] = max(0, m - w)
    for i in range(n - 2, -1, -1):  # keep consecutive windows overlapping from the end too
        lo[i] = min(lo[i], lo[i + 1])
    for i in range(1, n):
        lo[i] = min(lo[i], lo[i - 1] + w - 1)
    cols = lo[:, None] + np.arange(w)[None, :]
    valid = cols < m
    colc = np.minimum(cols, m - 1)
    # local distances (Euclidean), computed in blocks to bound memory
    cost = np.empty((n, w), np.float32)
    blk = 2048
    for a in range(0, n, blk):
        r = ref[a:a + blk, None, :]
        t = tgt[colc[a:a + blk]]
        cost[a:a + blk] = np.sqrt(((r - t) ** 2).sum(axis=2) / ref.shape[1])
    cost[~valid] = np.inf
    D = np.full((n, w), np.inf)
    inf = np.inf
    # first row: only horizontal moves from (0, 0)
    row = cost[0].astype(np.float64)
    steps = row + step_penalty
    steps[0] = row[0]
    D[0] = np.cumsum(steps)
    D[0, lo[0] + np.arange(w) > m - 1] = inf
    for i in range(1, n):
        shift = lo[i] - lo[i - 1]
        prev = D[i - 1]
        # prev row in this row's column coordinates: same column (vertical) and column - 1 (diagonal)
        vert = np.full(w, inf)
        diag = np.full(w, inf)
        if shift < w:
            vert[: w - shift] = prev[shift:]
            if shift >= 1:
                diag[: w - shift + 1] = prev[shift - 1:]
            else:
                diag[1:] = prev[: w - 1]
        ci = cost[i].astype(np.float64)
        a = np.minimum(diag + ci, vert + ci + step_penalty)
        # horizontal moves inside the row: D[j] = min(a[j], D[j-1] + c[j] + pen) -> prefix min-plus scan
        s = np.cumsum(np.where(np.isfinite(ci), ci + step_penalty, 1e9))
        D[i] = s + np.minimum.accumulate(a - s)
    # backtrack
    i, k = n - 1, (m - 1) - lo[n - 1]
    if not (0 <= k < w) or not np.isfinite(D[i, k]):
        k = int(np.argmin(D[i]))
    pi, pj, pc = [i], [lo[i] + k], [cost[i, k]]
    while i > 0 or k > 0:
        j = lo[i] + k
        best, nxt = inf, None
        if k > 0 and D[i, k - 1] + step_penalty < best:  # horizontal
            best, nxt = D[i, k - 1] + step_penalty, (i, k - 1)
        if i > 0:
            kk = j - lo[i - 1]
            if 0 <= kk < w and D[i - 1, kk] + step_penalty < best:  # vertical
                best, nxt = D[i - 1, kk] + step_penalty, (i - 1, kk)
            kk = j - 1 - lo[i - 1]
            if 0 <= kk < w and D[i - 1, kk] <= best:  # diagonal (preferred on ties)
                best, nxt = D[i - 1, kk], (i - 1, kk)
        if nxt is None:
            break
        i, k = nxt
        pi.append(i)
        pj.append(lo[i] + k)
        pc.append(cost[i, k])
    return np.array(pi[::-1]), np.array(pj[::-1]), np.array(pc[::-1], np.float32)


def map_boundaries(path_i: np.ndarray, path_j: np.ndarray, ref_frames: np.ndarray, *, side: str) -> np.ndarray:
    """Target frame for each reference frame boundary: 'start' -> first target frame the path gives the
    reference frame, 'end' -> one past the last target frame of the reference frame before it."""
    ref_frames = np.asarray(ref_frames, int)
    if side == "start":
        k = np.searchsorted(path_i, ref_frames, side="left")
        return path_j[np.clip(k, 0, path_j.size - 1)].astype(float)
    k = np.searchsorted(path_i, ref_frames, side="left") - 1
    return path_j[np.clip(k, 0, path_j.size - 1)].astype(float) + 1.0


# ---------------------------------------------------------------- espeak-ng reference reading
# espeak-ng (through espeakng-loader) reads the script in ~0.1 s per minute of speech and reports where
# every word and phoneme starts in its own audio; those times are acoustically exact (a fricative's
# noise starts within 5 ms of its phoneme event), which makes it a good reference to warp.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 1
EVENT_WORD, EVENT_PHONEME = 1, 7
_POS_CHARACTER, _CHARS_UTF8 = 1, 1


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
# espeak-ng is a C library with one global state per process (one voice, one synth callback): it is
# initialised once and every synthesis holds _ESPEAK_LOCK. Not a model cache, so not a ModelHost's: a host
# could release it, but espeak_Initialize's state would stay in the process anyway, and captions may not
# import providers. Nothing large is held (the library and its sample rate).
_ESPEAK: dict[str, object] = {}
_ESPEAK_LOCK = threading.Lock()


def _espeak():
    """(library, sample rate), initialising espeak-ng on first use. The caller holds ``_ESPEAK_LOCK``."""
    if "lib" not in _ESPEAK:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(),
                                   _INIT_PHONEME_EVENTS)
        if sr <= 0:
            raise RuntimeError("espeak_Initialize failed")
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetSynthCallback.argtypes = [_CB]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        _ESPEAK.update(lib=lib, sr=sr)
    return _ESPEAK["lib"], int(_ESPEAK["sr"])  # type: ignore[call-overload]


def espeak_synth(text: str, voice: str = "en-us", rate_wpm: int = 165) -> tuple[np.ndarray, int, list[tuple[int, int, float, str]]]:
    """(float32 audio, sample rate, events) with events = (type, 0-based char position, start seconds, phoneme)
    for every WORD (type 1) and PHONEME (type 7) event. Raises ImportError without espeakng-loader."""
    with _ESPEAK_LOCK:
        lib, sr = _espeak()
        lib.espeak_SetVoiceByName(voice.encode())
        lib.espeak_SetParameter(1, int(rate_wpm), 0)  # espeakRATE
        chunks: list[np.ndarray] = []
        events: list[tuple[int, int, float, str]] = []

        def cb(wav, n, ev):
            if n > 0 and wav:
                chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            i = 0
            while ev[i].type != 0:
                e = ev[i]
                if e.type in (EVENT_WORD, EVENT_PHONEME):
                    ph = e.id.string.decode("ascii", "replace") if e.type == EVENT_PHONEME else ""
                    events.append((e.type, e.text_position - 1, e.audio_position / 1000.0, ph))
                i += 1
            return 0

        keep = _CB(cb)
        lib.espeak_SetSynthCallback(keep)
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data)
        rc = lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if rc != 0:
            raise RuntimeError(f"espeak_Synth failed ({rc})")
    audio = (np.concatenate(chunks).astype(np.float32) / 32768.0) if chunks else np.zeros(0, np.float32)
    return audio, sr, events


@dataclass
class Reference:
    audio: np.ndarray
    sample_rate: int
    starts: np.ndarray  # seconds, one per script word
    ends: np.ndarray


def espeak_reference(words: list[str], voice: str = "en-us", rate_wpm: int = 165) -> Reference:
    """espeak-ng reads the words; each word's start and end in that reading.

    espeak merges some function words into their neighbour ("in the" is one phoneme word with one
    WORD event): the merged span's phonemes are split between its words by their share of letters.
    A word ends where the next one starts, or where a pause phoneme begins."""
    text = " ".join(words)
    offs, pos = [], 0
    for w in words:
        offs.append(pos)
        pos += len(w) + 1
    audio, sr, events = espeak_synth(text, voice, rate_wpm)
    offs_a = np.array(offs)
    n = len(words)

    def owner(cpos: int) -> int:
        return int(np.clip(np.searchsorted(offs_a, cpos, side="right") - 1, 0, n - 1))

    # phoneme stream: (time, word owner by the word event before it, is pause)
    word_ev: dict[int, float] = {}
    phones: list[tuple[float, int, bool]] = []
    cur = 0
    for typ, cpos, t, ph in events:
        if typ == EVENT_WORD:
            k = owner(cpos)
            if k >= cur or not word_ev:
                cur = k
                word_ev.setdefault(k, t)
        else:
            phones.append((t, cur, ph.startswith("_")))
    starts = np.full(n, np.nan)
    for k, t in word_ev.items():
        starts[k] = t
    # words with no event: split the phonemes of the evented word before them by letters
    k = 0
    while k < n:
        if not np.isnan(starts[k]):
            k += 1
            continue
        j = k
        while j < n and np.isnan(starts[j]):
            j += 1
        head = k - 1
        group = list(range(max(head, 0), j))
        ph_t = [t for t, o, p in phones if o == head and not p] if head >= 0 else []
        if head >= 0 and len(ph_t) >= len(group):
            lens = np.array([len(words[g]) for g in group], float)
            cut = np.round(np.cumsum(lens)[:-1] / lens.sum() * len(ph_t)).astype(int)
            cut = np.clip(cut, 1, len(ph_t) - 1)
            for g, c in zip(group[1:], cut):
                starts[g] = ph_t[c]
        k = j
    ok = ~np.isnan(starts)
    if not ok.any():
        raise RuntimeError("espeak gave no word events")
    idx = np.arange(n)
    starts = np.maximum.accumulate(np.interp(idx, idx[ok], starts[ok]))
    total = audio.size / sr
    ends = np.empty(n)
    pause_t = np.array([t for t, _o, p in phones if p])
    # the last sound each word's own events made: a word ends at the first pause after it, not at a short pause
    # inside it (espeak's Chinese reads a clause as several words with pauses between them)
    last_sound = np.full(n, -np.inf)
    sounds = [(t, o) for t, o, p in phones if not p]
    if sounds:
        np.maximum.at(last_sound, np.array([o for _t, o in sounds]), np.array([t for t, _o in sounds]))
    for k in range(n):
        nxt = starts[k + 1] if k + 1 < n else total
        after = max(starts[k] + 0.02, min(last_sound[k], nxt))
        pz = pause_t[(pause_t > after) & (pause_t < nxt)] if pause_t.size else pause_t
        ends[k] = float(pz[0]) if pz.size else nxt
    if n:
        ends[-1] = min(ends[-1], total)
    return Reference(audio, sr, starts, np.maximum(ends, starts))


def band_center(ref_starts: np.ndarray, prior_starts: np.ndarray, anchor: np.ndarray, ref_frames: int,
                hop: float, *, target_seconds: float) -> tuple[np.ndarray, bool]:
    """Expected target frame for every reference frame, from the prior (ASR) word starts.

    The offsets (prior - reference) of the anchor words drift when the two readings differ in speed, so a
    straight line is fitted to them first (refitted without anchors more than 0.5 s off it). What the line
    leaves is smoothed with a running median over 15 words, and anchors that stray more than 0.25 s from it
    are dropped, so one misheard word cannot bend the band. (A running median of the raw offsets lagged
    behind the drift: with Japanese phrases of about a second each, 15 words span 15 s, and the band
    started 0.8 s early; benchmarks/alignment.py, Japanese row.)
    Returns (center, anchored); without 3 anchors the reading is stretched linearly onto the target.
    """
    rt = np.arange(ref_frames) * hop
    a = np.flatnonzero(anchor)
    if a.size < 3:
        scale = target_seconds / max(rt[-1] if rt.size else 1.0, 1e-3)
        return rt * scale / hop, False
    x, off = ref_starts[a], prior_starts[a] - ref_starts[a]
    line = np.polyfit(x, off, 1) if np.ptp(x) > 0 else np.array([0.0, float(np.median(off))])
    near = np.abs(off - np.polyval(line, x)) < 0.5
    if near.sum() >= 3 and not near.all():
        line = np.polyfit(x[near], off[near], 1)
    res = off - np.polyval(line, x)
    k = 7
    med = np.array([np.median(res[max(0, i - k): i + k + 1]) for i in range(res.size)])
    good = np.abs(res - med) < 0.25
    if good.sum() < 3:
        good[:] = True
    return (rt + np.polyval(line, rt) + np.interp(rt, x[good], med[good])) / hop, True


@dataclass
class Warp:
    starts: np.ndarray  # seconds in the target, one per reference word
    ends: np.ndarray
    cost: np.ndarray  # mean feature distance over each word's first 50 ms (low = confident)
    path_cost: float  # mean feature distance along the path over the reference's speech: how alike the voices are


def warp(ref: Reference, tf: Features, prior_starts: np.ndarray, anchor: np.ndarray, *, half_width: float = 0.5,
         step_penalty: float = 0.0, energy_weight: float = 2.0) -> Warp:
    """Carry the reference's word boundaries onto the target whose features are ``tf``."""
    hop = tf.hop
    rf = features(ref.audio, ref.sample_rate, hop=hop, energy_weight=energy_weight)
    center, anchored = band_center(ref.starts, prior_starts, anchor, len(rf.feat), hop,
                                   target_seconds=len(tf.feat) * hop)
    hw = half_width if anchored else max(half_width, 2.0)
    pi, pj, pc = banded_dtw(rf.feat, tf.feat, center, int(round(hw / hop)), step_penalty=step_penalty)
    s_fr = np.round(ref.starts / hop).astype(int)
    e_fr = np.round(ref.ends / hop).astype(int)
    starts = map_boundaries(pi, pj, s_fr, side="start") * hop
    ends = map_boundaries(pi, pj, e_fr, side="end") * hop
    k = np.searchsorted(pi, s_fr)
    cost = np.array([float(pc[min(a, pc.size - 1): min(a + 5, pc.size)].mean()) for a in k])
    sp = rf.speech[pi]
    path_cost = float(pc[sp].mean()) if sp.any() else float(pc.mean())
    return Warp(starts, np.maximum(ends, starts), cost, path_cost)


def best_warp(refs: list[Reference], target: np.ndarray, target_sr: int, prior_starts: np.ndarray,
              anchor: np.ndarray, *, hop: float = 0.01, energy_weight: float = 2.0, **kw) -> Warp:
    """The warp of the reference reading that matches the target best (lowest path cost).

    MFCC distances are not speaker-free: a male espeak reading warped onto a female voice (or the other way
    round) drifts inside words. Measured on flite rms (male, benchmarks/alignment_voices.py): the male
    reading gave 12 / 49 ms (median / p95 start error) at a path cost of 0.70, a female one (+f3) 23 / 104 ms
    at 0.88; the cost tells the better reference without knowing the truth."""
    tf = features(target, target_sr, hop=hop, energy_weight=energy_weight)
    out = [warp(r, tf, prior_starts, anchor, energy_weight=energy_weight, **kw) for r in refs]
    return min(out, key=lambda w: w.path_cost)


def warp_word_times(ref: Reference, target: np.ndarray, target_sr: int, prior_starts: np.ndarray,
                    anchor: np.ndarray, *, half_width: float = 0.5, hop: float = 0.01,
                    step_penalty: float = 0.0, energy_weight: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Carry the reference's word boundaries onto ``target`` (seconds). Returns (starts, ends, local cost
    at each start: the mean feature distance over the word's first 50 ms, low = confident).

    Defaults measured with benchmarks/alignment.py on two Piper syntheses (joe): a light step penalty
    (0.1, was 0.5) lets the path absorb a pause that is longer in one reading than the other instead of
    pulling the next word's start into the silence, and a stronger speech/silence channel (2.0, was 1.0)
    keeps word onsets on the energy rise; the Piper start p95 fell from 85-108 ms to ~67-71 ms with the
    espeak rows unchanged. No step penalty at all (0.0) then took flite rms, a voice from another engine,
    from 12 / 64 ms to 12 / 49 ms (median / p95, benchmarks/alignment_voices.py, after onset snapping)."""
    tf = features(target, target_sr, hop=hop, energy_weight=energy_weight)
    w = warp(ref, tf, prior_starts, anchor, half_width=half_width, step_penalty=step_penalty,
             energy_weight=energy_weight)
    return w.starts, w.ends, w.cost
