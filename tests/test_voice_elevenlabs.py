"""ElevenLabs against a local HTTP server that speaks its wire format and returns real MP3 bytes."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from storygen.errors import InputError, ProviderError
from storygen.media.ffmpeg import run_ffmpeg
from storygen.providers.voice.elevenlabs import DEFAULT_VOICES, ElevenLabsVoice, chunk_text
from storygen.text.words import script_words

KEY = "sk_test_0123456789abcdef"


def _mp3_for(text: str, tmp: Path) -> tuple[bytes, float]:
    """A real 192 kbps MP3: one 440 Hz tone burst per word, 0.3 s each with 0.1 s gaps."""
    sr = 44100
    words = text.split()
    t = np.arange(int(0.3 * sr)) / sr
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    gap = np.zeros(int(0.1 * sr), np.float32)
    x = np.concatenate([np.concatenate([tone, gap]) for _ in words])
    wav, mp3 = tmp / "t.wav", tmp / "t.mp3"
    sf.write(wav, x, sr)
    run_ffmpeg(["-i", wav, "-c:a", "libmp3lame", "-b:a", "192k", mp3])
    return mp3.read_bytes(), x.size / sr


class Server:
    def __init__(self, tmp: Path, script: list):
        self.tmp = tmp
        self.script = list(script)  # queued special replies: (status, headers, body)
        self.requests: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "key": self.headers.get("xi-api-key"),
                                       "accept": self.headers.get("Accept"), "body": body})
                if outer.script:
                    status, headers, payload = outer.script.pop(0)
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    data = json.dumps(payload).encode()
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                assert self.headers.get("xi-api-key") == KEY
                mp3, dur = _mp3_for(body["text"], outer.tmp)
                if self.path.split("?")[0].endswith("/with-timestamps"):
                    chars, starts, ends = [], [], []
                    t = 0.0
                    for i, word in enumerate(body["text"].split()):
                        if i:
                            chars.append(" "); starts.append(t - 0.1); ends.append(t)
                        step = 0.3 / max(1, sum(c.isalnum() for c in word))
                        k = 0
                        for c in word:  # punctuation takes no time, letters share the 0.3 s burst
                            chars.append(c)
                            starts.append(t + k * step)
                            k += c.isalnum()
                            ends.append(t + k * step)
                        t += 0.4
                    data = json.dumps({"audio_base64": base64.b64encode(mp3).decode(),
                                       "alignment": {"characters": chars, "character_start_times_seconds": starts,
                                                     "character_end_times_seconds": ends}}).encode()
                    ctype = "application/json"
                else:
                    data, ctype = mp3, "audio/mpeg"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def server(tmp_path, request):
    s = Server(tmp_path, getattr(request, "param", []))
    yield s
    s.close()


def _voice(server, **kw):
    settings = {"api_key": KEY, "base_url": server.url, "with_timestamps": True, "stability": 0.5,
                "similarity_boost": 0.75, "model": "", "voice": ""}
    settings.update(kw)
    return ElevenLabsVoice(settings, None)


def test_with_timestamps_request_and_word_timings(server, tmp_path):
    text = "[whispers] She opened the door, and 30 birds flew out."
    sp = _voice(server).synthesize(text, tmp_path / "v.wav", narrator_gender="female")
    r = server.requests[0]
    assert r["path"] == f"/v1/text-to-speech/{DEFAULT_VOICES['female']}/with-timestamps?output_format=mp3_44100_192"
    assert r["key"] == KEY and r["accept"] == "audio/mpeg"
    assert r["body"]["model_id"] == "eleven_multilingual_v2"
    assert r["body"]["voice_settings"] == {"stability": 0.5, "similarity_boost": 0.75}
    assert "[whispers]" not in r["body"]["text"]  # v2 would read the tag aloud
    words = script_words(text)
    assert [w.word for w in sp.words] == words and all(w.matched for w in sp.words)
    # word k starts at 0.4 k (the tone bursts); MP3 decoding keeps the timeline (no encoder delay drift)
    for k, w in enumerate(sp.words):
        assert abs(w.start - 0.4 * k) < 0.01 and abs(w.end - (0.4 * k + 0.3)) < 0.01
    x, sr = sf.read(sp.wav, dtype="float32")
    assert sr == 44100 and abs(x.size / sr - 0.4 * len(words)) < 0.1
    i = int(sp.words[3].start * sr)
    assert np.abs(x[i + 400: i + 2000]).max() > 0.1  # speech where the word is said


def test_plain_endpoint_eleven_v3_keeps_tags_and_male_voice(server, tmp_path):
    v = _voice(server, with_timestamps=False, model="eleven_v3")
    sp = v.synthesize("[whispers] Hello there, friend.", tmp_path / "v.wav", narrator_gender="male")
    r = server.requests[0]
    assert r["path"] == f"/v1/text-to-speech/{DEFAULT_VOICES['male']}?output_format=mp3_44100_192"
    assert r["body"]["model_id"] == "eleven_v3" and r["body"]["text"].startswith("[whispers]")
    assert sp.words is None and sf.info(sp.wav).duration > 1.0


def test_custom_voice_id(server, tmp_path):
    _voice(server, voice="abc123XYZ").synthesize("Hi.", tmp_path / "v.wav")
    assert server.requests[0]["path"].startswith("/v1/text-to-speech/abc123XYZ/")


def test_long_script_is_chunked_at_sentences_and_joined(server, tmp_path):
    sent = "The keeper counted every single step on the way up the old tower stairs. "
    text = sent * 80  # ~5,900 characters
    v = _voice(server)
    sp = v.synthesize(text, tmp_path / "v.wav")
    assert len(server.requests) >= 3
    for r in server.requests:
        assert len(r["body"]["text"]) <= 2500 and r["body"]["text"].endswith(".")
    words = script_words(text)
    assert len(sp.words) == len(words) and all(w.matched for w in sp.words)
    starts = np.array([w.start for w in sp.words])
    assert (np.diff(starts) > 0).all()
    assert abs(sp.words[-1].end - sf.info(sp.wav).duration) < 0.2
    assert all(len(c) <= 2500 for c in chunk_text(text))


@pytest.mark.parametrize("server", [[(401, {}, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})]],
                         indirect=True)
def test_401_names_the_env_var_and_hides_the_key(server, tmp_path):
    with pytest.raises(ProviderError) as e:
        _voice(server).synthesize("Hello.", tmp_path / "v.wav")
    assert "ELEVENLABS_API_KEY" in str(e.value) and KEY not in str(e.value)


@pytest.mark.parametrize("server", [[(429, {"Retry-After": "0"}, {"detail": {"status": "too_many_concurrent_requests"}}),
                                     (429, {"Retry-After": "0"}, {"detail": {"status": "too_many_concurrent_requests"}})]],
                         indirect=True)
def test_429_backs_off_then_succeeds(server, tmp_path):
    sp = _voice(server).synthesize("Hello again.", tmp_path / "v.wav")
    assert len(server.requests) == 3 and len(sp.words) == 2


@pytest.mark.parametrize("server", [[(429, {"Retry-After": "0"}, {})] * 5], indirect=True)
def test_429_forever_is_an_error(server, tmp_path):
    with pytest.raises(ProviderError, match="429"):
        _voice(server, max_retries=2).synthesize("Hello.", tmp_path / "v.wav")


@pytest.mark.parametrize("server", [[(401, {}, {"detail": {"status": "quota_exceeded",
                                                             "message": "This request exceeds your quota."}})]], indirect=True)
def test_quota_exceeded(server, tmp_path):
    with pytest.raises(ProviderError, match="quota") as e:
        _voice(server).synthesize("Hello.", tmp_path / "v.wav")
    assert "plan" in str(e.value) and KEY not in str(e.value)


def test_missing_key_and_empty_script(server, tmp_path):
    with pytest.raises(ProviderError, match="ELEVENLABS_API_KEY"):
        _voice(server, api_key="").synthesize("Hello.", tmp_path / "v.wav")
    with pytest.raises(InputError, match="no words"):
        _voice(server).synthesize("🎉🎉", tmp_path / "v.wav")
    assert server.requests == []


def test_alignment_without_spaces_times_each_word_by_its_own_letters():
    """Japanese (and Chinese, Thai) alignments have no spaces: each script word takes the time of its own first
    and last letter, not an interpolation across the sentence."""
    from storygen.providers.voice.elevenlabs import chars_to_words

    text = "昔々、海のそばに、小さな灯台がありました。"
    chars = [(c, 0.1 * i, 0.1 * i + 0.1) for i, c in enumerate(text)]
    words = script_words(text)
    out = chars_to_words(chars, words)
    assert [w.word for w in out] == words
    firsts = [text.index(w) for w in words]
    assert [w.start for w in out] == [round(0.1 * i, 3) for i in firsts]
    assert out[0].end == round(0.1 * (text.index("、") - 1) + 0.1, 3)  # its last letter, not the comma
    # letters that differ from the script's (the API read a number its own way) still give one time per word
    chars2 = [(c, 0.1 * i, 0.1 * i + 0.1) for i, c in enumerate("Tengo veinte gatos.")]
    got = chars_to_words(chars2, ["Tengo", "20", "gatos."])
    assert [w.word for w in got] == ["Tengo", "20", "gatos."] and got[2].start == round(0.1 * 13, 3)
