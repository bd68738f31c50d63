"""Scale-out on a real Ray cluster started here: a head, a node with a (fake) "gpu" resource and two CPU nodes,
each its own `ray start` process set. Stories run as Ray tasks; their GPU stages in a GPU actor."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import IDEA, SHORT_SCRIPT
from storygen import layout
from storygen.lease import read_lease
from storygen.media.ffmpeg import probe
from storygen.models import StoryIdea
from storygen.service import StoryRequest
from storygen.workspace import read_json
from visual_fixtures import tiny_sdxl  # noqa: F401 - session fixture

ray = pytest.importorskip("ray", reason="the [cluster] extra (ray) is not installed")

RAY = str(Path(sys.executable).parent / "ray")
GPU = "fake_gpu"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _raylet_pid(node_manager_port: int) -> int | None:
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"raylet") and f"--node_manager_port={node_manager_port}".encode() in cmd:
            return int(proc.name)
    return None


class Cluster:
    def __init__(self) -> None:
        self.temp = tempfile.mkdtemp(prefix="sgray", dir="/tmp")  # short: Ray's unix sockets live under it
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, "RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4",
                    "RAY_health_check_timeout_ms": "1000", "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1"}
        self.nodes: dict[str, int] = {}  # name -> node manager port

    def _start(self, *args: str) -> None:
        r = subprocess.run([RAY, "start", *args, "--disable-usage-stats", "--object-store-memory", "80000000"],
                           env=self.env, capture_output=True, text=True, timeout=180)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]

    def start(self) -> "Cluster":
        self._start("--head", "--port", str(self.port), "--num-cpus", "0", "--include-dashboard=false",
                    "--temp-dir", self.temp, "--node-ip-address", "127.0.0.1")
        for name, res in (("gpu", ["--num-cpus", "0", "--resources", json.dumps({GPU: 1})]),
                          ("cpu1", ["--num-cpus", "1"]), ("cpu2", ["--num-cpus", "1"])):
            port = _free_port()
            self._start("--address", self.address, "--node-manager-port", str(port), "--node-ip-address", "127.0.0.1",
                        *res)
            self.nodes[name] = port
        return self

    def node_ids(self) -> dict[str, str]:
        """name -> Ray node id of the nodes started here."""
        by_port = {n["NodeManagerPort"]: n["NodeID"] for n in ray.nodes() if n.get("Alive")}
        return {name: by_port[p] for name, p in self.nodes.items() if p in by_port}

    def stop(self) -> None:
        if ray.is_initialized():
            ray.shutdown()
        subprocess.run([RAY, "stop", "--force"], env=self.env, capture_output=True, timeout=120)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        c.start()
        os.environ["HF_HUB_OFFLINE"] = "1"
        ray.init(address=c.address, namespace="storygen", log_to_driver=False, configure_logging=False)
        yield c
    finally:  # torn down even when the start or a test fails
        c.stop()


def _label(node_id: str) -> str:
    return f"{socket.gethostname()}:{node_id[:8]}"


def test_gpu_stages_run_on_the_gpu_node_and_the_rest_elsewhere(cluster, tmp_path, tiny_sdxl):
    from storygen.engines import run_batch

    script = tmp_path / "script.txt"
    script.write_text(SHORT_SCRIPT)
    gpu_cfg = {"keyframes.provider": "sdxl", "keyframes.model": str(tiny_sdxl), "keyframes.steps": 2,
               "keyframes.width": 64, "keyframes.height": 112, "keyframes.device": "cpu", "scenes.count": 2}
    reqs = [StoryRequest(story_idea=StoryIdea.model_validate({**IDEA, "title": f"Story {k}"}), script=script,
                         out=tmp_path / "stories" / f"{k:02d}", config=gpu_cfg) for k in range(1, 5)]
    seen: list[tuple[int, dict]] = []
    outcomes = run_batch(reqs, engine="ray", address=cluster.address, gpu_resource=GPU,
                         on_event=lambda n, e: seen.append((n, e)))
    ids = cluster.node_ids()
    gpu_node, cpu_nodes = _label(ids["gpu"]), {_label(ids["cpu1"]), _label(ids["cpu2"])}
    assert [o.error for o in outcomes] == [None] * 4
    for o, req in zip(outcomes, reqs):
        man = read_json(req.out / layout.MANIFEST)["stages"]
        assert man["keyframes"]["provider"] == "sdxl"
        assert man["keyframes"]["node"] == gpu_node, "a GPU stage ran away from the GPU node"
        others = {s: e["node"] for s, e in man.items() if s != "keyframes"}
        assert set(others.values()) <= cpu_nodes, f"CPU stages ran on {others}"
        final = probe(req.out / layout.FINAL)
        assert (final.width, final.height) == (1080, 1920)
        assert abs(final.duration - probe(req.out / layout.VOICE).duration) <= 0.1
        assert read_lease(req.out) is None
    done = [(n, e["stage"]) for n, e in seen if e["event"] == "done"]
    assert len(done) == len(set(done)) == 4 * len(layout.STAGES), "a stage ran twice (or its events were lost)"


def test_a_killed_worker_node_hands_the_story_to_the_other_node(cluster, tmp_path):
    from storygen.engines import run_batch

    script = tmp_path / "script.txt"
    script.write_text(" ".join([SHORT_SCRIPT] * 3))
    out = tmp_path / "stories" / "01"
    req = StoryRequest(story_idea=StoryIdea.model_validate(IDEA), script=script, out=out)
    seen: list[dict] = []
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(outcomes=run_batch(
        [req], engine="ray", address=cluster.address, gpu_resource=GPU, on_event=lambda n, e: seen.append(e))))
    t.start()
    deadline = time.time() + 240
    while time.time() < deadline and "voice" not in read_json(out / layout.MANIFEST).get("stages", {}) \
            if (out / layout.MANIFEST).exists() else time.time() < deadline:
        time.sleep(0.2)
    holder = read_lease(out)
    assert holder is not None, "the story was not running"
    raylet = int(Path(f"/proc/{holder.pid}/stat").read_text().rsplit(")", 1)[1].split()[1])  # the worker's parent
    victim = next(name for name, port in cluster.nodes.items() if _raylet_pid(port) == raylet)
    victim_id = cluster.node_ids()[victim]
    os.kill(raylet, signal.SIGKILL)
    os.kill(holder.pid, signal.SIGKILL)
    t.join(timeout=400)
    assert not t.is_alive()
    [o] = result["outcomes"]
    assert o.error is None, o.error
    man = read_json(out / layout.MANIFEST)["stages"]
    after = {s: e["node"] for s, e in man.items()}
    assert after["final"] != _label(victim_id), "the story did not move to the other node"
    assert _label(victim_id) in after.values(), "the stages finished before the kill were made again"
    final = probe(out / layout.FINAL)
    assert (final.width, final.height) == (1080, 1920) and final.duration > 5
    done = [e["stage"] for e in seen if e["event"] == "done"]
    assert done.count("voice") == 1 and done.count("idea") == 1


def test_studio_queue_with_engine_ray_makes_the_story_on_the_cluster(cluster, tmp_path):
    """serve --engine ray: the queue's worker hands the job to the cluster and waits; the story is made there."""
    from storygen.queue.jobs import JobQueue, Submission

    cpu_nodes = {_label(v) for k, v in cluster.node_ids().items() if k.startswith("cpu")}  # one may have been killed
    with JobQueue(tmp_path / "stories", engine="ray", ray_address=cluster.address, gpu_resource=GPU) as q:
        row, _ = q.submit(Submission(idea=dict(IDEA), script_text=SHORT_SCRIPT))
        deadline = time.time() + 300
        while q.row(row["id"])["status"] in ("queued", "running") and time.time() < deadline:
            time.sleep(0.5)
        done = q.row(row["id"])
        assert done["status"] == "done", done
        folder = q.folder(row["id"])
    man = read_json(folder / layout.MANIFEST)["stages"]
    assert {e["node"] for e in man.values()} <= cpu_nodes  # made by the cluster's workers, not this process
    assert probe(folder / layout.FINAL).width == 1080
