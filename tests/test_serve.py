"""Studio's REST API through httpx against the real app (uvicorn on a free port, the real queue and pipeline)."""

from __future__ import annotations

import io
import json
import time
import wave

import pytest
from conftest import IDEA, SHORT_SCRIPT, invoke_cli
from test_serve_support import (
    FAST,
    FAST_STORY,
    ffmpeg_children,
    sse,
    studio,
    wait_status,
)

from storygen import layout
from storygen.media.ffmpeg import probe


def _err(r, code: int) -> dict:
    assert r.status_code == code, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error", "fix"} and body["error"] and body["fix"], body
    assert "Traceback" not in r.text
    return body


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000)
    return buf.getvalue()


def test_bad_input_gets_a_4xx_with_error_and_fix_and_the_queue_rules_hold(tmp_path, monkeypatch):
    for var in ("ELEVENLABS_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with studio(tmp_path / "stories", workers=0, max_active=3) as c:  # no workers: stories stay queued
        post = lambda **kw: c.post("/api/stories", **kw)
        _err(post(content=b'{"idea": ', headers={"Content-Type": "application/json"}), 400)
        assert "JSON" in _err(post(content=b"[1", headers={"Content-Type": "application/json"}), 400)["error"]
        assert "empty" in _err(post(json={"idea": "   "}), 400)["error"]
        assert "10,000" in _err(post(json={"idea": "x" * 20_000}), 400)["error"]
        assert "Unknown config key 'voice.speed'" in _err(post(json={"idea": "a cat", "config": {"voice.speed": 2}}), 400)["error"]
        assert "voice.provider" in _err(post(json={"idea": "a cat", "config": {"voice.provider": "nope"}}), 400)["error"]
        _err(post(json={"idea": "a cat", "config": {"render.fps": 999}}), 400)
        # a backend that cannot start on this server: a 400 now, not a queued story that fails
        missing = _err(post(json={"idea": "a cat", "config": {"voice.provider": "elevenlabs"}}), 400)
        assert "ELEVENLABS_API_KEY" in missing["error"]
        # a script needs no writer for the idea or the script, but the revision asks the (large) cloud writer
        assert "OPENAI_API_KEY" in _err(post(json={"script": SHORT_SCRIPT, "config": {"writer.provider": "openai"},
                                                   "until": "voice"}), 400)["error"]
        for key, value in [("writer.model", "/etc/passwd"), ("writer.base_url", "http://10.0.0.1"), ("keyframes.lora", "x"),
                           ("render.music", "../../secret.wav"), ("writer.prompts_dir", "/tmp"), ("voice.voice", "/x.onnx")]:
            assert "--allow-paths" in _err(post(json={"idea": "a cat", "config": {key: value}}), 403)["fix"], key
        _err(post(json={"idea": "a cat", "config": {"writer.api_key": "sk-123456789"}}), 403)
        _err(post(json={"idea": "a cat", "folder": "/tmp/x"}), 400)
        _err(post(json={"idea": {"title": 3}}), 400)
        _err(post(content=b"idea=x", headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
        # uploads: size and type
        files = {"voice": ("v.wav", b"RIFF\x00\x00\x00\x00WAVE" + b"\x00" * (41 * 1024 * 1024), "audio/wav")}
        assert "limit" in _err(post(data={"idea": "a cat"}, files=files), 413)["error"]
        _err(post(data={"idea": "a cat"}, files={"voice": ("v.wav", b"#!/bin/sh\necho hi\n" * 50, "audio/wav")}), 415)
        _err(post(data={"idea": "a cat"}, files={"images": ("a.png", b"GIF89a" + b"\x00" * 100, "image/png")}), 415)
        _err(post(data={"idea": "a cat"}, files={"script": ("s.txt", b"\xff\xfe\x00\x00", "text/plain")}), 415)
        assert "path" in _err(post(data={"idea": "a cat"}, files={"voice": ("../../evil.wav", _wav(), "audio/wav")}), 400)["error"]
        # ids and file names
        _err(c.get("/api/stories/no-such-story-123"), 404)
        _err(c.get("/api/stories/..%2F..%2Fetc"), 404)
        _err(c.get("/api/stories/%2E%2E"), 400)
        assert c.get("/api/stories/../../etc/passwd").status_code in (400, 404)
        _err(c.delete("/api/stories/no-such-story-123"), 404)
        _err(c.get("/api/nothing-here"), 404)
        nothing_served = [r for r in c.app.state.queue.root.rglob("*") if r.is_dir() and not r.name.startswith(".")]
        assert nothing_served == []  # no bad request left a story folder

        # a good multipart request with every upload
        png = io.BytesIO()
        from PIL import Image

        Image.new("RGB", (720, 1280), (40, 60, 90)).save(png, "PNG")
        # the user's own narration and pictures need no voice or images key
        r = post(data={"idea": json.dumps(IDEA), "config": json.dumps({**FAST, "voice.provider": "elevenlabs",
                                                                      "keyframes.provider": "openai-images"})},
                 files=[("script", ("mine.txt", SHORT_SCRIPT.encode(), "text/plain")),
                        ("voice", ("my voice!.wav", _wav(), "audio/wav")),
                        ("images", ("a.png", png.getvalue(), "image/png")), ("images", ("b.png", png.getvalue(), "image/png"))])
        assert r.status_code == 202, r.text
        first = r.json()
        assert first["status"] == "queued" and first["id"].startswith("the-bottle-at-the-door-")
        uploads = c.app.state.queue.uploads_dir(first["id"])
        assert sorted(p.name for p in uploads.rglob("*") if p.is_file()) == ["001_a.png", "002_b.png", "my_voice_.wav", "script.txt"]

        # idempotency: same key and body -> the same story; same key, other body -> 409
        body = {"idea": "A lighthouse keeper finds a bottle", "config": {"voice.provider": "piper"}}
        a = post(json=body, headers={"Idempotency-Key": "k-1"})
        b = post(json=body, headers={"Idempotency-Key": "k-1"})
        assert a.status_code == 202 and b.status_code == 200 and a.json()["id"] == b.json()["id"]
        _err(post(json={**body, "idea": "another"}, headers={"Idempotency-Key": "k-1"}), 409)
        # a full queue: 429 with Retry-After
        third = post(json={"idea": "A third story"})
        assert third.status_code == 202
        full = post(json={"idea": "A fourth story"})
        _err(full, 429)
        assert int(full.headers["Retry-After"]) > 0
        # the list: newest first, paginated
        page = c.get("/api/stories", params={"limit": 2}).json()
        assert page["total"] == 3 and [s["id"] for s in page["stories"]] == [third.json()["id"], a.json()["id"]]
        assert c.get(page["next"]).json()["stories"][0]["id"] == first["id"]
        _err(c.get("/api/stories", params={"limit": 0}), 422)
        # a queued story: no rerun while queued, cancel works once, then 409; purge removes it
        _err(c.post(f"/api/stories/{first['id']}/rerun", json={"from": "voice"}), 409)
        _err(c.put(f"/api/stories/{first['id']}/script", json={"script": "x"}), 409)
        assert c.delete(f"/api/stories/{first['id']}").json()["status"] == "cancelled"
        _err(c.delete(f"/api/stories/{first['id']}"), 409)
        _err(c.post(f"/api/stories/{first['id']}/rerun", json={"from": "nope"}), 400)
        _err(c.post(f"/api/stories/{first['id']}/rerun", json={"config": {"writer.model": "/x"}}), 403)
        _err(c.get(f"/api/stories/{first['id']}/files/final.mp4"), 404)
        _err(c.get(f"/api/stories/{first['id']}/files/..%2F..%2Fmanifest.json"), 404)
        _err(c.get(f"/api/stories/{first['id']}/files/..%5Cmanifest.json"), 400)
        _err(c.get(f"/api/stories/{first['id']}/files/manifest.json"), 404)
        assert c.delete(f"/api/stories/{first['id']}", params={"purge": "true"}).json()["status"] == "purged"
        _err(c.get(f"/api/stories/{first['id']}"), 404)
        assert not uploads.exists()
        # health, options (no secrets), the page and the API document
        assert c.get("/api/health").json()["queued"] == 2
        opts = c.get("/api/options", headers={}).json()
        from storygen.providers.catalog import REGISTRY

        assert [x["name"] for x in opts["providers"]["voice"]["choices"]] == list(REGISTRY["voice"])
        assert {x["name"]: x["available"] for x in opts["providers"]["voice"]["choices"]}["piper"] is True
        assert opts["caption_styles"]["choices"] == ["karaoke", "pop", "boxed"]
        assert any(not x["available"] for x in opts["providers"]["writer"]["choices"])  # openai: no key on this server
        assert "api_key" not in json.dumps(opts)
        if opts["languages"]["key"]:
            assert {"", "en"} <= {x["name"] for x in opts["languages"]["choices"]}
        assert "/api/stories/{story_id}/events" in c.get("/openapi.json").json()["paths"]
        assert c.get("/docs").status_code == 200
        assert '<form id="new-story">' in c.get("/").text


def test_auth_on_and_off(tmp_path, monkeypatch):
    with studio(tmp_path / "open") as c:
        assert c.get("/api/health").status_code == 200
    with studio(tmp_path / "locked", token="s3cret-token-123") as c:
        assert c.get("/api/health").status_code == 200
        bare = {"Authorization": ""}
        for path in ("/api/health", "/api/options", "/api/stories"):
            r = c.get(path, headers=bare)
            _err(r, 401)
            assert r.headers["WWW-Authenticate"] == "Bearer"
        _err(c.get("/api/stories", headers={"Authorization": "Bearer wrong"}), 401)
        _err(c.post("/api/stories", json={"idea": "x"}, headers=bare), 401)
        assert c.get("/", headers=bare).status_code == 200  # the page itself asks for the token
        assert "s3cret" not in c.get("/api/options").text
    # beyond localhost without a token: refused with one clear line
    monkeypatch.delenv("STORYGEN_API_TOKEN", raising=False)
    r = invoke_cli("serve", "--host", "0.0.0.0", "--stories", str(tmp_path / "x"))
    assert r.exit_code != 0 and "STORYGEN_API_TOKEN" in r.stderr and "Traceback" not in r.stderr


def test_create_follow_download_edit_and_rerun_only_downstream(tmp_path):
    from test_serve_support import free_port

    with studio(tmp_path / "stories", workers=1, allow_paths=True) as c:
        # a job that fails (its writer's server is not there) does not stop the server
        dead = {"writer.provider": "openai", "writer.base_url": f"http://127.0.0.1:{free_port()}/v1", "writer.max_retries": 0}
        bad = c.post("/api/stories", json={"idea": "A cat who talks", "config": dead}).json()
        r = c.post("/api/stories", json=FAST_STORY)
        assert r.status_code == 202 and r.headers["Location"] == f"/api/stories/{r.json()['id']}"
        sid = r.json()["id"]
        failed = wait_status(c, bad["id"])
        assert failed["status"] == "failed" and failed["error"]["stage"] == "idea"
        assert "\n" not in failed["error"]["message"] and failed["error"]["fix"]

        running = wait_status(c, sid, ("running", "done"))
        if running["status"] == "running":
            _err(c.post(f"/api/stories/{sid}/rerun", json={}), 409)
        events = sse(c, sid)
        kinds = [e["event"] for _, e in events]
        seqs = [s for s, _ in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert kinds[0] == "queued" and "plan" in kinds and kinds[-1] == "finished"
        assert {e["stage"] for _, e in events if e["event"] == "done"} == set(layout.STAGES)
        # replay from Last-Event-ID: only what came after
        mid = seqs[len(seqs) // 2]
        assert [s for s, _ in sse(c, sid, last=mid)] == [s for s in seqs if s > mid]

        s = c.get(f"/api/stories/{sid}").json()
        assert s["status"] == "done" and s["progress"]["fraction"] == 1.0 and s["error"] is None
        assert [g["name"] for g in s["stages"]] == list(layout.STAGES)
        assert all(g["state"] == "done" and g["seconds"] is not None and g["provider"] for g in s["stages"])
        assert set(s["files"]) == {"video", "thumbnail", "captions_srt", "captions_vtt", "captions_ass", "metadata"}
        # the video with HTTP Range, as a browser seeks in it
        video = c.app.state.queue.folder(sid) / layout.FINAL
        whole = video.read_bytes()
        part = c.get(s["files"]["video"], headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206 and part.headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
        assert part.content == whole[100:1100]
        full = c.get(s["files"]["video"])
        assert full.status_code == 200 and full.headers["content-type"] == "video/mp4" and full.content == whole
        assert c.get(s["files"]["thumbnail"]).content[:3] == b"\xff\xd8\xff"
        assert c.get(s["files"]["captions_vtt"]).text.startswith("WEBVTT")
        meta = c.get(s["files"]["metadata"]).json()
        assert "api_key" not in json.dumps(meta)
        _err(c.delete(f"/api/stories/{sid}"), 409)  # nothing to cancel

        # edit one sentence of the script and re-make: only the voice onwards runs again
        script = c.get(f"/api/stories/{sid}/script").json()["script"]
        assert "green bottle" in script
        edited = script.replace("green bottle", "blue bottle")
        assert c.put(f"/api/stories/{sid}/script", json={"script": edited}).status_code == 200
        assert (c.app.state.queue.folder(sid) / layout.REVISED).read_text().strip() == edited.strip()
        after = c.get(f"/api/stories/{sid}").json()
        assert {g["name"]: g["state"] for g in after["stages"]}["revised"] == "edited"
        last = seqs[-1]
        loaded = c.get("/api/health").json()["models_loaded"]
        assert loaded[0] >= 1
        assert c.post(f"/api/stories/{sid}/rerun", json={}).status_code == 202
        rerun = sse(c, sid, last=last)
        ran = [e["stage"] for _, e in rerun if e["event"] == "done"]
        assert ran and ran[0] == "voice" and ran[-1] == "final", ran
        assert not {"idea", "script", "revised"} & set(ran)
        assert rerun[-1][1]["event"] == "finished"
        assert c.get("/api/health").json()["models_loaded"] == loaded  # the worker's models were reused, not reloaded
        info = probe(video)
        assert info.has_video and info.has_audio and info.duration > 5
        assert "blue bottle" in (c.app.state.queue.folder(sid) / layout.TOP_SRT).read_text().lower().replace("\n", " ") \
            or "blue" in (c.app.state.queue.folder(sid) / layout.TOP_SRT).read_text().lower()


def test_cancel_stops_the_render_and_its_ffmpeg_within_5_s(tmp_path):
    with studio(tmp_path / "stories", workers=1) as c:
        # full size, so the render (ffmpeg) is still going when the cancel comes
        sid = c.post("/api/stories", json={**FAST_STORY, "config": {"render.music": "none"}}).json()["id"]
        sse(c, sid, until=lambda e: e["event"] == "progress" and e.get("stage") == "final")
        assert ffmpeg_children(), "no ffmpeg was running at the cancel"
        t0 = time.monotonic()
        r = c.delete(f"/api/stories/{sid}")
        took = time.monotonic() - t0
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        assert took < 5, f"the cancel took {took:.1f} s"
        deadline = time.monotonic() + max(0.5, 5 - took)
        while ffmpeg_children() and time.monotonic() < deadline:
            time.sleep(0.1)
        leftover = ffmpeg_children()
        s = c.get(f"/api/stories/{sid}").json()
        assert s["status"] == "cancelled" and {g["name"]: g["state"] for g in s["stages"]}["captions"] == "done"
        assert (c.app.state.queue.folder(sid) / layout.FINAL).exists() is False
        assert not leftover, "ffmpeg went on encoding after the cancel"


def test_serve_without_the_studio_extra_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if `pip install storygen` had no [studio] extra
    r = invoke_cli("serve")
    assert r.exit_code == 2 and "pip install 'storygen[studio]'" in r.stderr and "Traceback" not in r.stderr


def test_the_cli_stays_cheap_to_import():
    import subprocess
    import sys

    code = "import sys, storygen.cli; print(sorted(m for m in ('fastapi', 'uvicorn', 'mcp', 'starlette') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_story_in_another_language_through_the_api(tmp_path):
    """The language is one more choice: story.language from the API gives a Spanish story (espeak-ng chosen by
    itself, the captions in Spanish); an unknown code is a 4xx that lists the known ones, before any work."""
    from storygen.workspace import read_json

    guion = ("La guardiana del faro encontró una botella verde en la playa. Dentro había una carta con su propio "
             "nombre. Esa noche encendió la luz, y un barco respondió con tres destellos.")
    with studio(tmp_path / "stories", workers=1) as c:
        body = _err(c.post("/api/stories", json={"idea": "Un faro", "config": {"story.language": "klingon"}}), 400)
        assert "klingon" in body["error"] and "es" in body["fix"]
        r = c.post("/api/stories", json={"idea": "Una guardiana de faro encuentra una carta", "script": guion,
                                         "config": {**FAST, "story.language": "es"}, "until": "captions"})
        assert r.status_code == 202, r.text
        done = wait_status(c, r.json()["id"])
        assert done["status"] == "done", done
        folder = c.app.state.queue.folder(r.json()["id"])
    assert read_json(folder / layout.IDEA)["language"] == "es"
    voice = read_json(folder / layout.MANIFEST)["stages"]["voice"]
    assert voice["provider"] == "espeak" and voice["info"]["language"] == "es"
    words = read_json(folder / layout.WORDS)
    words = words["words"] if isinstance(words, dict) else words
    assert [w["word"] for w in words][:3] == ["La", "guardiana", "del"] and words[-1]["start"] > words[0]["start"]
