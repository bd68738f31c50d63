"""Captions on voices storygen did not make.

* Pure numpy: the onset snapping (``snap_to_onsets``) on synthetic speech with known word times, where
  the estimates make the mistakes seen on other engines' voices (the first word pulled into the leading
  silence, words after a pause placed early or late).
* With a Debian speech engine (flite, through libflite): a short story read by a voice that is neither
  Piper nor espeak-ng, aligned through the product's path (tiny.en + ``align_to_audio``) and checked
  against the engine's own word times. Skipped, saying what to install, where flite is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from storygen.captions.align import after_pause, silent_runs, snap_to_onsets
from storygen.models import WordTiming

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

SR = 16000


def _speech(segments: list[tuple[float, float]], total: float, seed: int = 0) -> np.ndarray:
    """Noise bursts shaped like syllables where the words are, a faint room-noise floor elsewhere."""
    rng = np.random.default_rng(seed)
    x = 0.001 * rng.standard_normal(int(total * SR)).astype(np.float32)
    for a, b in segments:
        n = int((b - a) * SR)
        env = 0.3 + 0.7 * np.abs(np.sin(np.linspace(0, 3 * np.pi, n)))
        x[int(a * SR): int(a * SR) + n] += (0.2 * env * rng.standard_normal(n)).astype(np.float32)
    return x


# word, true start, true end; "gone." ends a sentence (a 0.45 s pause), "quietly," a clause (0.12 s), and
# "kept" starts after a 50 ms stop closure inside the phrase (not a pause)
TRUE = [("Rain", 0.62, 0.95), ("fell", 0.95, 1.30), ("and", 1.30, 1.50), ("she", 1.50, 1.80), ("was", 1.80, 2.05),
        ("gone.", 2.05, 2.50), ("Nobody", 2.95, 3.40), ("spoke", 3.40, 3.80), ("quietly,", 3.80, 4.30),
        ("then", 4.42, 4.70), ("kept", 4.75, 5.05), ("walking.", 5.05, 5.60)]


def _words(starts: list[float]) -> list[WordTiming]:
    ends = [*starts[1:], TRUE[-1][2]]
    return [WordTiming(word=w, start=s, end=max(s, e - 0.01)) for (w, _a, _b), s, e in zip(TRUE, starts, ends)]


@pytest.fixture(scope="module")
def audio():
    segs = []
    for k, (_w, a, b) in enumerate(TRUE):
        segs.append((a, b if k + 1 == len(TRUE) or TRUE[k + 1][1] > b else b - 0.001))
    x = _speech(segs, 6.2)
    x[int(4.70 * SR): int(4.75 * SR)] = 0.0  # the stop closure before "kept"
    return x


def test_silent_runs_finds_the_pauses(audio):
    runs = silent_runs(audio, SR)
    ends = runs[:, 1]
    for t in (0.62, 2.95, 4.42, 4.75):
        assert np.min(np.abs(ends - t)) <= 0.011, (t, runs)


def test_after_pause_marks_the_first_word_and_punctuation():
    words = [w for w, _a, _b in TRUE]
    ap = after_pause(words)
    assert ap[0] and ap[words.index("Nobody")] and ap[words.index("then")]
    assert not ap[words.index("kept")] and not ap[words.index("fell")]
    # a pause in the reference reading counts too
    rs = np.array([a for _w, a, _b in TRUE])
    re_ = rs + 0.2
    assert after_pause(words, rs, re_)[words.index("fell")]


def test_snap_moves_starts_onto_onsets_after_pauses(audio):
    truth = np.array([a for _w, a, _b in TRUE])
    est = truth.copy()
    est[0] = 0.0  # the first word pulled into the leading silence (seen: 450-545 ms early)
    est[6] = 2.62  # "Nobody" placed inside the pause, 330 ms early
    est[9] = 4.50  # "then" 80 ms late, past its onset
    est[4] = 1.83  # an in-phrase word 30 ms late: no pause to snap to, left alone
    words = [w for w, _a, _b in TRUE]
    out = snap_to_onsets(_words(list(est)), audio, SR, after_pause(words))
    got = np.array([w.start for w in out])
    assert abs(got[0] - 0.62) <= 0.011 and abs(got[6] - 2.95) <= 0.011 and abs(got[9] - 4.42) <= 0.011, got
    assert abs(got[4] - 1.83) < 1e-6
    # the word before a pause now ends where the pause starts
    assert abs(out[5].end - 2.50) <= 0.011
    assert list(got) == sorted(got)


def test_snap_keeps_stop_closures_inside_a_phrase(audio):
    truth = [a for _w, a, _b in TRUE]
    words = [w for w, _a, _b in TRUE]
    est = list(truth)
    est[10] = 4.72  # "kept" estimated inside its 50 ms closure: a closure is not a pause
    got = snap_to_onsets(_words(est), audio, SR, after_pause(words))
    assert abs(got[10].start - 4.72) < 1e-6
    # a word estimated inside a real (>= 0.1 s) pause without punctuation before it still moves to the onset
    est2 = list(truth)
    est2[6] = 2.70
    got2 = snap_to_onsets(_words(est2), audio, SR, np.zeros(len(words), bool))
    assert abs(got2[6].start - 2.95) <= 0.011


# ---------------------------------------------------------------- a voice from another engine (Debian flite)
FLITE_TEXT = ("In the morning, Mara was a ghost in the old house on Hollow Street. She had been there for thirty "
              "years, waiting for someone to notice the lights. Nobody did. Then, on a rainy Tuesday in October, "
              "a girl named Iris knocked on the door. She was eleven, and she wasn't afraid of anything.")


def test_flite_voice_through_the_product_path(tmp_path):
    import alignment_voices as av

    missing = av.available("flite-slt")
    if missing:
        pytest.skip(f"flite is not installed (the product never needs it; the test does): {missing}")
    import soundfile as sf

    from storygen.captions.align import align_to_audio, alignment_report
    from storygen.providers.asr.faster_whisper_asr import FasterWhisperASR
    from storygen.text.words import script_words

    audio, sr, engine_words = av.flite(FLITE_TEXT, "slt")
    words = script_words(FLITE_TEXT)
    truth = av.truth_for(words, engine_words)
    assert len(truth) == len(words)
    # the engine's own times agree with its audio: after each pause the word starts at the energy onset
    chk = av.onset_check(audio, sr, truth)
    assert chk.size >= 3 and np.median(np.abs(chk)) <= 15, chk
    wav = tmp_path / "flite.wav"
    sf.write(str(wav), audio, sr, subtype="PCM_16")
    heard = FasterWhisperASR({"asr_model": "", "compute_type": "int8", "vad_filter": False}).transcribe(wav)
    out = align_to_audio(FLITE_TEXT, heard, wav)
    assert [w.word for w in out] == words and not alignment_report(out)["low_confidence"]
    e = np.abs(av.errors(out, truth))
    assert np.median(e) <= 30 and np.percentile(e, 95) <= 80, (np.median(e), np.percentile(e, 95))
    assert abs(out[0].start - truth[0][0]) <= 0.05  # the first word is not pulled into the leading silence
