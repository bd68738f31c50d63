"""GPU throughput of the spec's models at full size (random weights: speed does not depend on values).

Writes nothing; prints every figure next to the spec's. Without CUDA it prints that it was skipped.

    python benchmarks/gpu_throughput.py [--only llm|diffusion|vision]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def report(name: str, value: float | str, unit: str = "", spec: str = "") -> None:
    val = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name:<58} {val:>10} {unit:<8} {('(spec/target: ' + spec + ')') if spec else ''}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", choices=["llm", "diffusion", "vision"], default=None)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("skipped: torch is not installed (pip install -e '.[gpu]')")
        return 0
    if not torch.cuda.is_available():
        print("skipped: no CUDA device (run this on a GPU machine)")
    if args.only in (None, "llm"):
        import _gpu_llm

        _gpu_llm.run(report)
    if args.only in (None, "diffusion"):
        import _gpu_diffusion

        _gpu_diffusion.run(report)
    if args.only in (None, "vision"):
        import _gpu_vision

        _gpu_vision.run(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
