"""A local ElevenLabs text-to-speech server on 127.0.0.1 for tests: real speech in the request's language.

It speaks ElevenLabs' documented wire format (the real client talks to it over HTTP):

    POST /v1/text-to-speech/{voice_id}?output_format=mp3_44100_192                 -> audio/mpeg
    POST /v1/text-to-speech/{voice_id}/with-timestamps?output_format=mp3_44100_192 -> JSON {"audio_base64",
         "alignment": {"characters", "character_start_times_seconds", "character_end_times_seconds"}}

with the ``xi-api-key`` header (401 ``invalid_api_key`` when it is wrong), a 404 for any other path, and a 400 when
``language_code`` is sent to a model that does not take it (as the API does). The speech is espeak-ng reading the
text in its language (``language_code`` when sent, else the text's script), in a voice variant and rate the
product's espeak voice does not use, encoded to MP3 with ffmpeg. The per-character alignment comes from espeak's own
WORD events for that synthesis: each word's characters share the word's span (its start to the next word's start,
or to the pause after it), so the server knows the true time of every character it sends back. Every request is
recorded with that alignment, the language and the espeak voice used.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import numpy as np
import soundfile as sf

from storygen.captions.dtw import EVENT_PHONEME, EVENT_WORD, espeak_synth
from storygen.text import kana
from storygen.media.ffmpeg import run_ffmpeg

KEY = "sk_test_local_elevenlabs_0123456789"
#: the espeak-ng voice read for each language, with a variant (+m1, 150 wpm) the product's espeak voice never uses
#: (it reads at 165 wpm with +f3, +m3 or no variant)
ESPEAK_VOICES = {"es": "es", "ja": "ja", "ar": "ar", "en": "en-us"}
VARIANT, RATE_WPM = "+m1", 150
#: models whose API takes language_code (ElevenLabs: "only Turbo v2.5, Flash v2.5 and v3 support language
#: enforcement; for other models an error is returned")
LANGUAGE_CODE_MODELS = {"eleven_turbo_v2_5", "eleven_flash_v2_5", "eleven_v3"}
_PATH = re.compile(r"^/v1/text-to-speech/([A-Za-z0-9_-]+)(/with-timestamps)?$")


def script_language(text: str, latin: str = "es") -> str:
    """The language to read ``text`` in, from its script (``latin`` for Latin text)."""
    if re.search(r"[\u0600-\u06ff]", text):
        return "ar"
    if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text):
        return "ja"
    return latin


def char_alignment(text: str, events: list[tuple[int, int, float, str]], total: float) -> tuple[list[float], list[float]]:
    """(start, end) seconds of every character of ``text`` from espeak's events for reading it: the characters of
    each WORD event's span share its time evenly; spaces take no time (they sit where the next word starts)."""
    words = sorted({cpos: t for typ, cpos, t, _ in reversed(events) if typ == EVENT_WORD}.items())
    if not words:
        raise RuntimeError("espeak gave no word events")
    pauses = np.array([t for typ, _c, t, ph in events if typ == EVENT_PHONEME and ph.startswith("_")])
    starts = [0.0] * len(text)
    ends = [0.0] * len(text)
    for k, (cpos, t0) in enumerate(words):
        lo = 0 if k == 0 else cpos
        hi = words[k + 1][0] if k + 1 < len(words) else len(text)
        t_next = words[k + 1][1] if k + 1 < len(words) else total
        pz = pauses[(pauses > t0 + 0.02) & (pauses < t_next)] if pauses.size else pauses
        t1 = max(t0, float(pz[0]) if pz.size else t_next)
        spoken = [i for i in range(lo, hi) if not text[i].isspace()]
        step = (t1 - t0) / max(1, len(spoken))
        for j, i in enumerate(spoken):
            starts[i], ends[i] = t0 + j * step, t0 + (j + 1) * step
        for i in range(lo, hi):
            if text[i].isspace():
                starts[i] = ends[i] = t_next
    return starts, ends


class ElevenLabsServer:
    """``with ElevenLabsServer() as s: ...`` -> ``s.url`` (the voice.base_url), ``s.requests`` (recorded)."""

    def __init__(self, key: str = KEY, latin: str = "es") -> None:
        self.key = key
        self.latin = latin
        self.requests: list[dict[str, Any]] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-11labs-")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, data: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: str, message: str) -> None:
                self._send(status, json.dumps({"detail": {"status": code, "message": message}}).encode())

            def do_GET(self) -> None:
                self._error(404, "not_found", f"no route {self.path}")

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                m = _PATH.match(url.path)
                if not m:
                    return self._error(404, "not_found", f"no route {url.path}")
                if self.headers.get("xi-api-key") != outer.key:
                    return self._error(401, "invalid_api_key", "Invalid API key")
                try:
                    body = json.loads(raw)
                    text = str(body["text"])
                except (ValueError, KeyError, TypeError):
                    return self._error(422, "invalid_request", "body must be JSON with 'text'")
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                fmt = query.get("output_format", "mp3_44100_128")
                model = body.get("model_id", "eleven_multilingual_v2")
                if not fmt.startswith("mp3_44100_"):
                    return self._error(422, "invalid_output_format", f"this server makes mp3_44100_* only, not {fmt}")
                if "language_code" in body and model not in LANGUAGE_CODE_MODELS:
                    return self._error(400, "unsupported_language_code", f"{model} does not support language_code")
                if not text.strip():
                    return self._error(422, "invalid_request", "text is empty")
                lang = str(body.get("language_code") or script_language(text, outer.latin))
                voice = ESPEAK_VOICES.get(lang, lang) + VARIANT
                mp3, pcm, starts, ends = outer.speak(text, voice)
                outer.requests.append({
                    "path": url.path, "query": query, "key": self.headers.get("xi-api-key"),
                    "accept": self.headers.get("Accept"), "body": body, "voice_id": m.group(1),
                    "language": lang, "espeak_voice": voice, "audio": pcm, "duration": pcm[0].size / pcm[1],
                    "alignment": {"characters": list(text), "character_start_times_seconds": starts,
                                  "character_end_times_seconds": ends}})
                if m.group(2):
                    data = json.dumps({"audio_base64": base64.b64encode(mp3).decode(),
                                       "alignment": outer.requests[-1]["alignment"],
                                       "normalized_alignment": outer.requests[-1]["alignment"]}).encode()
                    return self._send(200, data)
                return self._send(200, mp3, "audio/mpeg")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def speak(self, text: str, voice: str) -> tuple[bytes, tuple[np.ndarray, int], list[float], list[float]]:
        """(MP3 bytes at 44.1 kHz 192 kbps, (the speech before encoding, its sample rate), character starts,
        character ends) of espeak reading ``text``."""
        pieces = kana.segments(text) if kana.has_kanji(text) else [(text, text)]  # kanji read in kana (as a TTS does)
        spoken = "".join(r for _o, r in pieces)
        audio, sr, events = espeak_synth(spoken, voice, RATE_WPM)
        if audio.size == 0:
            raise RuntimeError(f"espeak-ng ({voice}) read nothing of {text[:40]!r}")
        total = audio.size / sr
        s_starts, s_ends = char_alignment(spoken, events, total)
        starts, ends, pos = [], [], 0  # the alignment is of the text sent: a kanji piece spans its reading's time
        for orig, read in pieces:
            a, b = s_starts[pos], s_ends[pos + len(read) - 1] if read else s_starts[pos]
            n = len(orig)
            starts += [a + (b - a) * k / n for k in range(n)]
            ends += [a + (b - a) * (k + 1) / n for k in range(n)]
            pos += len(read)
        d = Path(self._tmp.name)
        name = uuid.uuid4().hex
        wav, mp3 = d / f"{name}.wav", d / f"{name}.mp3"
        sf.write(wav, audio, sr, subtype="PCM_16")
        run_ffmpeg(["-i", wav, "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "192k", mp3])
        return mp3.read_bytes(), (audio, sr), starts, ends

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._tmp.cleanup()
