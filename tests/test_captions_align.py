import numpy as np

from storygen.captions.align import LOW_CONFIDENCE, alignment_confidence, alignment_report, refine_with_audio
from storygen.models import HeardWord
from storygen.text.timing import align_words
from storygen.text.words import script_words


def _heard(tokens, step=0.4, dur=0.3, t0=1.0):
    return [HeardWord(w, t0 + i * step, t0 + i * step + dur, 0.9) for i, w in enumerate(tokens)]


def test_exact_match_keeps_script_words_and_times():
    words = script_words("She waited for 30 years, didn't she?")
    heard = _heard(["She", "waited", "for", "thirty", "years,", "didn't", "she?"])
    out = align_words(words, heard, lag=0.0)
    assert [w.word for w in out] == words  # captions show the script, never the ASR text
    assert all(w.matched for w in out)
    assert [w.start for w in out] == [round(h.start, 3) for h in heard]
    assert alignment_confidence(out) == 1.0


def test_asr_errors_numbers_splits_and_missing_words():
    words = script_words("Mara planted the apple tree in 1994, every day.")
    # ASR: misspelt name, number as digits split differently, "every day" joined, "the" dropped
    heard = _heard(["Marra", "planted", "apple", "tree", "in", "nineteen", "ninety-four,", "everyday."])
    out = align_words(words, heard, lag=0.0)
    assert [w.word for w in out] == words
    by = {w.word: w for w in out}
    assert by["Mara"].matched and by["Mara"].start == 1.0
    assert by["1994,"].matched
    assert abs(by["1994,"].start - heard[5].start) < 1e-6 and abs(by["1994,"].end - heard[6].end) < 1e-6
    # the dropped "the" is interpolated between its neighbours and flagged
    the = by["the"]
    assert not the.matched and the.confidence < 0.5
    assert by["planted"].end <= the.start <= the.end <= by["apple"].start
    # "everyday" covers both script words, split in order
    assert by["every"].matched and by["day."].matched
    assert by["every"].start < by["day."].start <= by["every"].end + 1e-6
    starts = [w.start for w in out]
    assert starts == sorted(starts)


def test_lag_correction_applies_to_matched_words():
    words = ["one", "two"]
    out = align_words(words, _heard(["one", "two"]), lag=0.05)
    assert abs(out[0].start - 0.95) < 1e-6


def test_other_language_is_low_confidence_not_hidden():
    words = script_words("The old lighthouse keeper climbed the stairs every single night for thirty years.")
    heard = _heard("Der alte Leuchtturmwärter stieg dreißig Jahre lang jede Nacht die Treppe hinauf".split())
    out = align_words(words, heard)
    rep = alignment_report(out)
    assert len(out) == len(words)
    assert rep["matched_share"] < LOW_CONFIDENCE and rep["low_confidence"] is True


def test_no_heard_words_interpolates_everything():
    out = align_words(["a", "b", "c"], [])
    assert len(out) == 3 and not any(w.matched for w in out)


def test_refine_snaps_to_pause_edges():
    sr = 16000
    rng = np.random.default_rng(0)
    x = np.zeros(sr * 3, np.float32)
    x[int(0.5 * sr): int(1.2 * sr)] = 0.3 * rng.standard_normal(int(0.7 * sr))  # word 1
    x[int(1.6 * sr): int(2.4 * sr)] = 0.3 * rng.standard_normal(int(0.8 * sr))  # word 2
    words = align_words(["hello", "world"], [HeardWord("hello", 0.56, 1.28), HeardWord("world", 1.66, 2.33)], lag=0.0)
    out = refine_with_audio(words, x, sr)
    assert abs(out[0].start - 0.5) < 0.025 and abs(out[0].end - 1.2) < 0.025
    assert abs(out[1].start - 1.6) < 0.025 and abs(out[1].end - 2.4) < 0.025


def test_japanese_phrases_match_character_by_character():
    # a Japanese caption word is a phrase up to 、 or 。; the ASR hears a few characters at a time
    words = script_words("むかしむかし、あるところに、おじいさんがすんでいました。")
    assert len(words) == 3
    pieces = ["む", "かし", "むか", "し、", "ある", "と", "こ", "ろに、", "おじい", "さんが", "すんで", "いま", "した。"]
    heard = _heard(pieces, step=0.2, dur=0.15)
    out = align_words(words, heard, lag=0.0)
    assert [w.word for w in out] == words and all(w.matched for w in out)
    assert [w.start for w in out] == [heard[0].start, heard[4].start, heard[8].start]
    assert abs(out[2].end - heard[-1].end) < 1e-6
    # a misheard character costs that character only, not the phrase
    heard[5] = HeardWord("ど", heard[5].start, heard[5].end, 0.5)
    assert alignment_confidence(align_words(words, heard, lag=0.0)) == 1.0


def test_a_kana_script_matches_a_kanji_transcript_and_back(monkeypatch):
    """Whisper writes kanji where the voice read a kana script (and kana where the script has kanji): both sides
    are matched on their kana readings, so every phrase is found where it was heard."""
    from storygen.text import kana

    kana_words = script_words("むかしむかし、うみのそばに、ちいさなとうだいがありました。")
    kanji_pieces = ["昔", "々、", "海", "の", "そばに、", "小さな", "灯", "台", "が", "ありました。"]
    heard = _heard(kanji_pieces, step=0.3, dur=0.25)
    out = align_words(kana_words, heard, lag=0.0, language="ja")
    assert all(w.matched for w in out)
    assert [w.start for w in out] == [heard[0].start, heard[2].start, heard[5].start]
    kanji_words = script_words("昔々、海のそばに、小さな灯台がありました。")
    heard_kana = _heard(["むかし", "むかし、", "うみの", "そばに、", "ちいさな", "とうだいが", "ありました。"], step=0.3, dur=0.25)
    back = align_words(kanji_words, heard_kana, lag=0.0, language="ja")
    assert all(w.matched for w in back) and [w.start for w in back] == [heard_kana[0].start, heard_kana[2].start, heard_kana[4].start]
    # without the readings (or for another language), kanji and kana share no characters
    words = script_words("むかしむかし、とうだい、ありました。")
    heard = _heard(["昔々、", "灯台、", "ありました。"], step=0.5, dur=0.4)
    assert [w.matched for w in align_words(words, heard, lag=0.0, language="ja")] == [True, True, True]
    assert [w.matched for w in align_words(words, heard, lag=0.0)] == [False, False, True]
    monkeypatch.setattr(kana, "_kakasi", lambda: None)
    assert [w.matched for w in align_words(words, heard, lag=0.0, language="ja")] == [False, False, True]


def test_a_narration_of_another_text_spreads_the_words_over_the_speech(tmp_path):
    """QA: the narration read a different story; chance matches ("A", "on", "the") squeezed 22 words into 0.6 s
    and held one word for 8.7 s. Now the words share the speech by length, and no caption cue overlaps another."""
    import soundfile as sf

    from storygen.captions.align import align_to_audio, silent_runs
    from storygen.captions.formats import _cues
    from storygen.media.audio import load_mono
    from storygen.providers.voice.piper_tts import PiperVoice

    sp = PiperVoice({}).synthesize("The old lighthouse keeper found a green bottle on the rocks at dawn. Inside was "
                                   "a letter written forty years ago. He read it twice.", tmp_path / "other.wav")
    script = ("A young baker in Lisbon wakes at four every morning. She bakes one loaf more than she can sell. "
              "Each night she leaves it on the step for a stranger.")
    heard = [HeardWord(w.word, w.start, w.end, 0.9) for w in sp.words]  # heard right: it is just another text
    out = align_to_audio(script, heard, sp.wav)
    assert alignment_report(out)["low_confidence"] and [w.word for w in out] == script_words(script)
    x = load_mono(sp.wav, 16000)
    sil = silent_runs(x, 16000)
    first = float(sil[0][1]) if len(sil) and sil[0][0] == 0 else 0.0
    assert abs(out[0].start - first) < 0.05 and out[-1].end > x.size / 16000 - 1.2
    durations = [w.end - w.start for w in out]
    assert min(durations) > 0.05 and max(durations) < 1.5, durations
    assert all(a.end <= b.start + 1e-6 for a, b in zip(out, out[1:]))
    cues = _cues(out, "phrase", 3, 18)
    assert all(a[1] <= b[0] for a, b in zip(cues, cues[1:])), cues
    assert sf.info(str(sp.wav)).duration > 5
