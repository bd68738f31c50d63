"""Model lifecycle: one object owns every loaded model and provider instance of a process (or of a worker).

A ``ModelHost`` loads each model once, shares it between the stories (and threads) that use it, and releases
all of it on ``close()``. Loading is thread-safe: two threads asking for the same key wait for one load
(per-key locks), while different models load side by side. A CUDA out-of-memory error releases everything the
host holds (``on_oom``), not one cache of several.

Providers never keep module-level caches of their own: they call ``current().load(key, factory)``. Which host is
current is a context variable, so a server or a Ray actor runs each worker under its own host
(``with using(host): ...``); code that never sets one shares the process default.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import Any


class ModelHost:
    """Owns loaded models and provider instances: ``load`` once, ``forget``/``close`` to release them."""

    def __init__(self, name: str = "default"):
        self.name = name
        self._objects: dict[Hashable, Any] = {}
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._lock = threading.RLock()
        self.loads = 0  # how many factories ran (tests and benchmarks read it)

    # ------------------------------------------------------------------ loading
    def load(self, key: Hashable, factory: Callable[[], Any]) -> Any:
        """The object held under ``key``, built by ``factory()`` the first time (once, whatever the threads)."""
        with self._lock:
            if key in self._objects:
                return self._objects[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # one load per key; other keys are not blocked meanwhile
            with self._lock:
                if key in self._objects:
                    return self._objects[key]
            obj = factory()
            with self._lock:
                self._objects[key] = obj
                self.loads += 1
            return obj

    def find(self, match: Callable[[Hashable], bool]) -> tuple[Hashable, Any] | None:
        """The first held (key, object) whose key satisfies ``match`` (e.g. "this model at any thread count")."""
        with self._lock:
            for key, obj in self._objects.items():
                if match(key):
                    return key, obj
        return None

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._objects

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._objects)

    # ------------------------------------------------------------------ releasing
    def forget(self, key: Hashable | None = None) -> None:
        """Release one object (or all), calling its ``close()`` if it has one, and free cached GPU memory."""
        with self._lock:
            if key is None:
                dropped = list(self._objects.values())
                self._objects.clear()
                self._key_locks.clear()
            else:
                dropped = [self._objects.pop(key)] if key in self._objects else []
                self._key_locks.pop(key, None)
        for obj in dropped:
            close = getattr(obj, "close", None)
            if callable(close):
                with contextlib.suppress(Exception):
                    close()
        del dropped
        _free_gpu_memory()

    def on_oom(self) -> None:
        """After a CUDA out-of-memory error: release every model this host holds, so a retry starts clean."""
        self.forget()

    def close(self) -> None:
        self.forget()

    def __enter__(self) -> "ModelHost":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _free_gpu_memory() -> None:
    import gc
    import sys

    if "torch" not in sys.modules:  # nothing was loaded with torch: do not import it just to free nothing
        return
    gc.collect()
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


_PROCESS = ModelHost("process")
_CURRENT: ContextVar[ModelHost | None] = ContextVar("storygen_model_host", default=None)


def current() -> ModelHost:
    """The host that loads models for the code running now: the one set by ``using``, else the process's own."""
    return _CURRENT.get() or _PROCESS


@contextlib.contextmanager
def using(host: ModelHost) -> Iterator[ModelHost]:
    """Run a block (a story, a worker's loop) with ``host`` owning the models it loads."""
    token = _CURRENT.set(host)
    try:
        yield host
    finally:
        _CURRENT.reset(token)
