"""DTW reference alignment: the banded DTW on a known warp, and the whole ASR path on real speech.

The end-to-end test speaks a script with an espeak-ng voice and speed other than the reference reading
(en-us+f3 at 200 wpm vs en-us at 165), recognises it with the packaged faster-whisper tiny.en, and checks
``align_to_audio`` against espeak's own word events (exact to ~5 ms).
"""

from __future__ import annotations

import numpy as np
import pytest

from storygen.captions import dtw
from storygen.captions.align import align_to_audio, alignment_report, refine_with_audio
from storygen.text.timing import align_words
from storygen.text.words import script_words

SCRIPT = ("Every night for thirty years, Elias climbed the lighthouse stairs. Then one morning, the sea left a "
          "green bottle at his door. Inside was a letter, dated 1987, addressed to him. It was his own handwriting. "
          "He read it twice, folded it slowly, and walked down to the water without a word.")


def test_banded_dtw_recovers_a_known_warp():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal((300, 8)).astype(np.float32)
    # target: ref stretched by 1.3 in its first half, a 40-frame pause inserted, then unchanged
    idx = np.concatenate([np.floor(np.arange(195) / 1.3).astype(int), np.full(40, 149), np.arange(150, 300)])
    first = ref[idx] + 0.05 * rng.standard_normal((idx.size, 8)).astype(np.float32)
    true_j = {int(i): int(np.flatnonzero(idx == i)[0]) for i in range(300)}
    center = np.array([true_j[i] for i in range(300)], float) + 25  # a prior 25 frames off
    pi, pj, _ = dtw.banded_dtw(ref, first, center, 40)
    assert pi[0] == 0 and pj[0] == 0 and pi[-1] == 299 and pj[-1] == idx.size - 1
    got = dtw.map_boundaries(pi, pj, np.arange(0, 300, 10), side="start")
    want = np.array([true_j[i] for i in range(0, 300, 10)])
    assert np.max(np.abs(got - want)) <= 1
    # a narrow band far from the truth cannot reach it: the band is respected, so the answer is off
    pi2, pj2, _ = dtw.banded_dtw(ref, first, center + 80, 10)
    got2 = dtw.map_boundaries(pi2, pj2, np.arange(50, 250, 10), side="start")
    assert np.median(np.abs(got2 - want[5:25])) > 40


def test_espeak_reference_gives_ordered_word_times():
    words = script_words(SCRIPT)
    ref = dtw.espeak_reference(words)
    assert ref.starts.shape == (len(words),) and ref.ends.shape == (len(words),)
    assert np.all(np.diff(ref.starts) >= 0) and np.all(ref.ends >= ref.starts)
    assert ref.ends[-1] <= ref.audio.size / ref.sample_rate + 1e-6
    # a sentence end is followed by a pause: the word ends before the next starts
    k = words.index("stairs.")
    assert ref.starts[k + 1] - ref.ends[k] > 0.1


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    import soundfile as sf

    from storygen.providers.asr.faster_whisper_asr import FasterWhisperASR

    words = script_words(SCRIPT)
    text = " ".join(words)
    audio, sr, events = dtw.espeak_synth(text, "en-us+f3", 200)
    offs, pos = [], 0
    for w in words:
        offs.append(pos)
        pos += len(w) + 1
    truth = {}
    for typ, cpos, t, _ in events:
        if typ == dtw.EVENT_WORD and cpos in offs and offs.index(cpos) not in truth:
            truth[offs.index(cpos)] = t
    wav = tmp_path_factory.mktemp("dtw") / "voice.wav"
    # a quiet room-noise floor, as in a real recording
    noisy = audio + 0.002 * np.random.default_rng(0).standard_normal(audio.size).astype(np.float32)
    sf.write(str(wav), noisy, sr, subtype="PCM_16")
    asr = FasterWhisperASR({"asr_model": "", "compute_type": "int8", "vad_filter": False})
    heard = asr.transcribe(wav, language="en")
    return words, wav, heard, truth


def _errors(words_out, truth):
    return np.array([abs(words_out[i].start - t) * 1000 for i, t in truth.items()])


def test_align_to_audio_meets_the_target_and_beats_asr_alone(spoken):
    words, wav, heard, truth = spoken
    assert len(truth) >= 0.8 * len(words)
    out = align_to_audio(SCRIPT, heard, wav)
    assert [w.word for w in out] == words
    assert [w.start for w in out] == sorted(w.start for w in out)
    e = _errors(out, truth)
    old = _errors(refine_with_audio(align_words(words, heard), wav), truth)
    assert np.median(e) <= 30 and np.percentile(e, 95) <= 80, (np.median(e), np.percentile(e, 95))
    assert np.percentile(e, 95) < np.percentile(old, 95)
    assert alignment_report(out)["low_confidence"] is False


def test_other_text_keeps_asr_times_and_reports_low_confidence(spoken):
    _words, wav, heard, _truth = spoken
    other = "Der alte Leuchtturmwärter stieg dreißig Jahre lang jede Nacht die Treppe hinauf und schwieg."
    out = align_to_audio(other, heard, wav)
    assert len(out) == len(script_words(other))
    assert alignment_report(out)["low_confidence"] is True


def test_empty_script_gives_no_words(spoken):
    _words, wav, heard, _truth = spoken
    assert align_to_audio("", heard, wav) == []


def test_band_follows_a_reading_that_runs_at_another_speed():
    """The reference reads 25% slower than the voice: the ASR's word starts drift away from the reference's
    by 0.25 s a second. The band must follow that drift from the first word on (a running median of the raw
    offsets lagged it by ~0.8 s over long Japanese phrases)."""
    ref_starts = np.arange(0.0, 40.0, 1.25)  # one phrase every 1.25 s in the reference
    prior = ref_starts * 0.8 + 0.3  # the voice: 0.3 s of leading silence, then faster
    prior[5] += 0.6  # one misheard word must not bend the band
    hop = 0.01
    center, anchored = dtw.band_center(ref_starts, prior, np.ones(ref_starts.size, bool), 4000, hop,
                                       target_seconds=33.0)
    assert anchored
    for t in (0.0, 1.25, 5.0, 20.0, 38.75):
        assert abs(center[int(round(t / hop))] * hop - (0.8 * t + 0.3)) < 0.03, t
