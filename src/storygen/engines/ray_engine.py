"""The Ray engine: each story is a Ray task; its GPU stages run in long-lived GPU actors that keep their models.

- A story task runs on any node with a free CPU. It walks the story's stages in segments: a run of CPU stages it makes
  itself (``service.make_story`` with ``until``), a run of GPU stages it hands to a GPU actor (one per GPU in the
  cluster, each holding a ``ModelHost``, so SDXL or a 14B writer loads once per GPU, not once per story).
  A stage is a GPU stage when a provider it uses wants a GPU (the ``wants_gpu`` capability); a cluster without GPUs
  runs everything in the story task, on CPU, as the local engine does.
- Story folders live on storage every node mounts at the same path; the story lease (host, pid, heartbeat) keeps two
  workers off one story. A task whose worker or node dies is retried by Ray (``max_retries``) and resumes from the
  manifest; a story that fails for its own reasons (bad input, a model error) returns its error once, unretried.
- Events from remote stages come back through a Ray queue to the caller's ``on_event``.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from storygen import layout
from storygen.engines import BatchEvent, Outcome
from storygen.errors import ProviderError, StoryGenError
from storygen.lease import DEFAULT_TTL
from storygen.service import StoryRequest

#: how often Ray may run a story task again after its worker or node died
TASK_RETRIES = 3
#: how often a story task retries a call to a GPU actor that died (the actor restarts on a node with a GPU)
ACTOR_RETRIES = 3
#: a retried task waits this long for the story's lease: the run it replaces may take a moment to die, and a run
#: on a lost node holds the lease until its heartbeat is older than the lease TTL
LEASE_WAIT = DEFAULT_TTL + 30.0


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ProviderError("--engine ray needs Ray, which is not installed.", "pip install 'storygen[cluster]'") from None
    return ray


# ---------------------------------------------------------------- which stages want a GPU
def gpu_stages(req: StoryRequest) -> set[str]:
    """The stages of this request whose providers want a GPU (decided from the config, without loading a model)."""
    from storygen.pipeline import ALL_STAGES
    from storygen.providers.registry import provider_class
    from storygen.service import load_request_config

    cfg = load_request_config(req)
    out = set()
    for stage in ALL_STAGES:
        if any(provider_class(cap, cfg).wants_gpu for cap in stage.capabilities(cfg)):
            out.add(stage.name)
    return out


def segments(until: str | None, gpu: set[str], use_gpu: bool) -> list[tuple[bool, list[str]]]:
    """The stages up to ``until`` as runs of (on_gpu, [stage, ...]) in order."""
    names = list(layout.STAGES[: layout.STAGES.index(until) + 1] if until else layout.STAGES)
    out: list[tuple[bool, list[str]]] = []
    for name in names:
        on_gpu = use_gpu and name in gpu
        if out and out[-1][0] == on_gpu:
            out[-1][1].append(name)
        else:
            out.append((on_gpu, [name]))
    return out


def segment_request(req: StoryRequest, k: int, stages: list[str]) -> StoryRequest:
    """The request for the k-th segment: the first stages the inputs; later ones resume the folder up to their last
    stage. ``force`` and ``from_stage`` keep their meaning: what they would re-run in this segment is re-run."""
    first, last = stages[0], stages[-1]
    idx = layout.STAGES.index
    from_stage = None
    if req.from_stage and idx(req.from_stage) <= idx(last):
        from_stage = req.from_stage if idx(req.from_stage) >= idx(first) else (first if k else req.from_stage)
    if k == 0:
        return replace(req, until=last, from_stage=from_stage)
    if req.force:
        from_stage = first
    return StoryRequest(out=req.out, config_file=req.config_file, config=req.config, language=req.language,
                        until=last, from_stage=from_stage, force=False, wait=req.wait)


def worker_env() -> dict[str, str]:
    """What the cluster's worker processes get in their environment for this job (as `storygen` sets for itself)."""
    import os

    return {"HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"), "TOKENIZERS_PARALLELISM": "false"}


def node_label(ray: Any) -> str:
    """This worker's node: the host name and the first characters of the Ray node id."""
    return f"{socket.gethostname()}:{ray.get_runtime_context().get_node_id()[:8]}"


# ---------------------------------------------------------------- the remote parts
def _run_segment(req: StoryRequest, n: int, queue: Any, models: Any, node: str) -> dict[str, Any]:
    """make_story for one segment, its events put on the queue; a StoryGenError comes back as a value."""
    from storygen.service import make_story, user_error

    nodes: dict[str, str] = {}

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "done":
            nodes[event["stage"]] = node
        try:
            queue.put((n, event))
        except Exception:  # noqa: BLE001 - the events queue died with the driver's node: the story goes on
            pass

    try:
        r = make_story(req, on_event=on_event, models=models, node=node)
    except Exception as e:  # noqa: BLE001 - the story's own failure: reported once, not retried by Ray
        return {"error": str(user_error(e)), "nodes": nodes, "story": str(req.out)}
    return {"error": None, "nodes": nodes, "story": str(r.story), "final": str(r.final) if r.final else None,
            "seconds": r.seconds}


def _define(ray: Any, gpu_resource: str) -> tuple[Any, Any]:
    """The GPU actor class and the story task, as Ray remote objects."""
    gpu_opts = {"num_gpus": 1} if gpu_resource == "GPU" else {"resources": {gpu_resource: 1}}

    @ray.remote(num_cpus=0, max_restarts=-1, **gpu_opts)
    class GPUWorker:
        """Holds the models of one GPU across stories; runs the GPU segments of any story."""

        def __init__(self) -> None:
            from storygen.providers.lifecycle import ModelHost

            self.models = ModelHost(f"gpu-worker-{uuid.uuid4().hex[:6]}")
            self.node = node_label(ray)

        def run(self, req: StoryRequest, n: int, queue: Any) -> dict[str, Any]:
            return _run_segment(req, n, queue, self.models, self.node)

        def loaded(self) -> list[str]:
            return [repr(k) for k in self.models.keys()]

    @ray.remote(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False)
    def story_task(req: StoryRequest, n: int, queue: Any, plan: list[tuple[bool, list[str]]], workers: list[Any]) -> dict:
        from storygen.providers.lifecycle import current

        node = node_label(ray)
        merged: dict[str, Any] = {"nodes": {}, "seconds": 0.0, "story": str(req.out), "final": None, "error": None}
        t0 = time.perf_counter()
        for k, (on_gpu, stages) in enumerate(plan):
            sreq = segment_request(req, k, stages)
            if on_gpu:
                res = _call_gpu(ray, workers, sreq, n, queue)
            else:
                res = _run_segment(sreq, n, queue, current(), node)
            merged["nodes"].update(res.get("nodes", {}))
            merged["story"] = res.get("story", merged["story"])
            merged["final"] = res.get("final")
            if res.get("error"):
                merged["error"] = res["error"]
                break
        merged["seconds"] = time.perf_counter() - t0
        return merged

    return GPUWorker, story_task


def _call_gpu(ray: Any, workers: list[Any], req: StoryRequest, n: int, queue: Any) -> dict[str, Any]:
    """Run a GPU segment on one of the GPU actors (the least recently used by this task, by story number)."""
    last: Exception | None = None
    for attempt in range(ACTOR_RETRIES + 1):
        worker = workers[(n + attempt) % len(workers)]
        try:
            return ray.get(worker.run.remote(req, n, queue))
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as e:  # restarting: try again
            last = e
            time.sleep(1.0)
    return {"error": f"The GPU worker died {ACTOR_RETRIES + 1} times ({last.__class__.__name__}).", "nodes": {}}


# ---------------------------------------------------------------- the driver side
def connect(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address`` (or RAY_ADDRESS, or a cluster started on this machine), or fail in seconds
    with one line: Ray itself retries an unreachable address for minutes and then prints a traceback."""
    import os
    import socket

    target = address or os.environ.get("RAY_ADDRESS") or "auto"
    fix = ("start one (`ray start --head` on the head, `ray start --address=HEAD:6379` on each worker) and pass "
           "--ray-address HEAD:6379, or use --engine local")
    if target != "auto" and not target.startswith(("ray://", "anyscale://")):
        host, _, port = target.rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
        except (OSError, ValueError):
            raise ProviderError(f"No Ray cluster answers at {target}.", fix) from None
    try:
        ray.init(address=target, namespace="storygen", log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": worker_env()})
    except (ConnectionError, RuntimeError, ValueError) as e:
        if target == "auto":
            raise ProviderError("No Ray cluster runs on this machine and none was named (--ray-address or RAY_ADDRESS).",
                                fix) from None
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise ProviderError(f"Could not join the Ray cluster at {target} ({first[:160]}).", fix) from None


def check_shared(ray: Any, folder: Path) -> None:
    """Every alive node with CPUs must see the stories folder at the same path: write a probe, read it on each."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    probe = folder / f".storygen-shared-{token}"
    probe.write_text(token)

    @ray.remote(num_cpus=0)
    def sees(path: str, token: str) -> bool:
        try:
            return Path(path).read_text() == token
        except OSError:
            return False

    try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        refs = [(n, sees.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False))
                 .remote(str(probe.resolve()), token)) for n in nodes]
        blind = [n for n, r in refs if not ray.get(r, timeout=60)]
    finally:
        probe.unlink(missing_ok=True)
    if blind:
        who = ", ".join(f"{n.get('NodeManagerHostname', '?')} ({n['NodeID'][:8]})" for n in blind)
        raise StoryGenError(f"The stories folder '{folder.resolve()}' is not shared with every node: {who} cannot read it.",
                            "mount it at the same path on every node (e.g. NFS at /mnt/shared/stories) and pass that "
                            "path with -o/--stories.")


def gpu_count(ray: Any, gpu_resource: str) -> int:
    return int(ray.cluster_resources().get(gpu_resource, 0))


def run_batch_ray(requests: list[StoryRequest], *, address: str | None = None, on_event: BatchEvent | None = None,
                  on_outcome: Callable[[Outcome], None] | None = None, gpu_resource: str = "GPU",
                  stories_root: Path | None = None, cancel: Any = None, **_: Any) -> list[Outcome]:
    """Make every story on the Ray cluster at ``address`` (or RAY_ADDRESS); outcomes in the requests' order."""
    ray = _ray()
    from ray.util.queue import Empty, Queue

    if not ray.is_initialized():
        connect(ray, address)
    root = stories_root or (requests[0].out.parent if requests and requests[0].out else Path("stories"))
    check_shared(ray, root)
    n_gpu = gpu_count(ray, gpu_resource)
    GPUWorker, story_task = _define(ray, gpu_resource)
    workers = [GPUWorker.remote() for _ in range(n_gpu)]
    # The events queue lives on the driver's own node: a worker node that dies must not take the events with it.
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    queue = Queue(maxsize=10_000, actor_options={"num_cpus": 0, "scheduling_strategy": here})
    pending = {}
    for n, req in enumerate(requests, 1):
        req = replace(req, wait=LEASE_WAIT if req.wait is not None and req.wait < LEASE_WAIT else req.wait)
        plan = segments(req.until, gpu_stages(req), use_gpu=bool(workers))
        pending[story_task.remote(req, n, queue, plan, workers)] = n
    results: dict[int, Outcome] = {}
    try:
        while pending:
            if cancel is not None and cancel.cancelled:  # stop the stories' tasks (their ffmpeg dies with them)
                for ref in pending:
                    ray.cancel(ref, force=True)
                cancel.check()
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
            _drain(queue, Empty, on_event, ray)
            for ref in done:
                n = pending.pop(ref)
                try:
                    res = ray.get(ref)
                    o = Outcome(n=n, story=res.get("story"), final=res.get("final"), seconds=res.get("seconds", 0.0),
                                error=res.get("error"), nodes=res.get("nodes", {}))
                except ray.exceptions.RayError as e:  # the task died more often than it may be retried
                    o = Outcome(n=n, story=str(requests[n - 1].out),
                                error=f"The story's worker was lost {TASK_RETRIES + 1} times ({e.__class__.__name__}).")
                results[n] = o
                if on_outcome is not None:
                    on_outcome(o)
        _drain(queue, Empty, on_event, ray)
    finally:
        for w in workers:
            ray.kill(w)
        ray.kill(queue.actor)
    return [results[n] for n in sorted(results)]


def _drain(queue: Any, empty: type, on_event: BatchEvent | None, ray: Any) -> None:
    while True:
        try:
            items = queue.get_nowait_batch(min(queue.qsize(), 500)) if queue.qsize() else []
        except empty:
            items = []
        except ray.exceptions.RayActorError:  # progress events are lost, the stories are not: keep waiting on them
            return
        if not items:
            return
        if on_event is not None:
            for n, event in items:
                on_event(n, event)


__all__ = ["Outcome", "check_shared", "gpu_stages", "run_batch_ray", "segment_request", "segments"]
