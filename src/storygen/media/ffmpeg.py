"""Run ffmpeg with argument lists (never a shell string) and read media facts.

The ffmpeg binary is the static build that ships in ``imageio-ffmpeg`` (libx264, libass, loudnorm,
sidechaincompress, xfade), so the default path needs nothing outside pip. ``STORYGEN_FFMPEG``
points at another binary.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from storygen.errors import MediaError


def ffmpeg_exe() -> str:
    override = os.environ.get("STORYGEN_FFMPEG")
    if override:
        if not (Path(override).is_file() and os.access(override, os.X_OK)):
            raise MediaError(f"STORYGEN_FFMPEG points at '{override}', which is not an executable.",
                             "unset STORYGEN_FFMPEG to use the bundled ffmpeg.")
        return override
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # noqa: BLE001 - any failure means "no ffmpeg"
        exe = shutil.which("ffmpeg")
        if not exe:
            raise MediaError("ffmpeg was not found.", "pip install imageio-ffmpeg==0.8.1 (or reinstall storygen).") from e
    return exe


def _load_prctl():
    """libc's ``prctl`` on Linux (resolved once, in the parent), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    fn.restype = ctypes.c_int
    return fn


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the forked child
    """``preexec_fn``: the kernel SIGKILLs the child when its parent dies (killed with -9 included),
    so an orphaned ffmpeg does not keep encoding into a folder nobody will read.

    The signal follows the parent THREAD that started the child; run_ffmpeg waits for its child in
    that same thread, so that thread outlives it. If the parent died before prctl ran, exit at once.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)


def child_process_options() -> dict:
    """Extra ``subprocess.Popen`` options for a child that must not outlive this process (Linux; else none)."""
    if _PRCTL is None:
        return {}
    parent = os.getpid()
    return {"preexec_fn": lambda: _die_with_parent(parent)}


_DISK_FULL = re.compile(r"No space left on device|ENOSPC|File too large|Disk quota exceeded", re.I)


def run_ffmpeg(
    args: Sequence[str | os.PathLike[str]],
    *,
    what: str = "ffmpeg",
    duration: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    timeout: float | None = None,
) -> str:
    """Run ffmpeg with ``args`` (no leading binary). Returns stderr. Raises MediaError with one clear line.

    With ``on_progress`` the fraction done (0-1) is reported from ``-progress pipe:1``.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y"]
    if on_progress is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += [os.fspath(a) for a in args]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                                **child_process_options())
    except OSError as e:
        raise MediaError(f"Could not start ffmpeg ({e.strerror}).", "reinstall imageio-ffmpeg or set STORYGEN_FFMPEG.") from e
    import threading

    err_chunks: list[str] = []
    t = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    t.start()
    try:
        if proc.stdout is not None:
            for line in proc.stdout:
                if on_progress and duration and line.startswith("out_time_us="):
                    try:
                        us = int(line.split("=", 1)[1])
                    except ValueError:
                        continue
                    on_progress(max(0.0, min(1.0, us / 1e6 / duration)))
    except BaseException:  # the progress callback raised (a cancelled run): stop ffmpeg now, not when it finishes
        proc.kill()
        proc.wait()
        t.join(timeout=5)
        raise
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise MediaError(f"{what} took longer than {timeout:.0f} s and was stopped.", "try a shorter clip or a faster preset.") from None
    t.join(timeout=5)
    err = "".join(err_chunks)
    if proc.returncode != 0:
        if _DISK_FULL.search(err) or proc.returncode == -getattr(signal, "SIGXFSZ", 25):
            raise MediaError(f"{what} failed: the disk is full.", "free some disk space and run the same command again; finished stages are kept.")
        tail = " | ".join(l.strip() for l in err.strip().splitlines()[-3:])
        raise MediaError(f"{what} failed (ffmpeg exit {proc.returncode}): {tail}", "check the input files named above.")
    return err


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    sample_rate: int = 0
    channels: int = 0
    pix_fmt: str = ""
    video_frames: int = 0


def audio_seconds(path: str | os.PathLike[str]) -> float | None:
    """How long the audio in ``path`` lasts, or None when the file cannot be read or holds no audio."""
    try:
        info = probe(path)
    except Exception:  # noqa: BLE001 - unreadable is the answer
        return None
    return info.duration if info.has_audio else None


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Read a media file's streams with PyAV (the bundled ffmpeg ships no ffprobe)."""
    import av

    try:
        with av.open(os.fspath(path)) as c:
            v = next((s for s in c.streams if s.type == "video"), None)
            a = next((s for s in c.streams if s.type == "audio"), None)
            dur = float(c.duration / 1e6) if c.duration else 0.0
            info = dict(duration=dur, has_video=v is not None, has_audio=a is not None)
            if v is not None:
                cc = v.codec_context
                info.update(width=cc.width, height=cc.height, fps=float(v.average_rate or 0),
                            video_codec=cc.name, pix_fmt=str(cc.pix_fmt or ""), video_frames=int(v.frames or 0))
            if a is not None:
                cc = a.codec_context
                info.update(audio_codec=cc.name, sample_rate=int(cc.sample_rate or 0), channels=int(cc.channels or 0))
            return MediaInfo(**info)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:  # type: ignore[attr-defined]
        raise MediaError(f"'{path}' is not a readable media file ({e.__class__.__name__}).", "pass a valid audio or video file.") from e
