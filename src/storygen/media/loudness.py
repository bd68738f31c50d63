"""Loudness, in one place: integrated LUFS and true peak (ITU-R BS.1770-4), normalising to a target, and a
true-peak limiter. The narration (``media.audio``) and the final mix (``media.render``) both use it.

Measuring: integrated loudness is pyloudnorm's BS.1770-4 meter (K-weighting, 400 ms blocks, absolute gate at
-70 LUFS, relative gate at -10 LU); true peak is the sample peak of the signal oversampled 4x (polyphase
``resample_poly``), in dBTP. Multichannel audio is ``(samples, channels)``; mono may be 1-D.

Silence, the one definition: a signal is SILENT when no 400 ms block passes the BS.1770 absolute gate
(-70 LUFS). ``integrated_lufs`` then returns ``-inf`` (never a made-up number such as -70 or -120) and
``is_silent`` says so. ``normalise`` returns silent audio unchanged (gain 0 dB); whether silence is an error
is the caller's decision. A signal shorter than one block is measured padded with zeros to one block.

Headroom, the one rule: asked for a true peak of at most ``max_true_peak`` dBTP, the limiter holds the 4x
oversampled peak at ``max_true_peak - HEADROOM_DB``. The 0.6 dB is for what happens after us: the AAC
encoder's overshoot and 16-bit rounding, so the encoded file still measures under ``max_true_peak``.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from storygen.errors import MediaError
from storygen.media.ffmpeg import run_ffmpeg

#: BS.1770 absolute gate: no 400 ms block above it means silence
SILENCE_LUFS = -70.0
#: the limiter's ceiling sits this far under the requested true peak (AAC overshoot, 16-bit rounding)
HEADROOM_DB = 0.6
#: after limiting, the loudness is put back when it drifted this far from the target (LU)
_TOLERANCE_LU = 0.1
_ROUNDS = 6
_BLOCK_S = 0.4
_OVERSAMPLE = 4


# ---------------------------------------------------------------- measuring
def integrated_lufs(x: np.ndarray, sr: int) -> float:
    """Integrated loudness in LUFS; ``-inf`` when the signal is silent (see the module docstring)."""
    import pyloudnorm as pyln

    x = np.asarray(x, dtype=np.float64)
    block = math.ceil(_BLOCK_S * sr) + 1  # the meter wants more samples than one block
    if x.shape[0] < block:
        x = np.concatenate([x, np.zeros((block - x.shape[0], *x.shape[1:]))])
    with np.errstate(divide="ignore", invalid="ignore"):
        lufs = float(pyln.Meter(sr).integrated_loudness(x))
    return lufs if lufs > SILENCE_LUFS else -math.inf


def is_silent(lufs: float) -> bool:
    """True for a loudness that :func:`integrated_lufs` gives silence (``-inf``, or anything at the gate)."""
    return not lufs > SILENCE_LUFS


def true_peak_dbtp(x: np.ndarray, sr: int) -> float:
    """True peak in dBTP: the peak of the 4x-oversampled signal; ``-inf`` for all-zero or empty audio."""
    from scipy.signal import resample_poly

    x = np.asarray(x)
    if x.size == 0:
        return -math.inf
    up = resample_poly(x, _OVERSAMPLE, 1, axis=0) if sr < 176400 else x
    peak = float(np.max(np.abs(up)))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def measure_file(path: Path, sample_rate: int = 48000) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP) of a media file's first audio stream, all channels.

    ffmpeg decodes the audio to float samples; the measuring is the same as for arrays.
    """
    import soundfile as sf

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="storygen-loudness-") as tmp:
        wav = Path(tmp) / "audio.wav"
        run_ffmpeg(["-v", "error", "-i", path, "-map", "0:a:0", "-ar", str(sample_rate), "-c:a", "pcm_f32le", wav],
                   what=f"Measuring the loudness of '{path.name}'")
        try:
            data, sr = sf.read(os.fspath(wav), dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError) as e:  # type: ignore[attr-defined]
            raise MediaError(f"Could not measure the loudness of '{path}' ({e}).",
                             "check that the file has an audio track.") from None
    return integrated_lufs(data, sr), true_peak_dbtp(data, sr)


# ---------------------------------------------------------------- changing
def _gain(x: np.ndarray, db: float) -> np.ndarray:
    return (x * np.float32(10 ** (db / 20))).astype(np.float32, copy=False)


def limit_true_peak(x: np.ndarray, sr: int, ceiling_dbtp: float, window_ms: float = 8.0) -> np.ndarray:
    """Look-ahead limiter, vectorised: keeps the 4x-oversampled peak under ``ceiling_dbtp``.

    One gain for all channels (linked). The needed gain is held (running minimum over +-w) then smoothed
    (moving average over w); every averaged window holds the peak's own held value, so the smoothed gain
    never lets a peak through. Audio that is already under the ceiling comes back unchanged.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d
    from scipy.signal import resample_poly

    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        return x
    frames = x.reshape(x.shape[0], -1)
    n = frames.shape[0]
    up = np.abs(resample_poly(frames, _OVERSAMPLE, 1, axis=0)).max(axis=1)
    up = np.pad(up, (0, (-up.size) % _OVERSAMPLE))
    env = up.reshape(-1, _OVERSAMPLE).max(axis=1)[:n]
    env = np.maximum(np.pad(env, (0, n - env.size)), np.abs(frames).max(axis=1))
    need = np.minimum(1.0, 10 ** (ceiling_dbtp / 20) / np.maximum(env, 1e-12))
    if float(need.min()) >= 1.0:
        return x
    w = max(1, int(sr * window_ms / 1000))
    g = minimum_filter1d(need, size=2 * w + 1, mode="nearest")
    g = np.minimum(uniform_filter1d(g, size=w, mode="nearest"), need)
    g = g.astype(np.float32)
    return x * (g[:, None] if x.ndim == 2 else g)


@dataclass(frozen=True)
class Normalised:
    audio: np.ndarray
    input_lufs: float  # -inf: silent
    gain_db: float  # the plain gain applied in all (limiting comes on top)
    lufs: float  # loudness of ``audio``
    true_peak: float  # dBTP of ``audio``

    @property
    def silent(self) -> bool:
        return is_silent(self.input_lufs)


def _limited_gain(x: np.ndarray, sr: int, gain_db: float, target_lufs: float,
                  ceiling_dbtp: float) -> tuple[np.ndarray, float, float]:
    """The gain g at which ``limit_true_peak(x * g)`` measures ``target_lufs``; returns (audio, g, lufs).

    Loudness after limiting rises with the gain but not at 1 LU/dB, so g is searched: secant steps until
    the target is bracketed, then false position (bisecting when a step would hug one end). Each try
    limits the input at the new gain, so the audio is limited once, never twice. The closest try wins.
    """
    lo: tuple[float, float] | None = None  # (gain, lufs) under the target
    hi: tuple[float, float] | None = None  # ... over it
    best: tuple[np.ndarray, float, float] | None = None
    g = gain_db
    for _ in range(_ROUNDS):
        y = limit_true_peak(_gain(x, g), sr, ceiling_dbtp)
        now = integrated_lufs(y, sr)
        if best is None or abs(now - target_lufs) < abs(best[2] - target_lufs):
            best = (y, g, now)
        if abs(now - target_lufs) < _TOLERANCE_LU:
            break
        prev = lo if now < target_lufs else hi
        if now < target_lufs:
            lo = (g, now)
        else:
            hi = (g, now)
        if lo is not None and hi is not None:
            step = lo[0] + (target_lufs - lo[1]) * (hi[0] - lo[0]) / (hi[1] - lo[1])
            width = hi[0] - lo[0]
            near_end = min(abs(step - lo[0]), abs(hi[0] - step)) < 0.1 * abs(width)
            g = (lo[0] + hi[0]) / 2 if near_end else step
        else:
            slope = (now - prev[1]) / (g - prev[0]) if prev is not None and g != prev[0] else 1.0
            g += (target_lufs - now) / min(1.0, max(0.05, slope))
    assert best is not None
    return best


def normalise(x: np.ndarray, sr: int, target_lufs: float, max_true_peak: float) -> Normalised:
    """Gain ``x`` to ``target_lufs`` (within 0.1 LU), limiting where the true peak would pass the headroom rule.

    Limiting lowers the loudness, so when it is needed the gain is searched for (``_limited_gain``, at
    most ``_ROUNDS`` limiter passes, usually one or two).
    If a peak still sticks out, the whole signal goes down by that much (loudness then under the target):
    the true-peak ceiling always wins. Silent audio comes back unchanged.
    """
    x = np.asarray(x, dtype=np.float32)
    lufs_in = integrated_lufs(x, sr)
    if is_silent(lufs_in):
        return Normalised(x, lufs_in, 0.0, lufs_in, true_peak_dbtp(x, sr))
    ceiling = max_true_peak - HEADROOM_DB
    gain_db = target_lufs - lufs_in
    y = _gain(x, gain_db)
    lufs = target_lufs  # a plain gain moves the gated loudness by exactly that much
    tp = true_peak_dbtp(y, sr)
    if tp > ceiling:
        y, gain_db, lufs = _limited_gain(x, sr, gain_db, target_lufs, ceiling - 0.05)
        tp = true_peak_dbtp(y, sr)
    if tp > ceiling:  # last resort: plain gain down
        y = _gain(y, ceiling - tp)
        gain_db += ceiling - tp
        lufs += ceiling - tp
        tp = true_peak_dbtp(y, sr)
    return Normalised(y, lufs_in, gain_db, lufs, tp)
