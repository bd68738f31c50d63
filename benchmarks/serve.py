"""Studio under load: 8 short stories submitted at once to `storygen serve`, with --workers 1 and --workers 2.

For each worker count it starts a real server (a subprocess, its own stories folder), POSTs 8 fast stories (a
ready idea and a short script, so no writer model runs; a small 360x640 render), waits for all of them and
prints: the time to finish all 8, the idle gap between one job's end and the next job's start on a worker,
and the server's peak RSS (VmHWM; ffmpeg children not included).

    python benchmarks/serve.py            # both worker counts, one run
    python benchmarks/serve.py --stories 4 --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

SCRIPT = ("Every night for thirty years, Elias climbed the lighthouse stairs. Then one morning, the sea left a green "
          "bottle at his door. Inside was a letter, dated 1987, addressed to him. It was his own handwriting.")


def idea(i: int) -> dict:
    return {"title": f"The Bottle at the Door, part {i + 1}", "logline": "A lighthouse keeper finds a message in a "
            "bottle written in his own hand.", "tone": "eerie", "theme": "memory", "narrator_gender": "male",
            "narration": "narrator", "voice_hint": "calm, low",
            "potential": {"platforms": {"tiktok": 80}, "regions": {"US": 75}, "age_bands": {"15-19": 70},
                          "genders": {"female": 72, "male": 68}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def idle_gaps(rows: list[dict], workers: int) -> list[float]:
    """Seconds from a job's end to the next job's start on a freed worker (starts matched to earlier ends)."""
    starts = sorted(r["started"] for r in rows)[workers:]
    ends = sorted(r["finished"] for r in rows)
    gaps, used = [], 0
    for s in starts:
        if used < len(ends) and ends[used] <= s + 1e-3:
            gaps.append(max(0.0, s - ends[used]))
            used += 1
    return gaps


def run(workers: int, n: int, root: Path) -> dict:
    stories, port = root / f"w{workers}", free_port()
    cfg = root / "fast.toml"
    cfg.write_text("[render]\nwidth = 360\nheight = 640\nfps = 15\nmusic = \"none\"\n")
    log = (root / f"serve-w{workers}.log").open("wb")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("STORYGEN_API_TOKEN", None)
    proc = subprocess.Popen([sys.executable, "-m", "storygen", "serve", "--port", str(port), "--stories", str(stories),
                             "--workers", str(workers), "--config", str(cfg)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        while True:
            try:
                if c.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
            if proc.poll() is not None:
                raise SystemExit(f"the server exited; see {log.name}")
        t0 = time.time()
        ids = [c.post("/api/stories", json={"idea": idea(i), "script": SCRIPT}).json()["id"] for i in range(n)]
        while True:
            rows = [c.get(f"/api/stories/{i}").json() for i in ids]
            if all(r["status"] in ("done", "failed", "cancelled") for r in rows):
                break
            time.sleep(0.5)
        total = max(r["finished"] for r in rows) - t0
        failed = [r["id"] for r in rows if r["status"] != "done"]
        gaps = idle_gaps(rows, workers)
        return {"workers": workers, "stories": n, "failed": len(failed), "all_done_s": round(total, 1),
                "per_story_s": round(statistics.median(r["finished"] - r["started"] for r in rows), 1),
                "idle_gap_ms_median": round(1000 * statistics.median(gaps), 1) if gaps else None,
                "idle_gap_ms_max": round(1000 * max(gaps), 1) if gaps else None,
                "peak_rss_mb": round(peak_rss_mb(proc.pid), 1)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stories", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="storygen-serve-bench-") as tmp:
        results = [run(w, args.stories, Path(tmp)) for w in args.workers]
    print(f"{'workers':>7} {'stories':>7} {'all done':>9} {'per story':>9} {'idle gap (median/max)':>22} {'peak RSS':>9}")
    for r in results:
        gap = f"{r['idle_gap_ms_median']} / {r['idle_gap_ms_max']} ms"
        print(f"{r['workers']:>7} {r['stories']:>7} {r['all_done_s']:>8}s {r['per_story_s']:>8}s {gap:>22} "
              f"{r['peak_rss_mb']:>7} MB" + (f"  ({r['failed']} failed)" if r["failed"] else ""))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
