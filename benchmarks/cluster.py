"""8 short stories with --engine local against --engine ray on this machine, in one run.

Prints the wall time of each and the Ray overhead per story. The Ray cluster is started here (`ray start --head`)
with one CPU, so its stories run one after another like the local engine's and the difference is what Ray adds
(scheduling, worker processes, imports, the event queue); a second run with two CPUs shows what parallel stories
give on this machine. Stories use a ready idea and a short script (no writer model), Piper, procedural art, the
final cut.

    python benchmarks/cluster.py [--stories 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storygen.engines import run_batch
from storygen.models import StoryIdea
from storygen.service import StoryRequest

SCRIPT = ("Every night for thirty years, Elias climbed the lighthouse stairs. Then one morning, the sea left a green "
          "bottle at his door. Inside was a letter, dated 1987, addressed to him. It was his own handwriting.")
IDEA = {"title": "The Bottle at the Door", "logline": "A lighthouse keeper finds a message in his own hand.",
        "tone": "eerie", "theme": "memory"}
RAY = str(Path(sys.executable).parent / "ray")


def _requests(root: Path, n: int) -> list[StoryRequest]:
    script = root / "script.txt"
    script.write_text(SCRIPT)
    return [StoryRequest(story_idea=StoryIdea.model_validate({**IDEA, "title": f"{IDEA['title']} {k}"}), script=script,
                         out=root / "stories" / f"{k:02d}") for k in range(1, n + 1)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_wall(root: Path, n: int, cpus: int) -> tuple[float, list]:
    import ray

    temp = tempfile.mkdtemp(prefix="sgbench", dir="/tmp")
    port = _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([RAY, "start", "--head", "--port", str(port), "--num-cpus", str(cpus), "--include-dashboard=false",
                    "--temp-dir", temp, "--disable-usage-stats", "--object-store-memory", "100000000"],
                   env=env, check=True, capture_output=True)
    try:
        ray.init(address=f"127.0.0.1:{port}", namespace="storygen", log_to_driver=False, configure_logging=False)
        t0 = time.perf_counter()
        out = run_batch(_requests(root, n), engine="ray", address=f"127.0.0.1:{port}")
        return time.perf_counter() - t0, out
    finally:
        ray.shutdown()
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True)
        shutil.rmtree(temp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=int, default=8)
    args = ap.parse_args()
    n = args.stories
    base = Path(tempfile.mkdtemp(prefix="storygen-cluster-bench-"))
    try:
        (base / "local").mkdir()
        reqs = _requests(base / "local", n)
        t0 = time.perf_counter()
        local = run_batch(reqs, engine="local")
        t_local = time.perf_counter() - t0
        (base / "ray1").mkdir()
        t_ray1, ray1 = _ray_wall(base / "ray1", n, cpus=1)
        (base / "ray2").mkdir()
        t_ray2, ray2 = _ray_wall(base / "ray2", n, cpus=2)
        failed = [o.error for o in (*local, *ray1, *ray2) if o.error]
        result = {
            "stories": n,
            "local_wall_s": round(t_local, 1),
            "ray_1cpu_wall_s": round(t_ray1, 1),
            "ray_2cpu_wall_s": round(t_ray2, 1),
            "ray_overhead_per_story_s": round((t_ray1 - t_local) / n, 2),
            "ray_1cpu_over_local": round(t_ray1 / t_local, 3),
            "ray_2cpu_over_local": round(t_ray2 / t_local, 3),
            "failed": failed,
            "load_average": os.getloadavg(),
        }
        print(json.dumps(result, indent=2))
        print(f"Ray overhead per story: {result['ray_overhead_per_story_s']:.2f} s (target < 5 s): "
              f"{'met' if result['ray_overhead_per_story_s'] < 5 else 'NOT met'}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
