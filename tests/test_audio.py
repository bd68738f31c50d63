import wave

import numpy as np
import pytest
import soundfile as sf

from storygen.errors import InputError
from storygen.media.audio import decode_to_wav, postprocess, silence_mask
from storygen.media.ffmpeg import run_ffmpeg
from storygen.media.loudness import measure_file, true_peak_dbtp
from storygen.models import WordTiming

SR = 22050


def _speechlike(seconds, sr=SR, seed=0, level=0.1):
    """Noise bursts with a syllable envelope: loudness meters and silence detectors treat it like speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    return (level * env * rng.standard_normal(t.size)).astype(np.float32)


def _track(tmp_path):
    """1.2 s silence, word A 0.8 s, 2.0 s pause, word B 0.6 s, 0.3 s pause, word C 0.5 s, 1.5 s silence."""
    parts, words, t = [], [], 0.0
    for kind, dur, name in [("s", 1.2, None), ("w", 0.8, "A"), ("s", 2.0, None), ("w", 0.6, "B"), ("s", 0.3, None),
                            ("w", 0.5, "C"), ("s", 1.5, None)]:
        if kind == "w":
            parts.append(_speechlike(dur, seed=len(parts)))
            words.append(WordTiming(word=name, start=t, end=t + dur))
        else:
            parts.append(np.zeros(int(dur * SR), np.float32))
        t += dur
    x = np.concatenate(parts)
    p = tmp_path / "in.wav"
    sf.write(p, x, SR, subtype="PCM_16")
    return p, words


def test_postprocess_loudness_trim_pauses_padding_and_word_times(tmp_path):
    src, words = _track(tmp_path)
    out = tmp_path / "out.wav"
    new_words, st = postprocess(src, out, words, target_lufs=-16.0, pad_start=0.5, pad_end=1.0, max_pause=0.7)
    y, sr = sf.read(out, dtype="float32")
    assert sr == 48000 and y.ndim == 1
    # loudness measured on the file itself
    assert abs(measure_file(out)[0] - (-16.0)) <= 0.5
    assert abs(st["output_lufs"] + 16.0) <= 0.5 and st["input_lufs"] < -20
    assert true_peak_dbtp(y, sr) <= -1.0
    # padding: 0.5 s / 1.0 s of near-silence at the ends, speech right after / before
    head, tail = y[: int(0.5 * sr)], y[-int(1.0 * sr):]
    assert np.max(np.abs(head)) < 1e-3 and np.max(np.abs(tail)) < 1e-3
    assert np.max(np.abs(y[int(0.5 * sr): int(0.6 * sr)])) > 0.01
    # the 2.0 s pause became 0.7 s; the 0.3 s one stayed
    assert st["shortened_pauses"] == 1 and abs(st["removed_pause_seconds"] - 1.3) < 0.05
    assert abs(st["duration"] - (0.5 + 0.8 + 0.7 + 0.6 + 0.3 + 0.5 + 1.0)) < 0.12
    # word timings moved with every edit: each word still sits on its audio
    a, b, c = new_words
    assert abs(a.start - 0.5) < 0.06 and abs(b.start - (a.end + 0.7)) < 0.03 and abs(c.start - (b.end + 0.3)) < 0.03
    mask, hop, _ = silence_mask(y, sr)
    for w in new_words:
        i0, i1 = int(w.start * sr / hop) + 2, int(w.end * sr / hop) - 2
        assert (~mask[i0:i1]).mean() > 0.9, w


def test_postprocess_limits_peaks_when_gain_is_large(tmp_path):
    x = _speechlike(3.0, level=0.005)
    x[SR: SR + 50] = 0.9  # a click that plain gain would clip
    p = tmp_path / "quiet.wav"
    sf.write(p, x, SR)
    _, st = postprocess(p, tmp_path / "o.wav", None)
    assert abs(st["output_lufs"] + 16) <= 0.5 and st["true_peak_dbtp"] <= -0.9


def test_decode_mp3_and_errors(tmp_path):
    src, _ = _track(tmp_path)
    mp3 = tmp_path / "a.mp3"
    run_ffmpeg(["-i", src, "-c:a", "libmp3lame", "-b:a", "192k", mp3])
    dur = decode_to_wav(mp3, tmp_path / "a.wav")
    assert abs(dur - 6.9) < 0.1
    assert sf.info(tmp_path / "a.wav").samplerate == 48000

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR * 2, np.float32), SR)
    with pytest.raises(InputError, match="silent"):
        decode_to_wav(silent, tmp_path / "x.wav")
    with pytest.raises(InputError, match="silent"):
        postprocess(silent, tmp_path / "y.wav", None)

    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"this is not audio at all" * 100)
    with pytest.raises(InputError, match="not a readable audio file"):
        decode_to_wav(corrupt, tmp_path / "x.wav")

    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        decode_to_wav(empty, tmp_path / "x.wav")

    with pytest.raises(InputError, match="does not exist"):
        decode_to_wav(tmp_path / "nope.wav", tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()  # nothing half-written


def test_wav_with_wrong_header(tmp_path):
    # a RIFF header that claims 8-bit stereo at 8 kHz over 16-bit mono data: either decoded (it is still audio)
    # or refused with a clear message, never a crash or a silent result
    x = (_speechlike(1.0) * 32767).astype("<i2").tobytes()
    bad = tmp_path / "bad.wav"
    with wave.open(str(bad), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(x)
    data = bytearray(bad.read_bytes())
    data[8:12] = b"WAVX"  # broken format tag
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match="not a readable audio file"):
        decode_to_wav(bad, tmp_path / "x.wav")
    # and a truncated header
    trunc = tmp_path / "trunc.wav"
    trunc.write_bytes(bytes(data[:30]))
    with pytest.raises(InputError):
        decode_to_wav(trunc, tmp_path / "y.wav")
