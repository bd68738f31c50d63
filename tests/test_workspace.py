import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storygen.errors import InputError
from storygen.workspace import HOST_TAG, Story, atomic_path, cleanup_partials, read_json, work_dir, write_json, write_text


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


# ------------------------------------------------------------------ file modes
@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_written_files_get_the_usual_mode_not_0600(tmp_path: Path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
        with atomic_path(tmp_path / "final.mp4") as tmp:  # a writer that truncates the temp file in place
            tmp.write_bytes(b"video")
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
        assert (tmp_path / "final.mp4").stat().st_mode & 0o777 == 0o644
        os.umask(0o027)
        write_text(tmp_path / "b.txt", "x")
        assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


# ------------------------------------------------------------------ leftovers of killed runs
def _dead_pid() -> int:
    # a real process on purpose: the PID of one that has exited is what these clean-up tests need
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.skipif(os.name != "posix", reason="PID liveness via os.kill(pid, 0)")
def test_render_folders_of_dead_runs_are_removed_live_ones_kept(tmp_path: Path):
    story = Story.open_or_create(tmp_path / "s")
    dead = story.root / f".render-{_dead_pid()}-abcd1234"
    dead.mkdir()
    (dead / "picture.mp4").write_bytes(b"x" * 1000)
    (dead / ".final_audio.123-x.part.wav").write_bytes(b"x")
    other_live = story.root / f".render-{os.getppid()}-abcd1234"  # another process that still runs
    other_live.mkdir()
    (other_live / ".final_audio.1-abc.part.wav").write_bytes(b"x")  # its files are not touched either
    reused = story.root / f".render-{os.getpid()}-zzzz9999"  # our PID, not ours (a PID reused after a kill)
    reused.mkdir()
    old_format_fresh = story.root / ".render-8znigu1j"  # no PID: kept while it may still be written
    old_format_fresh.mkdir()
    old_format_old = story.root / ".render-k2j3h4g5"
    old_format_old.mkdir()
    (old_format_old / "ducked.wav").write_bytes(b"x")
    t = time.time() - 11 * 60
    for p in (old_format_old, old_format_old / "ducked.wav"):
        os.utime(p, (t, t))
    with work_dir(story.root) as mine:  # a render going on in this process
        assert mine.name.startswith(f".render-{os.getpid()}@{HOST_TAG}-")
        Story.open_or_create(story.root)
        assert mine.is_dir()
    assert not mine.exists()
    assert not dead.exists() and not reused.exists() and not old_format_old.exists()
    assert other_live.is_dir() and (other_live / ".final_audio.1-abc.part.wav").exists()
    assert old_format_fresh.is_dir()


@pytest.mark.skipif(os.name != "posix", reason="PID liveness via os.kill(pid, 0)")
def test_temp_files_of_a_concurrent_run_are_kept(tmp_path: Path):
    story = Story.open_or_create(tmp_path / "s")
    (story.root / "voice").mkdir()
    dead = story.root / "voice" / f".voice.{_dead_pid()}-abcd1234.part.wav"
    live = story.root / "voice" / f".voice.{os.getppid()}-abcd1234.part.wav"
    for p in (dead, live):
        p.write_bytes(b"x")
    target = story.root / "final.mp4"
    with atomic_path(target) as tmp:  # this process is writing final.mp4 while the story is opened again
        assert f".{os.getpid()}@{HOST_TAG}-" in tmp.name
        tmp.write_bytes(b"half")
        assert cleanup_partials(story.root) == 1
        assert tmp.exists()
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert not dead.exists() and live.exists()
    assert cleanup_partials(story.root) == 0  # a live process's temp file stays, however often we look
