"""Resuming around the user's own work: hand edits survive setting changes and upgrades, a damaged edit is
caught before it reaches the final cut, and config keys left at their defaults do not invalidate stages."""

from __future__ import annotations

from pathlib import Path

from conftest import invoke_cli
from storygen.config import DEFAULTS, load_config
from storygen.pipeline import stage_key
from storygen.stages.base import Context, RunOptions
from storygen.stages.script import ScriptStage
from storygen.workspace import Story


def test_a_hand_edit_is_kept_when_the_stage_settings_change(tmp_path: Path, idea_file: Path, script_file: Path):
    out = tmp_path / "s"
    r = invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "-o", str(out), "--until", "revised")
    assert r.returncode == 0, r.stderr
    revised = out / "revised" / "script.txt"
    revised.write_text(revised.read_text() + "\nHe never climbed the stairs again.\n")
    r = invoke_cli("make", "-o", str(out), "--until", "revised", "-c", "revise.max_sentence_words=30")
    assert r.returncode == 0, r.stderr
    assert revised.read_text().rstrip().endswith("He never climbed the stairs again.")
    st = invoke_cli("status", str(out), "--json", "-c", "revise.max_sentence_words=30")
    assert "kept although setting changed: revise" in st.stdout, st.stdout
    r = invoke_cli("make", "-o", str(out), "--until", "revised", "--from", "revised", "-c", "revise.max_sentence_words=30")
    assert r.returncode == 0 and "never climbed the stairs again" not in revised.read_text()  # asked for: re-made


def test_a_damaged_voice_file_is_an_error_not_a_silent_video(tmp_path: Path, idea_file: Path, script_file: Path):
    out = tmp_path / "s"
    r = invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "-o", str(out), "--until", "voice")
    assert r.returncode == 0, r.stderr
    wav = out / "voice" / "voice.wav"
    with open(wav, "r+b") as fh:
        fh.truncate(1000)
    r = invoke_cli("make", "-o", str(out), "--until", "captions")
    assert r.returncode != 0 and "voice/voice.wav was changed outside storygen" in r.stderr and "--from voice" in r.stderr
    assert not (out / "captions" / "words.json").exists()
    r = invoke_cli("make", "-o", str(out), "--until", "voice", "--from", "voice")
    assert r.returncode == 0 and wav.stat().st_size > 10_000


def test_config_keys_at_their_defaults_are_not_part_of_a_stage_key(tmp_path: Path, monkeypatch):
    story = Story.open_or_create(tmp_path / "s")
    (tmp_path / "s" / "idea").mkdir()
    (tmp_path / "s" / "idea" / "idea.json").write_text("{}")
    ctx = lambda cfg: Context(story=story, cfg=cfg, options=RunOptions())  # noqa: E731
    base = stage_key(ScriptStage(), ctx(load_config(None, [], env={})))[0]
    same = stage_key(ScriptStage(), ctx(load_config(None, ["script.target_words=360"], env={})))[0]
    other = stage_key(ScriptStage(), ctx(load_config(None, ["script.target_words=300"], env={})))[0]
    assert base == same and base != other
    monkeypatch.setitem(DEFAULTS["script"], "a_new_knob", False)  # a release adds a key with a neutral default
    assert stage_key(ScriptStage(), ctx(load_config(None, [], env={})))[0] == base


def test_length_warning_names_the_platforms_a_long_narration_does_not_fit():
    from storygen.stages.voice import length_warning

    assert length_warning(59.5) is None and length_warning(180.0) is None
    w = length_warning(415.0)
    assert "6:55" in w and "YouTube Shorts" in w and "Instagram Reels" in w and "TikTok" not in w
    assert "TikTok" in length_warning(601.0)


def test_stories_recorded_with_full_settings_stay_up_to_date(tmp_path: Path, idea_file: Path, script_file: Path):
    """Manifests written before defaults were left out of keys (every setting hashed) are not re-run."""
    import json

    from storygen.workspace import hash_obj

    out = tmp_path / "s"
    r = invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "-o", str(out), "--until", "revised")
    assert r.returncode == 0, r.stderr
    man_path = out / "manifest.json"
    man = json.loads(man_path.read_text())
    from storygen.pipeline import ALL_STAGES

    for stage in ALL_STAGES[:3]:  # rewrite the entries the old way: the full settings, defaults included
        e = man["stages"][stage.name]
        full = stage.settings(Context(story=Story(out), cfg=load_config(None, [], env={}), options=RunOptions()))
        e["settings"] = full
        e["key"] = hash_obj({"stage": stage.name, "code": stage.code_version, "inputs": e["inputs"], "settings": full})
    man_path.write_text(json.dumps(man))
    r = invoke_cli("make", "-o", str(out), "--until", "revised", "--json")
    assert r.returncode == 0 and '"event": "start"' not in r.stdout, r.stdout
