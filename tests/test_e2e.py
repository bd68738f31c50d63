"""The whole pipeline through the real CLI, checked with probes on the produced files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SHORT_SCRIPT, events, invoke_cli
from storygen.media.ffmpeg import probe
from storygen.workspace import STAGES, TOP_LEVEL, read_json


def _measure_lufs(path: Path) -> float:
    import pyloudnorm
    import soundfile

    from storygen.media.ffmpeg import run_ffmpeg

    wav = path.with_suffix(".measure.wav")
    run_ffmpeg(["-i", path, "-vn", "-ac", "2", "-ar", "48000", wav])
    data, sr = soundfile.read(wav)
    wav.unlink()
    return pyloudnorm.Meter(sr).integrated_loudness(data)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """One real run: given idea file and short script; Piper voice, procedural art, Ken Burns, final cut."""
    base = tmp_path_factory.mktemp("e2e")
    (base / "idea.json").write_text(json.dumps(__import__("conftest").IDEA))
    (base / "script.txt").write_text(SHORT_SCRIPT)
    out = base / "story"
    r = invoke_cli("make", "--idea-file", str(base / "idea.json"), "--script", str(base / "script.txt"), "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def test_layout_and_manifest(made: Path):
    for s in STAGES:
        assert (made / s).is_dir(), s
    for f in TOP_LEVEL:
        assert (made / f).is_file() and (made / f).stat().st_size > 0, f
    man = read_json(made / "manifest.json")
    for s in STAGES:
        e = man["stages"][s]
        assert e["key"] and e["outputs"] and "seconds" in e and "settings" in e and "inputs" in e, s
        assert all(v != "missing" for v in e["outputs"].values())
    assert man["stages"]["voice"]["provider"] == "piper"
    assert man["stages"]["keyframes"]["provider"] == "procedural"


def test_video_is_platform_ready(made: Path):
    info = probe(made / "final.mp4")
    assert (info.width, info.height) == (1080, 1920)
    assert info.video_codec == "h264" and info.pix_fmt == "yuv420p" and info.audio_codec == "aac"
    assert info.fps == pytest.approx(30, abs=0.01)
    voice = probe(made / "voice" / "voice.wav").duration
    assert abs(info.duration - voice) <= 1 / 30 + 0.03  # container rounding of AAC frames
    assert abs(_measure_lufs(made / "final.mp4") - (-14.0)) <= 1.0
    head = (made / "final.mp4").read_bytes()[:200_000]
    assert head.find(b"moov") != -1 and head.find(b"moov") < head.find(b"mdat")  # +faststart


def test_voice_meets_spec(made: Path):
    stats = read_json(made / "voice" / "stats.json")
    assert abs(_measure_lufs(made / "voice" / "voice.wav") - (-16.0)) <= 0.5
    import soundfile

    data, sr = soundfile.read(made / "voice" / "voice.wav")
    assert np.abs(data[: int(0.45 * sr)]).max() < 0.02  # 0.5 s of padding at the start
    assert np.abs(data[-int(0.95 * sr):]).max() < 0.02  # 1.0 s at the end
    assert stats


def test_captions_follow_the_words(made: Path):
    import re

    from storygen.captions.formats import read_words_json
    from storygen.text.words import script_words

    words = read_words_json(made / "captions" / "words.json")
    assert [w.word for w in words] == script_words((made / "revised" / "script.txt").read_text())
    voice = {(round(w.start, 3), w.word) for w in read_json_list(made / "voice" / "timings.json")}
    assert {(round(w.start, 3), w.word) for w in words} == voice  # the voice engine's own timings, unchanged
    starts = [w.start for w in words]
    assert starts == sorted(starts) and starts[0] >= 0.4  # after the 0.5 s padding
    # every karaoke event highlights the word being spoken at that moment
    ass = (made / "captions.ass").read_text()
    assert "Fjalla One" in ass
    events = re.findall(r"Dialogue: \d+,(\d+):(\d+):(\d+\.\d+),[^\n]*?&H003FD2FF}([^{]+)\{", ass)
    assert len(events) == len(words)
    for (h, m, sec, shown), w in zip(events, words):
        t = int(h) * 3600 + int(m) * 60 + float(sec)
        assert abs(t - w.start) <= 0.011 and shown == w.word
    assert (made / "captions.srt").read_text().count(" --> ") == len(words)


def read_json_list(path: Path):
    from storygen.models import WordTiming

    return [WordTiming.model_validate(w) for w in read_json(path)]


def test_metadata_has_no_secrets(made: Path):
    meta = read_json(made / "metadata.json")
    assert meta["title"] == "The Bottle at the Door"
    assert meta["hashtags"] and meta["duration"] > 5
    assert set(meta["providers"]) >= {"voice", "keyframes"}
    from PIL import Image

    with Image.open(made / "thumbnail.jpg") as im:
        assert im.size == (1080, 1920)


def test_second_run_runs_nothing(made: Path):
    t0 = time.perf_counter()
    r = invoke_cli("make", "-o", str(made), "--json")
    took = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    ev = events(r.stdout)
    assert not [e for e in ev if e["event"] == "start"]
    assert len([e for e in ev if e["event"] == "skip"]) == len(STAGES)
    assert took < 20


def test_hand_edit_reruns_only_downstream(made: Path):
    p = made / "revised" / "script.txt"
    p.write_text(p.read_text().replace("Elias", "Tobias"))
    r = invoke_cli("make", "-o", str(made), "--json", "--until", "captions")
    assert r.returncode == 0, r.stderr
    ran = [e["stage"] for e in events(r.stdout) if e["event"] == "start"]
    assert ran == ["voice", "captions"]
    assert "Tobias" in p.read_text()  # the edit is kept
    from storygen.captions.formats import read_words_json

    words = [w.word for w in read_words_json(made / "captions" / "words.json")]
    assert any(w.startswith("Tobias") for w in words)
    st = invoke_cli("status", str(made), "--json")
    states = {s["stage"]: s["state"] for s in json.loads(st.stdout)}
    assert states["revised"] == "edited" and states["voice"] == "done" and states["scenes"] == "stale"


def test_killed_render_recovers(tmp_path: Path, idea_file: Path, script_file: Path):
    out = tmp_path / "story"
    cmd = [sys.executable, "-m", "storygen", "make", "--idea-file", str(idea_file), "--script", str(script_file),
           "-o", str(out), "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.stdout is not None
    for line in proc.stdout:
        if '"event": "start"' in line and '"stage": "final"' in line:
            break
    time.sleep(1.5)  # mid-render
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "final.mp4").exists() or probe(out / "final.mp4").duration > 0
    r = invoke_cli("make", "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    ran = [e["stage"] for e in events(r.stdout) if e["event"] == "start"]
    assert ran == ["final"]
    info = probe(out / "final.mp4")
    assert info.width == 1080 and info.duration > 5
    assert not list(out.rglob(".*.part*"))


def test_disk_full_mid_render_keeps_the_old_video(made: Path, tmp_path: Path):
    """A file-size limit makes every write past 3 MB fail, as a full disk does; the old final.mp4 survives."""
    import resource
    import shutil

    story = tmp_path / "story"
    shutil.copytree(made, story)
    before = (story / "final.mp4").read_bytes()

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (3_000_000, 3_000_000))

    r = subprocess.run([sys.executable, "-m", "storygen", "make", "-o", str(story), "--from", "final", "-c", "render.music=none"],
                       capture_output=True, text=True, preexec_fn=limit, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode != 0
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and "disk is full" in last and "Traceback" not in r.stderr
    assert (story / "final.mp4").read_bytes() == before
    assert not list(story.rglob(".*.part*"))


def test_user_voice_and_images(tmp_path: Path, idea_file: Path, script_file: Path):
    """--voice: captions come from ASR aligned to the script; --images: one scene per image, in order."""
    from PIL import Image

    from storygen.config import load_config
    from storygen.media.ffmpeg import run_ffmpeg
    from storygen.providers.voice.piper_tts import PiperVoice

    wav = tmp_path / "me.wav"
    PiperVoice({"length_scale": 1.1}, load_config(None, [], env={})).synthesize(SHORT_SCRIPT, wav)
    mp3 = tmp_path / "me.mp3"
    run_ffmpeg(["-i", wav, "-b:a", "128k", mp3])
    imgs = tmp_path / "shots"
    imgs.mkdir()
    for i, colour in enumerate(["#aa3322", "#2255aa", "#22aa55"]):
        Image.new("RGB", (720, 1280), colour).save(imgs / f"{i:02d}.png")
    out = tmp_path / "story"
    r = invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "--voice", str(mp3),
                "--images", str(imgs), "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    man = read_json(out / "manifest.json")["stages"]
    assert man["voice"]["provider"] == "file" and man["captions"]["provider"] == "faster-whisper"
    assert man["captions"]["info"]["matched_share"] >= 0.9
    assert man["keyframes"]["provider"] == "folder"
    plan = read_json(out / "scenes" / "scenes.json")
    assert len(plan["scenes"]) == 3
    with Image.open(out / "keyframes" / "scene_01.png") as im:
        assert im.size == (1080, 1920) and im.getpixel((540, 960))[2] > 150  # the blue one, second
    info = probe(out / "final.mp4")
    assert abs(info.duration - probe(out / "voice" / "voice.wav").duration) <= 1 / 30 + 0.03
