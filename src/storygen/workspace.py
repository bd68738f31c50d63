"""The story folder: its layout, the manifest (the only state), atomic writes and hashing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storygen.errors import InputError

STAGES = ("idea", "script", "revised", "voice", "captions", "scenes", "keyframes", "clips", "final")
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
TOP_LEVEL = ("final.mp4", "thumbnail.jpg", "captions.srt", "captions.vtt", "captions.ass", "metadata.json")


# ---------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success fsync and rename it into place.

    On any error the temp file is removed, so a reader never sees a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    if hasattr(obj, "model_dump"):
        obj = obj.model_dump(mode="json")
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- hashing
def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_obj(obj: Any) -> str:
    return hash_bytes(json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8"))


def hash_paths(paths: list[Path], root: Path) -> dict[str, str]:
    """sha256 of each file (or every file under a folder), keyed by path relative to ``root``."""
    out: dict[str, str] = {}
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not f.name.startswith("."):
                    out[f.relative_to(root).as_posix()] = hash_file(f)
        elif p.is_file():
            out[p.relative_to(root).as_posix()] = hash_file(p)
        else:
            out[p.relative_to(root).as_posix()] = "missing"
    return out


def cleanup_partials(folder: Path) -> int:
    """Remove temp files left by a killed run (``.name.xxxx.part.ext``). Returns how many."""
    n = 0
    if folder.is_dir():
        for f in folder.rglob(".*.part*"):
            if f.is_file():
                f.unlink(missing_ok=True)
                n += 1
    return n


# ---------------------------------------------------------------- the story folder
class Story:
    """A story folder: one subfolder per stage plus ``manifest.json``."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()

    # layout ---------------------------------------------------------------
    def stage_dir(self, stage: str) -> Path:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        return self.root / stage

    def path(self, rel: str) -> Path:
        return self.root / rel

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    # creation -------------------------------------------------------------
    @classmethod
    def open_or_create(cls, root: str | os.PathLike[str]) -> "Story":
        """Open an existing story folder or create a new one; refuse anything else.

        A folder that exists, is not empty and holds no manifest is the user's, not ours.
        """
        p = Path(root)
        if p.exists() and not p.is_dir():
            raise InputError(f"Output path '{p}' is a file, not a folder.", "pass -o with a new or story folder.")
        if p.is_dir():
            has_manifest = (p / MANIFEST).is_file()
            entries = [e for e in p.iterdir() if not e.name.startswith(".")]
            if entries and not has_manifest:
                raise InputError(
                    f"Output folder '{p}' exists and is not a story folder (no {MANIFEST}).",
                    "pass -o with a new folder, or an empty one.",
                )
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"Cannot create output folder '{p}': {e.strerror}.", "choose a writable -o folder.") from e
        story = cls(p)
        cleanup_partials(story.root)
        if not story.manifest_path.exists():
            story.save_manifest({"version": MANIFEST_VERSION, "created": time.time(), "stages": {}})
        return story

    @classmethod
    def open_existing(cls, root: str | os.PathLike[str]) -> "Story":
        p = Path(root)
        if not (p / MANIFEST).is_file():
            raise InputError(f"'{p}' is not a story folder (no {MANIFEST}).", "pass a folder made by `storygen make`.")
        return cls(p)

    # manifest -------------------------------------------------------------
    def load_manifest(self) -> dict[str, Any]:
        try:
            data = read_json(self.manifest_path)
        except FileNotFoundError:
            return {"version": MANIFEST_VERSION, "stages": {}}
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError(
                f"{self.manifest_path} is corrupt ({e.__class__.__name__}).",
                "delete it to rebuild the story from scratch, or restore it.",
            ) from e
        data.setdefault("stages", {})
        return data

    def save_manifest(self, data: dict[str, Any]) -> None:
        write_json(self.manifest_path, data)

    def record_stage(self, stage: str, entry: dict[str, Any]) -> None:
        data = self.load_manifest()
        data["stages"][stage] = entry
        data["updated"] = time.time()
        self.save_manifest(data)

    def forget_stage(self, stage: str) -> None:
        data = self.load_manifest()
        if data["stages"].pop(stage, None) is not None:
            self.save_manifest(data)
