import os
from pathlib import Path

import pytest

from storygen.errors import InputError
from storygen.workspace import Story, atomic_path, cleanup_partials, read_json, write_json, write_text


def test_atomic_write_leaves_nothing_on_error(tmp_path: Path):
    target = tmp_path / "a" / "out.txt"
    write_text(target, "first")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("killed")
    assert target.read_text() == "first"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_partials_from_a_killed_run_are_cleaned(tmp_path: Path):
    story = Story.open_or_create(tmp_path / "s")
    junk = story.root / "voice" / ".voice.abc.part.wav"
    junk.parent.mkdir()
    junk.write_bytes(b"x")
    assert cleanup_partials(story.root) == 1 and not junk.exists()


def test_refuses_folders_that_are_not_stories(tmp_path: Path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="not a story folder"):
        Story.open_or_create(user)
    assert sorted(os.listdir(user)) == ["holiday.jpg"]
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        Story.open_or_create(f)


def test_manifest_records_and_corruption_is_reported(tmp_path: Path):
    story = Story.open_or_create(tmp_path / "s")
    story.record_stage("idea", {"key": "k"})
    assert read_json(story.manifest_path)["stages"]["idea"]["key"] == "k"
    story.manifest_path.write_text("{oops")
    with pytest.raises(InputError, match="corrupt"):
        story.load_manifest()
    write_json(story.manifest_path, {"stages": {}})
    assert story.load_manifest()["stages"] == {}
