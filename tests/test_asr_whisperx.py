"""whisperx's real code path: whisperx.load_model (falls back to faster-whisper when pyannote / large-v2 are
missing), whisperx.load_align_model on a local wav2vec2 CTC folder, whisperx.align.

The alignment model is a tiny random-weight Wav2Vec2ForCTC built from the real config classes with a character
vocabulary, saved with save_pretrained and loaded by whisperx through from_pretrained, as a real one would be.
Random weights give arbitrary (but well-formed) times, so this checks the wiring, not the accuracy.
"""

import json

import pytest

whisperx = pytest.importorskip("whisperx")
pytest.importorskip("pandas")

from storygen.providers.asr.whisperx_asr import WhisperXASR  # noqa: E402

TEXT = "The keeper climbed the stairs every night. Then the sea brought him a letter."


@pytest.fixture(scope="module")
def align_dir(tmp_path_factory):
    import torch
    from transformers import (Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC,
                              Wav2Vec2Processor)

    d = tmp_path_factory.mktemp("w2v")
    chars = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("abcdefghijklmnopqrstuvwxyz'")
    (d / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(chars)}))
    tok = Wav2Vec2CTCTokenizer(str(d / "vocab.json"), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|")
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=False)
    Wav2Vec2Processor(feature_extractor=fe, tokenizer=tok).save_pretrained(d)
    cfg = Wav2Vec2Config(vocab_size=len(chars), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, conv_dim=(32, 32, 32, 32, 32, 32, 32), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                         conv_stride=(5, 2, 2, 2, 2, 2, 2), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                         pad_token_id=0)
    torch.manual_seed(0)
    Wav2Vec2ForCTC(cfg).eval().save_pretrained(d)
    return d


def test_whisperx_pipeline_runs_offline(align_dir, tmp_path):
    from storygen.providers.voice.piper_tts import PiperVoice

    sp = PiperVoice({}).synthesize(TEXT, tmp_path / "v.wav")
    asr = WhisperXASR({"asr_model": "", "align_model": str(align_dir), "compute_type": "int8"})
    heard = asr.transcribe(sp.wav, language="en")
    assert asr.backend  # which Whisper pass ran is recorded
    # whisperx's own words (its split of the Whisper transcript), each with a time inside the audio
    text = " ".join(h.word.lower() for h in heard)
    assert "stairs" in text and "letter" in text
    dur = sp.words[-1].end + 1.0
    assert all(0 <= h.start <= h.end <= dur for h in heard)
    starts = [h.start for h in heard]
    assert starts == sorted(starts)
    # the stand-in for a missing torchaudio never leaks into the process
    import sys

    assert not getattr(sys.modules.get("torchaudio"), "__storygen_stub__", False)


def test_missing_alignment_model_is_a_clear_error(tmp_path):
    from storygen.errors import ProviderError

    asr = WhisperXASR({"asr_model": "", "align_model": str(tmp_path / "no-such-model")})
    from storygen.providers.voice.piper_tts import PiperVoice

    sp = PiperVoice({}).synthesize("Hello there.", tmp_path / "v.wav")
    with pytest.raises(ProviderError, match="align_model"):
        asr.transcribe(sp.wav)
