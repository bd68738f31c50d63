"""The service layer: one typed entry point for every front door (events, cancel, config as a dict, models)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import IDEA, SHORT_SCRIPT, invoke_cli
from storygen import layout
from storygen.errors import ConfigError, InputError
from storygen.lease import read_lease
from storygen.media.ffmpeg import probe, run_ffmpeg
from storygen.providers import lifecycle
from storygen.service import CancelToken, Cancelled, StoryRequest, make_story, slug, user_error
from storygen.workspace import read_json


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "idea.json").write_text(json.dumps(IDEA))
    (tmp_path / "script.txt").write_text(SHORT_SCRIPT)
    return tmp_path / "idea.json", tmp_path / "script.txt"


def test_a_script_without_an_idea_titles_the_story_after_its_first_sentence(tmp_path, inputs):
    _, script = inputs
    r = invoke_cli("make", "--script", str(script), "--until", "script", "--json", cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
    title = "Every night for thirty years, Elias climbed the lighthouse stairs"
    story = tmp_path / "stories" / slug(title)
    idea = read_json(story / layout.IDEA)
    assert idea["title"] == title
    assert idea["logline"].startswith(title) and "green bottle" in idea["logline"]
    man = read_json(story / layout.MANIFEST)["stages"]
    assert man["idea"]["provider"] == "file"  # no writer was asked
    assert (story / layout.SCRIPT).read_text().startswith("Every night")


def test_resuming_with_a_script_keeps_the_storys_own_idea(tmp_path, inputs):
    idea, script = inputs
    out = tmp_path / "s"
    make_story(StoryRequest(idea_file=idea, out=out, until="idea", script=script))
    before = read_json(out / layout.IDEA)
    make_story(StoryRequest(out=out, until="script", script=script))
    assert read_json(out / layout.IDEA) == before == {**before, "title": IDEA["title"]}


def test_config_overrides_as_a_dict_are_checked(tmp_path, inputs):
    idea, _ = inputs
    with pytest.raises(ConfigError, match="voice.provider"):
        make_story(StoryRequest(idea_file=idea, out=tmp_path / "a", config={"voice.provider": "nope"}))
    with pytest.raises(ConfigError, match="Unknown config key 'voice.speed'"):
        make_story(StoryRequest(idea_file=idea, out=tmp_path / "b", config={"voice.speed": 2}))
    with pytest.raises(InputError, match="has no value"):
        make_story(StoryRequest(idea_file=idea, out=tmp_path / "c", config={"render.fps": None}))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing written for a bad request


def test_cancel_stops_between_steps_and_keeps_finished_stages(tmp_path, inputs):
    idea, script = inputs
    token = CancelToken()
    seen: list[dict] = []

    def on_event(e: dict) -> None:
        seen.append(e)
        if e["event"] == "start" and e["stage"] == "voice":
            threading.Thread(target=token.cancel).start()  # from another thread, as a server's DELETE would

    out = tmp_path / "s"
    with pytest.raises(Cancelled):
        make_story(StoryRequest(idea_file=idea, script=script, out=out, until="captions"), on_event=on_event, cancel=token)
    stages = read_json(out / layout.MANIFEST)["stages"]
    assert set(stages) == {"idea", "script", "revised"}  # voice was stopped, nothing half-recorded
    assert read_lease(out) is None  # the lease is given back
    assert not list(out.rglob(".*.part*"))
    # run again: it resumes at the voice
    done: list[str] = []
    make_story(StoryRequest(out=out, until="voice"), on_event=lambda e: e["event"] == "done" and done.append(e["stage"]))
    assert done == ["voice"]


def test_a_worker_owns_its_models(tmp_path, inputs):
    idea, script = inputs
    host = lifecycle.ModelHost("worker-1")
    make_story(StoryRequest(idea_file=idea, script=script, out=tmp_path / "a", until="voice"), models=host)
    voices = [k for k in host.keys() if k[:2] == ("provider", "voice")]
    assert len(voices) == 1
    loads = host.loads
    make_story(StoryRequest(idea_file=idea, script=script, out=tmp_path / "b", until="voice"), models=host)
    assert host.loads == loads, "the second story loaded its models again"
    host.close()
    assert host.keys() == []


def test_unknown_errors_become_one_line_and_secrets_are_masked():
    from storygen.config import load_config

    cfg = load_config(overrides=["writer.api_key=sk-very-secret-123"], env={})
    e = user_error(RuntimeError("boom with sk-very-secret-123\nsecond line"), cfg)
    assert str(e).startswith("Internal error: RuntimeError: boom with sk-") and "very-secret" not in str(e)
    assert "\n" not in str(e)
    assert str(user_error(OSError(28, "No space left on device"))).startswith("The disk is full.")


def _tone(path: Path, freq: float, seconds: float = 6.0) -> Path:
    run_ffmpeg(["-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}", "-ac", "2", "-c:a", "aac",
                "-b:a", "96k", path])
    return path


def test_a_music_track_outside_the_story_is_used_and_keyed_by_content(tmp_path, inputs):
    """README: -c render.music=/path/to/track.mp3 (before: 'Internal error' from relative_to)."""
    idea, script = inputs
    music_dir = tmp_path / "music"
    music_dir.mkdir()
    track = _tone(music_dir / "track.m4a", 440.0)
    out = tmp_path / "s"
    cfg = {"render.music": str(track)}
    r = make_story(StoryRequest(idea_file=idea, script=script, out=out, config=cfg))
    assert r.final is not None and probe(r.final).duration > 1.0
    final = read_json(out / layout.MANIFEST)["stages"]["final"]
    assert final["inputs"]["<outside>/track.m4a"] != "missing"
    # the music is in the mix: the final audio has energy at 440 Hz even where the voice is silent (the tail)
    wav = tmp_path / "mix.wav"
    run_ffmpeg(["-sseof", "-0.8", "-i", r.final, "-vn", "-ac", "1", "-ar", "8000", wav])
    import soundfile

    audio, sr = soundfile.read(wav)
    spec = np.abs(np.fft.rfft(audio))
    freqs = np.fft.rfftfreq(len(audio), 1 / sr)
    assert freqs[np.argmax(spec)] == pytest.approx(440.0, abs=15.0)
    # unchanged track: nothing runs again; a new track with the same name: the final cut is made again
    ran: list[str] = []
    make_story(StoryRequest(out=out, config=cfg), on_event=lambda e: e["event"] == "done" and ran.append(e["stage"]))
    assert ran == []
    _tone(track, 660.0)
    make_story(StoryRequest(out=out, config=cfg), on_event=lambda e: e["event"] == "done" and ran.append(e["stage"]))
    assert ran == ["final"]


def test_a_new_idea_does_not_replace_a_storys_idea_file_without_force(tmp_path, inputs):
    """QA: `make "A different idea" -o DIR` on a story made from --idea-file quietly re-ideaed it."""
    idea, _ = inputs
    out = tmp_path / "s"
    make_story(StoryRequest(idea_file=idea, out=out, until="idea"))
    with pytest.raises(InputError, match="already holds a different idea"):
        make_story(StoryRequest(idea="A different idea entirely", out=out, until="idea"))
    assert read_json(out / layout.IDEA)["title"] == IDEA["title"]


def test_a_script_in_another_language_gives_a_story_in_that_language(tmp_path):
    script = tmp_path / "ja.txt"
    script.write_text("東京の猫が毎晩屋根の上で月を見ていた。ある夜、月が猫に話しかけた。", encoding="utf-8")
    make_story(StoryRequest(script=script, out=tmp_path / "ja", until="idea"))
    assert read_json(tmp_path / "ja" / layout.IDEA)["language"] == "ja"


def test_the_language_asked_for_sticks_on_resume_and_a_bad_code_fails_first(tmp_path, inputs):
    idea, script = inputs
    out = tmp_path / "es"
    make_story(StoryRequest(idea_file=idea, script=script, out=out, until="script", language="es"))
    assert read_json(out / layout.IDEA)["language"] == "es"
    ran: list[str] = []
    make_story(StoryRequest(out=out, until="script"), on_event=lambda e: e["event"] == "done" and ran.append(e["stage"]))
    assert ran == []  # QA: a resume without --language re-made everything in English
    with pytest.raises(InputError, match="xx"):
        make_story(StoryRequest(idea="un gato", out=tmp_path / "xx", language="xx"))
    assert not (tmp_path / "xx").exists()


def test_json_mode_reports_a_failure_as_an_event_and_logs_get_plain_lines(tmp_path, inputs):
    idea, script = inputs
    r = invoke_cli("make", "--idea-file", str(idea), "-o", str(tmp_path / "s"), "--json", "--until", "idea",
                   "-c", "story.language=xx")
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert r.exit_code == 2 and last["event"] == "failed" and "xx" in last["error"] and last["fix"]
    r = invoke_cli("make", "--idea-file", str(idea), "--script", str(script), "-o", str(tmp_path / "t"), "--until", "script")
    assert r.exit_code == 0 and "Script: done in" in r.stderr  # not a terminal: one plain line per stage


def test_a_missing_key_is_an_error_before_anything_is_made(tmp_path, inputs, monkeypatch):
    """A cloud backend's key is checked before the first stage: not after minutes of writing and narrating."""
    from PIL import Image

    from storygen.errors import ProviderError

    for var in ("ELEVENLABS_API_KEY", "OPENAI_API_KEY", "PEXELS_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    idea, script = inputs
    for cfg, names in (({"voice.provider": "elevenlabs"}, "ELEVENLABS_API_KEY"),
                       ({"render.music": str(tmp_path / "nope.mp3")}, "render.music"),
                       ({"voice.voice": str(tmp_path / "mine.onnx")}, "voice.voice"),
                       ({"keyframes.provider": "openai-images"}, "OPENAI_API_KEY"),
                       ({"clips.provider": "pexels"}, "PEXELS_API_KEY")):
        out = tmp_path / names
        with pytest.raises((ProviderError, InputError, ConfigError), match=names):
            make_story(StoryRequest(idea_file=idea, script=script, out=out, config=cfg))
        assert not out.exists(), "a new story's folder was made before the key was checked"
    # --until before the stage that needs it: nothing to check
    make_story(StoryRequest(idea_file=idea, script=script, out=tmp_path / "until", until="script",
                            config={"voice.provider": "elevenlabs"}))
    # the user's own narration and pictures stand in for the cloud voice and images: no key is asked for
    wav = tmp_path / "me.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=220:duration=3", wav])
    shots = tmp_path / "shots"
    shots.mkdir()
    Image.new("RGB", (72, 128), "#2255aa").save(shots / "a.png")
    done = make_story(StoryRequest(idea_file=idea, script=script, voice=wav, images=shots, out=tmp_path / "own",
                                   until="keyframes",
                                   config={"voice.provider": "elevenlabs", "keyframes.provider": "openai-images"}))
    assert read_json(done.story / layout.MANIFEST)["stages"]["voice"]["provider"] == "file"


def test_a_resume_that_will_not_narrate_again_needs_no_voice_key(tmp_path, inputs, monkeypatch):
    """Only the stages due to run are checked: a changed revision setting re-runs the revision (same text), the
    narration stays done, so a cloud voice's key is not asked for again."""
    from _elevenlabs_server import KEY, ElevenLabsServer

    idea, script = inputs
    out = tmp_path / "story"
    with ElevenLabsServer(latin="en") as tts:
        cfg = {"voice.provider": "elevenlabs", "voice.base_url": tts.url}
        monkeypatch.setenv("ELEVENLABS_API_KEY", KEY)
        make_story(StoryRequest(idea_file=idea, script=script, out=out, until="voice", config=cfg))
        monkeypatch.delenv("ELEVENLABS_API_KEY")
        done = make_story(StoryRequest(out=out, until="captions", config={**cfg, "revise.max_sentence_words": 21}))
        assert "revised" in done.ran and "voice" not in done.ran and "captions" in done.ran, done.ran
        assert len(tts.requests) >= 1
