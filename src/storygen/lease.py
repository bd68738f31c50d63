"""One writer per story: an exclusive lease on the story folder.

The lease is a small JSON file in the story (``.lease.json``: host, pid, token, since, heartbeat), changed only
under an OS file lock (``.lease.lock``, ``flock``; on Linux NFS this is a POSIX lock the server sees, so it holds
across hosts on shared storage). Whoever holds the lease is the only one who writes the story's files and manifest.

Is a recorded holder still there?
- on this host: its process is alive (and, within this process, the lease object is still held);
- on another host: its heartbeat is younger than ``ttl`` seconds (a live holder refreshes it every ``ttl / 3``).
A holder that is gone (killed, its machine lost) has its lease taken over by the next run, which then resumes the
story from its manifest.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from storygen import layout
from storygen.errors import StoryGenError

HOST = socket.gethostname()
#: seconds without a heartbeat after which another host's lease counts as lost
DEFAULT_TTL = float(os.environ.get("STORYGEN_LEASE_TTL", "60"))
LOCK_FILE = ".lease.lock"

_HELD: set[str] = set()  # tokens of the leases this process holds now
_HELD_LOCK = threading.Lock()


class StoryBusy(StoryGenError):
    """Another run holds the story's lease."""

    exit_code = 5


@dataclass(frozen=True)
class LeaseInfo:
    host: str
    pid: int
    token: str
    since: float
    heartbeat: float
    owner: str = ""

    def describe(self) -> str:
        return f"host {self.host} pid {self.pid}" + (f" ({self.owner})" if self.owner else "")


def read_lease(root: str | os.PathLike[str]) -> LeaseInfo | None:
    """The recorded holder of a story's lease, or None (no lease, or an unreadable file from a killed writer)."""
    try:
        data = json.loads((Path(root) / layout.LEASE).read_text(encoding="utf-8"))
        return LeaseInfo(**{k: data[k] for k in ("host", "pid", "token", "since", "heartbeat")}, owner=data.get("owner", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def holder_alive(info: LeaseInfo | None, ttl: float = DEFAULT_TTL, now: float | None = None) -> bool:
    """Whether the recorded holder is still making the story (see the module doc)."""
    if info is None:
        return False
    if info.host != HOST:
        return (now if now is not None else time.time()) - info.heartbeat < ttl
    if info.pid == os.getpid():
        with _HELD_LOCK:
            return info.token in _HELD
    from storygen.workspace import pid_alive

    return pid_alive(info.pid)


@contextlib.contextmanager
def _locked(root: Path):
    """The short critical section in which a lease is read and changed."""
    import fcntl

    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write(root: Path, info: LeaseInfo) -> None:
    from storygen.workspace import write_text

    write_text(root / layout.LEASE, json.dumps(asdict(info)))


class StoryLease:
    """``with StoryLease(root, wait=60): ...`` - hold the story for the block; StoryBusy if it stays taken.

    ``wait``: seconds to wait for another holder to finish (0: fail at once; None: wait as long as it takes).
    ``on_wait(info)`` is called once when the run has to wait, so a front door can say for whom.
    """

    def __init__(self, root: str | os.PathLike[str], *, wait: float | None = 0.0, ttl: float = DEFAULT_TTL,
                 owner: str = "", on_wait: Any = None, poll: float = 0.2):
        self.root = Path(root).resolve()
        self.wait, self.ttl, self.owner, self.on_wait, self.poll = wait, ttl, owner, on_wait, poll
        self.token = uuid.uuid4().hex
        self.info: LeaseInfo | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        self.lost = False

    # ------------------------------------------------------------------ taking and giving back
    def acquire(self) -> "StoryLease":
        deadline = None if self.wait is None else time.monotonic() + max(0.0, self.wait)
        told = False
        while True:
            other = self._try_take()
            if other is None:
                break
            if deadline is not None and time.monotonic() >= deadline:
                waited = f" (waited {self.wait:g} s)" if self.wait else ""
                raise StoryBusy(f"Story '{self.root}' is being made by {other.describe()}, "
                                f"since {time.strftime('%H:%M:%S', time.localtime(other.since))}{waited}.",
                                "let that run finish, or stop it; --wait SECONDS queues behind it. A run that was killed "
                                "frees the story at once on its own host, after its lease times out on another.")
            if not told and self.on_wait is not None:
                self.on_wait(other)
                told = True
            time.sleep(self.poll)
        self._beat = threading.Thread(target=self._heartbeat, name=f"lease-{self.root.name}", daemon=True)
        self._beat.start()
        return self

    def _try_take(self) -> LeaseInfo | None:
        """Take the lease; None when taken, else the live holder that has it."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _locked(self.root):
            cur = read_lease(self.root)
            if cur is not None and cur.token != self.token and holder_alive(cur, self.ttl):
                return cur
            now = time.time()
            self.info = LeaseInfo(HOST, os.getpid(), self.token, now, now, self.owner)
            with _HELD_LOCK:
                _HELD.add(self.token)
            _write(self.root, self.info)
        return None

    def _heartbeat(self) -> None:
        while not self._stop.wait(max(0.5, self.ttl / 3)):
            with contextlib.suppress(OSError), _locked(self.root):
                cur = read_lease(self.root)
                if cur is None or cur.token != self.token:  # taken over: we were presumed dead
                    self.lost = True
                    return
                self.info = LeaseInfo(**{**asdict(cur), "heartbeat": time.time()})
                _write(self.root, self.info)

    def check(self) -> None:
        """Raise StoryBusy if the lease was taken over (this run was presumed dead): it must stop writing."""
        cur = read_lease(self.root)
        if self.lost or cur is None or cur.token != self.token:
            self.lost = True
            who = cur.describe() if cur else "nobody"
            raise StoryBusy(f"Story '{self.root}' was taken over by {who} while this run was writing it.",
                            "the other run goes on with the story; run again after it finishes if needed.")

    def release(self) -> None:
        self._stop.set()
        if self._beat is not None and self._beat is not threading.current_thread():
            self._beat.join(timeout=5)
        with contextlib.suppress(OSError), _locked(self.root):
            cur = read_lease(self.root)
            if cur is not None and cur.token == self.token:
                (self.root / layout.LEASE).unlink(missing_ok=True)
        with _HELD_LOCK:
            _HELD.discard(self.token)

    def __enter__(self) -> "StoryLease":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
