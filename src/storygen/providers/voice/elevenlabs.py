"""ElevenLabs text-to-speech over its HTTP API (httpx), with character timings when asked.

POST {base_url}/v1/text-to-speech/{voice_id}[/with-timestamps]?output_format=mp3_44100_192
headers: xi-api-key, Accept: audio/mpeg; body: text, model_id, voice_settings{stability, similarity_boost}.
The with-timestamps variant answers JSON with ``audio_base64`` and ``alignment`` (characters and their
start/end seconds): those map onto the script's words, so no ASR pass is needed.

Long scripts go in sentence-aligned requests under ~2,500 characters; each MP3 is decoded to PCM with the
bundled ffmpeg and the pieces are joined sample-exactly, with their timings offset. The API key is never
put in an error message or a log line.
"""

from __future__ import annotations

import base64
import re
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from storygen.config import DEFAULTS, Config
from storygen.errors import ConfigError, InputError, ProviderError
from storygen.models import HeardWord, WordTiming
from storygen.providers.voice.base import Speech
from storygen.text.sentences import split_sentences
from storygen.text.timing import align_words, make_monotonic
from storygen.text.words import AUDIO_TAG, script_words, speakable_text

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
DEFAULT_MODEL = "eleven_multilingual_v2"
NO_KEY = ("The ElevenLabs voice needs an API key: ELEVENLABS_API_KEY is not set.",
          "export ELEVENLABS_API_KEY=... (or use -c voice.provider=piper for the offline voice).")
MODELS = ("eleven_multilingual_v2", "eleven_v3", "eleven_turbo_v2_5", "eleven_flash_v2_5")
_V2 = frozenset("en ja zh de hi fr ko pt it es id nl tr fil pl sv bg ro ar cs el fi hr ms sk da ta uk ru".split())
_V25 = _V2 | {"hu", "no", "vi"}
_V3 = _V25 | frozenset("he th bn fa af hy as az be bs ca ceb et gl ka gu ha is ga jv kn kk ky lv ln lt lb mk mai ml "
                       "mr ne ps pa sr sd sl so sw te ur cy".split())
#: the languages each model speaks (ElevenLabs' model docs); the English-only models speak "en"
MODEL_LANGUAGES: dict[str, frozenset[str]] = {
    "eleven_multilingual_v2": _V2, "eleven_turbo_v2_5": _V25, "eleven_flash_v2_5": _V25, "eleven_v3": _V3,
    "eleven_monolingual_v1": frozenset({"en"}), "eleven_turbo_v2": frozenset({"en"}),
    "eleven_flash_v2": frozenset({"en"}),
}
#: the models whose API takes ``language_code`` (the others answer an error when it is sent)
LANGUAGE_CODE_MODELS = frozenset({"eleven_turbo_v2_5", "eleven_flash_v2_5", "eleven_v3"})
OUTPUT_FORMAT = "mp3_44100_192"
MAX_CHARS = 2500
# ElevenLabs' public premade voices
DEFAULT_VOICES = {
    "female": "21m00Tcm4TlvDq8ikWAM",  # Rachel: calm, young adult female
    "male": "pNInz6obpgDQGcFmaJgB",  # Adam: deep, narration male
    "neutral": "EXAVITQu4vr4xnSDxMaL",  # Sarah (Bella): soft, warm
}
_SAMPLE_RATE = 44100


def chunk_text(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Split at sentence boundaries into pieces under ``max_chars`` (a giant sentence is split at commas, then words)."""
    pieces: list[str] = []
    for sent in split_sentences(text):
        if len(sent) <= max_chars:
            pieces.append(sent)
        else:
            pieces += _pack(re.split(r"(?<=[,;:—])\s+|\s+", sent), max_chars)
    return _pack(pieces, max_chars)


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Join ``parts`` with spaces, greedily, into strings of at most ``max_chars`` (a longer part stands alone)."""
    out: list[str] = []
    cur = ""
    for part in parts:
        if cur and len(cur) + 1 + len(part) > max_chars:
            out.append(cur)
            cur = part
        else:
            cur = f"{cur} {part}" if cur else part
    if cur:
        out.append(cur)
    return out

class ElevenLabsVoice:
    wants_gpu = False
    name = "elevenlabs"
    # the voice performs [whispers]-style tags rather than reading them (with eleven_v3; other models get the
    # tags stripped in ``synthesize``): the script keeps them (as ``writing.text.voice_reads_tags`` decides today)
    reads_audio_tags = True

    @classmethod
    def check_ready(cls, settings: dict[str, Any], cfg: Config | None = None) -> None:
        """Before a story starts: the key, so a missing one is not found after the script is written."""
        if not str(settings.get("api_key") or "").strip():
            raise ProviderError(*NO_KEY)

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        import httpx

        self.version = f"httpx {httpx.__version__}"
        self.settings = {**DEFAULTS["voice"], **settings}
        self.api_key = str(self.settings["api_key"] or "")
        self.base_url = str(self.settings["base_url"] or DEFAULT_BASE_URL).rstrip("/")
        self.model = str(self.settings["model"] or DEFAULT_MODEL)
        if self.model.startswith("gpt-") or self.model.startswith("tts-"):
            raise ConfigError(f"voice.model '{self.model}' is not an ElevenLabs model.", f"use one of: {', '.join(MODELS)}")
        self.with_timestamps = bool(self.settings["with_timestamps"])
        self.stability = float(self.settings["stability"])
        self.similarity_boost = float(self.settings["similarity_boost"])
        # not config keys (tests and callers may pass them)
        self.timeout = float(self.settings.get("timeout", 120.0))
        self.max_retries = int(self.settings.get("max_retries", 3))
        self.max_chars = int(self.settings.get("max_chars", MAX_CHARS))

    @classmethod
    def speaks(cls, settings: dict[str, Any], language: str) -> bool:
        """The multilingual models speak many languages; the English-only ones (eleven_monolingual_v1,
        eleven_turbo_v2, eleven_flash_v2) speak English."""
        from storygen.text.language import base

        model = str(settings.get("model") or DEFAULT_MODEL)
        langs = MODEL_LANGUAGES.get(model)
        if langs is None:  # a model this table does not know: trust the user's choice
            return True
        return base(language) in langs

    def voice_id(self, narrator_gender: str) -> str:
        v = str(self.settings["voice"] or "").strip()
        return v or DEFAULT_VOICES.get(narrator_gender, DEFAULT_VOICES["neutral"])

    # -------------------------------------------------------------- HTTP
    def _post(self, client: Any, voice_id: str, text: str, language: str = "en") -> Any:
        import httpx

        from storygen.text.language import base

        path = f"/v1/text-to-speech/{voice_id}" + ("/with-timestamps" if self.with_timestamps else "")
        body: dict[str, Any] = {"text": text, "model_id": self.model,
                                "voice_settings": {"stability": self.stability, "similarity_boost": self.similarity_boost}}
        if self.model in LANGUAGE_CODE_MODELS:
            body["language_code"] = base(language)
        for attempt in range(self.max_retries + 1):
            try:
                r = client.post(path, params={"output_format": OUTPUT_FORMAT}, json=body)
            except httpx.TimeoutException:
                if attempt < self.max_retries:
                    continue
                raise ProviderError(f"ElevenLabs did not answer within {self.timeout:.0f} s.", "check your connection and try again.") from None
            except httpx.HTTPError as e:
                raise ProviderError(f"Could not reach ElevenLabs at {self.base_url} ({e.__class__.__name__}).",
                                    "check your connection or voice.base_url.") from None
            if r.status_code == 200:
                return r
            detail = _detail(r)
            status = str(detail.get("status", "")).lower()
            if r.status_code == 401 and status not in ("quota_exceeded",):
                raise ProviderError("ElevenLabs rejected the API key (401).",
                                    "set ELEVENLABS_API_KEY to a valid key from elevenlabs.io > Profile > API keys.")
            if status == "quota_exceeded" or "quota" in status:
                raise ProviderError("ElevenLabs says your character quota is used up (quota_exceeded).",
                                    "upgrade your ElevenLabs plan or wait for the monthly reset, or use -c voice.provider=piper.")
            if r.status_code == 429 and attempt < self.max_retries:
                wait = _retry_after(r, attempt)
                time.sleep(wait)
                continue
            if r.status_code == 429:
                raise ProviderError("ElevenLabs kept answering 429 (too many requests / concurrent limit).",
                                    "wait a minute and run the same command again; finished stages are kept.")
            if r.status_code >= 500 and attempt < self.max_retries:
                time.sleep(_retry_after(r, attempt))
                continue
            if r.status_code == 404 or status == "voice_not_found":
                raise ProviderError(f"ElevenLabs has no voice '{voice_id}' (404).", "set voice.voice to a voice id from your ElevenLabs voice library.")
            msg = str(detail.get("message", ""))[:160]
            raise ProviderError(f"ElevenLabs answered {r.status_code}{': ' + msg if msg else ''}.",
                                "check voice.model and voice.voice, or try again later.")
        raise ProviderError("ElevenLabs failed after retries.", "try again later.")  # pragma: no cover

    # -------------------------------------------------------------- synthesis
    def synthesize(self, text: str, out_wav: Path, *, narrator_gender: str = "neutral", on_progress=None,
                   language: str = "en") -> Speech:
        import httpx

        from storygen.media.audio import decode_to_wav, load_mono, write_wav

        words = script_words(text)
        if not words:
            raise InputError("The script has no words to speak.", "write a script with at least one word (emoji and punctuation are not read).")
        if not self.api_key:
            raise ProviderError(*NO_KEY)
        # eleven_v3 reads audio tags such as [whispers]; other models would speak them aloud
        spoken = _tidy(text) if self.model == "eleven_v3" else speakable_text(text)
        chunks = chunk_text(spoken, self.max_chars)
        voice_id = self.voice_id(narrator_gender)
        headers = {"xi-api-key": self.api_key, "Accept": "audio/mpeg", "Content-Type": "application/json"}
        pcm: list[np.ndarray] = []
        chars: list[tuple[str, float, float]] = []  # (character, start, end) over the whole track
        offset = 0.0
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout) as client, \
                tempfile.TemporaryDirectory(prefix="storygen-11labs-") as td:
            for i, chunk in enumerate(chunks):
                r = self._post(client, voice_id, chunk, language)
                align = None
                if self.with_timestamps:
                    try:
                        doc = r.json()
                        mp3 = base64.b64decode(doc["audio_base64"])
                        align = doc.get("alignment") or doc.get("normalized_alignment")
                    except (ValueError, KeyError, TypeError) as e:
                        raise ProviderError("ElevenLabs sent an unexpected reply to with-timestamps.",
                                            "set -c voice.with_timestamps=false to use ASR alignment instead.") from e
                else:
                    mp3 = r.content
                src = Path(td) / f"chunk{i:03d}.mp3"
                src.write_bytes(mp3)
                wav = Path(td) / f"chunk{i:03d}.wav"
                try:
                    decode_to_wav(src, wav, _SAMPLE_RATE)
                except InputError as e:
                    raise ProviderError(f"ElevenLabs returned audio that could not be decoded ({e.problem}).", "try again.") from None
                x = load_mono(wav, _SAMPLE_RATE)
                if align:
                    try:
                        cs = align["characters"]
                        st = align["character_start_times_seconds"]
                        en = align["character_end_times_seconds"]
                    except (KeyError, TypeError) as e:
                        raise ProviderError("ElevenLabs alignment lacks characters/start/end times.",
                                            "set -c voice.with_timestamps=false to use ASR alignment instead.") from e
                    chars += [(c, offset + float(s), offset + float(e)) for c, s, e in zip(cs, st, en)]
                    chars.append((" ", offset + x.size / _SAMPLE_RATE, offset + x.size / _SAMPLE_RATE))
                pcm.append(x)
                offset += x.size / _SAMPLE_RATE
                if on_progress:
                    on_progress((i + 1) / len(chunks))
        write_wav(Path(out_wav), np.concatenate(pcm), _SAMPLE_RATE)
        timings = chars_to_words(chars, words) if chars else None
        return Speech(wav=Path(out_wav), sample_rate=_SAMPLE_RATE, words=timings, model=self.model, voice=voice_id,
                      extra={"requests": len(chunks), "output_format": OUTPUT_FORMAT,
                             "timing_source": "elevenlabs character alignment" if timings else "none (ASR needed)",
                             "voice_settings": {"stability": self.stability, "similarity_boost": self.similarity_boost}})


def _tidy(text: str) -> str:
    return " ".join(text.split())


def _detail(r: Any) -> dict[str, Any]:
    try:
        d = r.json().get("detail", {})
    except (ValueError, AttributeError):
        return {}
    return d if isinstance(d, dict) else {"message": str(d)}


def _retry_after(r: Any, attempt: int) -> float:
    try:
        return min(30.0, max(0.0, float(r.headers.get("retry-after", ""))))
    except ValueError:
        return min(30.0, 1.0 * 2**attempt)


def _letters(text: str) -> list[str]:
    return [c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum()]


def _by_letters(chars: list[tuple[str, float, float]], words: list[str]) -> list[WordTiming] | None:
    """Each word's times from its own letters in the stream, or None when the letters differ."""
    stream = [(c, s, e) for ch, s, e in chars for c in _letters(ch)]
    per_word = [_letters(AUDIO_TAG.sub(" ", w)) for w in words]
    if not stream or [c for w in per_word for c in w] != [c for c, _, _ in stream]:
        return None
    out, pos, last = [], 0, 0.0
    for w, letters in zip(words, per_word):
        if not letters:  # a dash or a tag: no sound of its own
            out.append(WordTiming(word=w, start=last, end=last))
            continue
        a, b = stream[pos][1], stream[pos + len(letters) - 1][2]
        pos += len(letters)
        last = max(b, a)
        out.append(WordTiming(word=w, start=round(a, 3), end=round(last, 3)))
    return make_monotonic(out)


def chars_to_words(chars: list[tuple[str, float, float]], words: list[str]) -> list[WordTiming]:
    """Map a character alignment (the text the API read, audio tags included) onto the script words.

    When the stream's letters are the script's letters (the usual case), each word takes the times of its own
    first and last letter: this needs no spaces, so it holds for Japanese, Chinese and Thai, where the API's
    alignment has none. Otherwise (a number the API read differently, ...) the characters are grouped into
    spoken tokens (whitespace-separated, audio tags dropped) and tokens and script words are matched by
    their letters, so punctuation, tags and spacing differences don't matter.
    """
    text = "".join(c for c, _, _ in chars)
    # drop audio tags from the stream
    keep = np.ones(len(chars), bool)
    for m in AUDIO_TAG.finditer(text):
        keep[m.start(): m.end()] = False
    direct = _by_letters([ch for ch, k in zip(chars, keep) if k], words)
    if direct is not None:
        return direct
    tokens: list[tuple[str, float, float]] = []
    cur, a, b = "", None, None
    for (c, s, e), k in zip(chars, keep):
        if not k or c.isspace():
            if cur:
                tokens.append((cur, a, b))
            cur, a, b = "", None, None
            continue
        if c.isalnum():
            a = s if a is None else a
            b = e
        cur += c
    if cur:
        tokens.append((cur, a, b))
    tokens = [t for t in tokens if t[1] is not None]
    heard = [HeardWord(t, s, e, 1.0) for t, s, e in tokens]
    return align_words(words, heard, lag=0.0)
