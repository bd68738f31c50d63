"""The story folder: its layout, the manifest (the only state), atomic writes and hashing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storygen import layout
from storygen.errors import InputError
from storygen.layout import MANIFEST, STAGES, TOP_LEVEL  # noqa: F401 - re-exported for callers

MANIFEST_VERSION = 1


# ---------------------------------------------------------------- file modes
def _read_umask_once() -> int:
    """The umask at import, by setting and restoring it (the only portable way; done once, under a lock)."""
    with _UMASK_LOCK:
        old = os.umask(0o077)
        os.umask(old)
    return old


_UMASK_LOCK = threading.Lock()
_IMPORT_UMASK = _read_umask_once()


def current_umask() -> int:
    """The process umask, read without changing it (Linux ``/proc/self/status``), else the one at import."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _IMPORT_UMASK


def default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file: 0o666 less the umask (0o644 with umask 022)."""
    return 0o666 & ~current_umask()


# ---------------------------------------------------------------- temp names and who owns them
# Temp files and render work folders carry the PID of the process that made them
# (``.final.<pid>-xxxx.part.mp4``, ``.render-<pid>-xxxx``), so a later run can tell a killed run's
# leftovers from the live temp files of another run working on the same folder at the same time.
# Those in use by THIS process are listed in _LIVE (a PID may be reused, e.g. PID 1 in a container).
_LIVE: set[str] = set()
_LIVE_LOCK = threading.Lock()
#: the host a temp name was made on, as a short tag: a run on another machine (shared storage) is not judged
#: by this machine's process table
HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_PART_PID = re.compile(r"\.(\d+)(?:@([0-9a-f]{8}))?-[A-Za-z0-9_]+\.part")
_WORK_PID = re.compile(r"^\.render-(\d+)(?:@([0-9a-f]{8}))?-")
#: a temp file or folder without an owner PID (made by an older storygen) that has not changed
#: for this long is left over from a killed run
STALE_AFTER_S = 600.0


def _key(path: Path) -> str:
    return os.path.realpath(path)


def _live(path: Path, on: bool) -> None:
    with _LIVE_LOCK:
        (_LIVE.add if on else _LIVE.discard)(_key(path))


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists (or may exist: when in doubt, alive)."""
    if pid <= 0:
        return False
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists but belongs to another user
        return True
    try:  # a killed process whose parent has not reaped it yet (a zombie) is dead too
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _newest_mtime(path: Path) -> float:
    newest = 0.0
    with contextlib.suppress(OSError):
        newest = path.stat().st_mtime
    if path.is_dir():
        for f in path.rglob("*"):
            with contextlib.suppress(OSError):
                newest = max(newest, f.stat().st_mtime)
    return newest


def _owner() -> str:
    return f"{os.getpid()}@{HOST_TAG}"  # after a fork the PID changes


def is_leftover(path: Path, pid: int | None, now: float | None = None, host: str | None = None,
                remote_live: bool = False) -> bool:
    """Whether a temp file / work folder owned by ``pid`` on host tag ``host`` (None: unknown owner, or this host
    for ``host``) is left over from a dead run. Another host's file is left over unless ``remote_live``: that host
    holds a live lease on the story."""
    if host is not None and host != HOST_TAG:
        return not remote_live
    if pid is None or os.name != "posix":
        return (now if now is not None else time.time()) - _newest_mtime(path) > STALE_AFTER_S
    if pid == os.getpid():
        with _LIVE_LOCK:
            return _key(path) not in _LIVE
    return not pid_alive(pid)


# ---------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success fsync and rename it into place.

    On any error the temp file is removed, so a reader never sees a half-written file. The file
    gets the usual mode for a new file (0o666 less the umask), not mkstemp's 0o600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{_owner()}-", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    _live(tmp_path, True)
    try:
        yield tmp_path
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, default_file_mode())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
    finally:
        _live(tmp_path, False)


@contextlib.contextmanager
def work_dir(parent: str | os.PathLike[str], prefix: str = ".render-") -> Iterator[Path]:
    """A temp folder ``<prefix><pid>@<host tag>-xxxx`` in ``parent``, removed on exit.

    If the process is killed, the folder stays; ``cleanup_partials`` (run when a story is opened, or by the
    service once it holds the story's lease) removes it once its owner process is gone, never while that
    process still runs, and never while another host that holds the story's lease may be writing it.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix=f"{prefix}{_owner()}-", dir=parent))
    _live(d, True)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)
        _live(d, False)


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


OUTSIDE = "<outside>"


def story_key(p: Path, root: Path) -> str:
    """How a path is named in the manifest: relative to the story, or ``<outside>/NAME`` for a file the user keeps
    elsewhere (a music track): such a file is keyed by its content, which its hash already is."""
    try:
        return Path(os.path.abspath(p)).relative_to(root).as_posix()
    except ValueError:
        return f"{OUTSIDE}/{p.name}"


def hash_paths(paths: list[Path], root: Path) -> dict[str, str]:
    """sha256 of each file (or every file under a folder), keyed by ``story_key``."""
    out: dict[str, str] = {}
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not f.name.startswith("."):
                    out[story_key(f, root)] = hash_file(f)
        elif p.is_file():
            out[story_key(p, root)] = hash_file(p)
        else:
            out[story_key(p, root)] = "missing"
    return out


def cleanup_partials(folder: Path) -> int:
    """Remove what a killed run left: temp files (``.name.<pid>-xxxx.part.ext``) and render work
    folders (``.render-<pid>-xxxx``) whose owner process is gone. Returns how many.

    Temp files and folders of a run still going on (another process on the same story) are kept;
    ones without an owner PID (older versions) go when they have not changed for STALE_AFTER_S
    (folders) or at once (temp files, as before).
    """
    from storygen.lease import HOST, holder_alive, read_lease

    n = 0
    if not folder.is_dir():
        return 0
    lease = read_lease(folder)
    remote = lease if lease is not None and lease.host != HOST and holder_alive(lease) else None
    remote_tag = hashlib.sha1(remote.host.encode()).hexdigest()[:8] if remote else None
    now = time.time()

    def leftover(path: Path, m: re.Match[str] | None) -> bool:
        host = m.group(2) if m else None
        return is_leftover(path, int(m.group(1)) if m else None, now, host=host, remote_live=host == remote_tag)

    for d in sorted(folder.rglob(".render-*")):
        if not d.is_dir() or not d.exists():
            continue
        if remote is not None and _WORK_PID.match(d.name) is None:
            continue  # no owner in the name: while another host holds the story, it may be that host's
        if leftover(d, _WORK_PID.match(d.name)):
            shutil.rmtree(d, ignore_errors=True)
            n += 1
    for f in folder.rglob(".*.part*"):
        if not f.is_file() or any(p.startswith(".render-") for p in f.relative_to(folder).parts[:-1]):
            continue  # a work folder's files go with the folder
        m = _PART_PID.search(f.name)
        if m is None and remote is not None:
            continue
        if m is None or leftover(f, m):
            f.unlink(missing_ok=True)
            n += 1
    return n


# ---------------------------------------------------------------- the story folder
_MANIFEST_LOCK = threading.RLock()

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
        """A file or folder of the story, named by its ``storygen.layout`` constant (anything else is a bug)."""
        return self.root / layout.check(rel)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    # creation -------------------------------------------------------------
    @classmethod
    def open_or_create(cls, root: str | os.PathLike[str], *, cleanup: bool = True) -> "Story":
        """Open an existing story folder or create a new one; refuse anything else.

        A folder that exists, is not empty and holds no manifest is the user's, not ours. ``cleanup`` removes
        what killed runs left (the service does that once it holds the story's lease instead).
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
        if cleanup:
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
        """Add one stage's entry. Only the holder of the story's lease (storygen.lease) writes a story, so this
        read-modify-write does not race another process; the lock covers threads of this one."""
        with _MANIFEST_LOCK:
            self._record(stage, entry)

    def _record(self, stage: str, entry: dict[str, Any]) -> None:
        data = self.load_manifest()
        data["stages"][stage] = entry
        data["updated"] = time.time()
        self.save_manifest(data)

    def forget_stage(self, stage: str) -> None:
        data = self.load_manifest()
        if data["stages"].pop(stage, None) is not None:
            self.save_manifest(data)
