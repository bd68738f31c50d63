"""media.loudness on real signals: tones at known levels, silence, clipped bursts, and an encoded file."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm as pyln
import pytest
import soundfile as sf

from storygen.media.ffmpeg import run_ffmpeg
from storygen.media.loudness import (
    HEADROOM_DB,
    integrated_lufs,
    is_silent,
    limit_true_peak,
    measure_file,
    normalise,
    true_peak_dbtp,
)

SR = 48000


def _tone(amp: float, seconds: float = 3.0, freq: float = 997.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _speechlike(seconds: float, level: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    env = (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) ** 2
    return (level * env * rng.standard_normal(t.size)).astype(np.float32)


def test_a_tone_measures_its_known_level_and_agrees_with_pyloudnorm():
    # BS.1770: a 997 Hz sine in one channel reads 20*log10(peak) - 3.01 LUFS (K-weighting adds ~0.69 dB there)
    for amp_db in (-6.0, -20.0, -40.0):
        x = _tone(10 ** (amp_db / 20))
        lufs = integrated_lufs(x, SR)
        assert lufs == pytest.approx(amp_db - 3.01, abs=0.05)
        assert lufs == pytest.approx(pyln.Meter(SR).integrated_loudness(x.astype(np.float64)), abs=1e-6)
    # stereo (samples, channels): both channels count, +3 dB for the same tone in each
    st = np.stack([_tone(0.1), _tone(0.1)], axis=1)
    assert integrated_lufs(st, SR) == pytest.approx(integrated_lufs(_tone(0.1), SR) + 3.01, abs=0.02)
    assert integrated_lufs(st, 22050) == pytest.approx(pyln.Meter(22050).integrated_loudness(st.astype(np.float64)), abs=1e-6)
    # a sample peak is not the true peak: a sine at fs/4 sampled 45 degrees off its crests
    n = np.arange(SR)
    x = np.sin(np.pi / 2 * n + np.pi / 4).astype(np.float32)  # samples at +-0.707, crests at 1.0
    assert 20 * math.log10(np.abs(x).max()) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(x, SR) == pytest.approx(0.0, abs=0.2)


def test_silence_is_minus_inf_and_normalise_leaves_it_alone():
    for x in (np.zeros(SR * 2, np.float32), np.zeros((SR, 2), np.float32), np.zeros(100, np.float32),
              _tone(10 ** (-85 / 20))):  # under the -70 LUFS absolute gate
        lufs = integrated_lufs(x, SR)
        assert lufs == -math.inf and is_silent(lufs)
        out = normalise(x, SR, -16.0, -1.0)
        assert out.silent and out.gain_db == 0.0 and out.lufs == -math.inf
        assert np.array_equal(out.audio, x)
    assert true_peak_dbtp(np.zeros(10, np.float32), SR) == -math.inf
    quiet = _tone(10 ** (-60 / 20))  # quiet, but above the gate: not silent
    assert not is_silent(integrated_lufs(quiet, SR))
    # shorter than one 400 ms block: measured padded to one block, so a little lower than its level
    short = _tone(0.1, seconds=0.2)
    assert integrated_lufs(short, SR) == pytest.approx(-20 - 3.01 - 3.01, abs=0.2)


@pytest.mark.parametrize("target", [-16.0, -14.0, -23.0])
def test_normalise_reaches_the_target_within_half_an_lu(target):
    x = _speechlike(4.0, level=0.01)
    out = normalise(x, SR, target, -1.0)
    assert not out.silent
    assert pyln.Meter(SR).integrated_loudness(out.audio.astype(np.float64)) == pytest.approx(target, abs=0.5)
    assert out.lufs == pytest.approx(integrated_lufs(out.audio, SR), abs=0.1)
    assert out.true_peak <= -1.0 - HEADROOM_DB + 1e-6
    assert out.input_lufs == pytest.approx(integrated_lufs(x, SR))


def test_a_clipped_burst_is_limited_under_the_ceiling_and_keeps_the_loudness():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((SR * 5, 2)) * 0.02).astype(np.float32)
    burst = slice(2 * SR, 2 * SR + 2400)  # 50 ms of a hard-clipped square-ish wave at full scale
    x[burst] = np.clip(4 * np.sin(2 * np.pi * 440 * np.arange(2400) / SR), -1, 1)[:, None]
    x[::4800] = 0.95  # and sharp clicks: the gain to -14 LUFS would push them far over 0 dBFS
    out = normalise(x, SR, -14.0, -1.0)
    assert integrated_lufs(out.audio, SR) == pytest.approx(-14.0, abs=0.5)
    assert true_peak_dbtp(out.audio, SR) <= -1.0 - HEADROOM_DB + 1e-6
    assert out.gain_db > 0
    # the limiter only touches what it must: far from the peaks the audio is the plain gain of the input
    quiet = slice(int(3.5 * SR) + 1000, int(3.5 * SR) + 3000)
    assert np.allclose(out.audio[quiet], x[quiet] * 10 ** (out.gain_db / 20), rtol=1e-3, atol=1e-6)


def test_limiter_holds_the_ceiling_and_passes_quiet_audio_unchanged():
    x = _speechlike(2.0, level=0.5)
    y = limit_true_peak(x, SR, -6.0)
    assert true_peak_dbtp(y, SR) <= -6.0 + 0.05
    assert y.shape == x.shape and y.dtype == np.float32
    q = _speechlike(2.0, level=0.01)
    assert np.array_equal(limit_true_peak(q, SR, -1.0), q)


def test_measure_file_on_an_encoded_file(tmp_path):
    # harmonics under 2 kHz (white noise would lose loudness to the AAC encoder's low-pass)
    t = np.arange(5 * SR) / SR
    voiced = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12)) * np.sin(2 * np.pi * 1.5 * t) ** 2
    x = normalise(np.stack([voiced, 0.7 * voiced], 1).astype(np.float32), SR, -14.0, -1.0).audio
    wav = tmp_path / "a.wav"
    sf.write(wav, x, SR, subtype="FLOAT")
    m4a = tmp_path / "a.m4a"
    run_ffmpeg(["-i", wav, "-c:a", "aac", "-b:a", "192k", m4a])
    lufs_wav, tp_wav = measure_file(wav)
    assert lufs_wav == pytest.approx(integrated_lufs(x, SR), abs=0.01)
    assert tp_wav == pytest.approx(true_peak_dbtp(x, SR), abs=0.01) and tp_wav <= -1.0 - HEADROOM_DB + 1e-6
    lufs, tp = measure_file(m4a)
    assert lufs == pytest.approx(-14.0, abs=0.5)
    assert tp <= -1.0  # the headroom left for the encoder was enough
    silent = tmp_path / "s.wav"
    sf.write(silent, np.zeros((SR, 2), np.float32), SR)
    assert measure_file(silent) == (-math.inf, -math.inf)
