"""Bad input gets one clear line, a non-zero exit, and nothing outside the story folder is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import invoke_cli, run_cli


def _one_line_error(r) -> str:
    assert r.returncode != 0
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], r.stderr  # progress lines may precede it
    assert "Traceback" not in r.stderr
    return errors[0]


@pytest.mark.parametrize("idea", ["", "   \n\t "])
def test_empty_idea(tmp_path: Path, idea: str):
    line = _one_line_error(invoke_cli("make", idea, "-o", str(tmp_path / "s")))
    assert "empty" in line and "Fix:" in line


def test_huge_idea(tmp_path: Path):
    line = _one_line_error(invoke_cli("make", "x" * 20_000, "-o", str(tmp_path / "s")))
    assert "20,000" in line


def test_output_folder_that_is_not_a_story(tmp_path: Path):
    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "a.jpg").write_bytes(b"1")
    line = _one_line_error(invoke_cli("make", "an idea", "-o", str(mine)))
    assert "not a story folder" in line
    assert os.listdir(mine) == ["a.jpg"]
    f = tmp_path / "afile"
    f.write_text("x")
    assert "is a file" in _one_line_error(invoke_cli("make", "an idea", "-o", str(f)))


def test_bad_script_files(tmp_path: Path, idea_file: Path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert "empty" in _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--script", str(empty), "-o", str(tmp_path / "a")))
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02PNG\x00")
    assert "binary" in _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--script", str(binary), "-o", str(tmp_path / "b")))


def test_bad_voice_files(tmp_path: Path, idea_file: Path, script_file: Path):
    fake = tmp_path / "voice.wav"
    fake.write_text("this is not audio")
    line = _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "--voice", str(fake), "-o", str(tmp_path / "a")))
    assert "not a readable audio file" in line
    assert "does not exist" in _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--voice", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "b")))
    import numpy as np
    import soundfile as sf

    tiny = tmp_path / "tiny.wav"
    sf.write(tiny, (0.3 * np.sin(np.arange(8820) / 10)).astype("float32"), 44100)  # 0.2 s of real audio
    line = _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "--voice", str(tiny), "-o", str(tmp_path / "c")))
    assert "only 0.20 s long" in line


def test_bad_images_folders(tmp_path: Path, idea_file: Path):
    empty = tmp_path / "imgs"
    empty.mkdir()
    assert "holds no images" in _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--images", str(empty), "-o", str(tmp_path / "a")))
    (empty / "01.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    assert "corrupt" in _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--images", str(empty), "-o", str(tmp_path / "b")))


def test_bad_config_and_stage_names(tmp_path: Path, idea_file: Path):
    line = _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "-c", "voice.nope=1", "-o", str(tmp_path / "a")))
    assert "Unknown config key" in line and "known keys in [voice]: provider" in line  # brackets survive the console
    assert "Unknown stage" in _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--until", "render", "-o", str(tmp_path / "b")))
    line = _one_line_error(invoke_cli("make", "an idea", "-c", "writer.provider=gpt5", "--until", "idea", "-o", str(tmp_path / "c")))
    assert "writer.provider" in line and "gpt5" in line and "llamacpp" in line
    # values for late stages fail at once, before any work, and create nothing
    for bad, named in (("captions.style=bogus", "karaoke"), ("render.fps=0", "render.fps"), ("render.preset=bogus", "veryfast"),
                       ("writer.temperature=nan", "writer.temperature"), ("render.loudness=5", "render.loudness")):
        line = _one_line_error(invoke_cli("make", "an idea", "-c", bad, "-o", str(tmp_path / "d")))
        assert named in line and "Fix:" in line, bad
    assert not (tmp_path / "d").exists()
    line = _one_line_error(invoke_cli("make", "--idea-file", str(idea_file), "--from", "final", "--until", "voice", "-o", str(tmp_path / "e")))
    assert "--from final comes after --until voice" in line and not (tmp_path / "e").exists()


def test_a_failed_input_check_leaves_no_story_behind(tmp_path: Path, idea_file: Path, script_file: Path):
    out = tmp_path / "e2"
    assert "does not exist" in _one_line_error(invoke_cli("make", "x", "-o", str(out), "--script", str(tmp_path / "nofile.txt")))
    assert "does not exist" in _one_line_error(invoke_cli("make", "x", "-o", str(out), "--images", str(tmp_path / "noimgs")))
    assert not out.exists()  # so the corrected command is not refused as "a different idea"
    line = _one_line_error(invoke_cli("make", "-o", str(out)))
    assert "not a story yet" in line and not out.exists()


def test_changing_a_storys_script_needs_force(tmp_path: Path, idea_file: Path, script_file: Path):
    out = tmp_path / "s"
    r = invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "-o", str(out), "--until", "idea")
    assert r.returncode == 0, r.stderr
    other = tmp_path / "other.txt"
    other.write_text("A different script. It has other words in it.\n")
    line = _one_line_error(invoke_cli("make", "-o", str(out), "--script", str(other), "--until", "idea"))
    assert "already holds a different script" in line and "--force" in line
    assert (out / "script" / "user_script.txt").read_text() == script_file.read_text().strip() + "\n"
    r = invoke_cli("make", "-o", str(out), "--script", str(other), "--until", "idea", "--force")
    assert r.returncode == 0 and "different script" in (out / "script" / "user_script.txt").read_text()


def test_story_folder_names_for_ideas_in_any_script():
    from storygen.service import slug as _slug

    a, b, c = _slug("東京の猫"), _slug("🐱🌙"), _slug("Кот в Москве")
    assert all(x.startswith("story-") for x in (a, b, c)) and len({a, b, c}) == 3
    assert _slug("東京の猫") == a  # stable, so a re-run finds the same story
    assert _slug("Un gato en Tokio 🐱") == "un-gato-en-tokio"


def test_missing_ffmpeg_is_named(tmp_path: Path, idea_file: Path, script_file: Path):
    r = invoke_cli("make", "--idea-file", str(idea_file), "--script", str(script_file), "-o", str(tmp_path / "a"),
                env={"STORYGEN_FFMPEG": str(tmp_path / "no-ffmpeg")})
    line = _one_line_error(r)
    assert "STORYGEN_FFMPEG" in line


def test_hostile_idea_is_just_text(tmp_path: Path, monkeypatch):
    # without -o the folder name comes from the idea: it must never become a path or reach a shell
    monkeypatch.chdir(tmp_path)
    r = invoke_cli("make", "../../etc/passwd $(touch pwned)", "--until", "idea", "-c", "writer.provider=openai",
                "-c", "writer.base_url=http://127.0.0.1:9/v1", cwd=tmp_path, env={"OPENAI_API_KEY": ""})
    assert r.returncode != 0
    assert not (tmp_path / "pwned").exists()
    made = list((tmp_path / "stories").iterdir())
    assert [p.name for p in made] == ["etc-passwd-touch-pwned"]
    assert (made[0] / "idea" / "input.txt").read_text() == "../../etc/passwd $(touch pwned)"


def test_secret_never_printed(tmp_path: Path):
    # a real process on purpose: the secret must be in nothing the process writes, including what C libraries and
    # loggers bound to the original streams write straight to file descriptors 1 and 2, which CliRunner cannot see
    r = run_cli("make", "an idea", "-c", "writer.provider=openai", "-c", "writer.base_url=http://127.0.0.1:9/v1",
                "-c", "writer.max_retries=0", "-c", "writer.timeout=2", "--until", "idea", "-o", str(tmp_path / "s"),
                env={"OPENAI_API_KEY": "sk-SUPERSECRET-0123456789"})
    assert r.returncode != 0
    assert "SUPERSECRET" not in r.stdout + r.stderr
    for f in (tmp_path / "s").rglob("*"):
        if f.is_file():
            assert b"SUPERSECRET" not in f.read_bytes()
