"""Where a batch of stories runs: here, one after another (``local``), or on a Ray cluster (``ray``).

Both take the same ``StoryRequest``s and give back one ``Outcome`` per story; both run each story through
``service.make_story``, so a story made on a cluster is the same folder, manifest and video as one made here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storygen.errors import ConfigError, InputError
from storygen.service import StoryRequest

ENGINES = ("auto", "local", "ray")

#: on_event(story_number, event): the events of every story, tagged with its place in the batch (1-based)
BatchEvent = Callable[[int, dict[str, Any]], None]


@dataclass
class Outcome:
    n: int  # 1-based place in the batch
    story: str | None = None
    final: str | None = None
    seconds: float = 0.0
    error: str | None = None
    nodes: dict[str, str] = field(default_factory=dict)  # stage -> node that ran it (this run's stages)
    attempts: int = 1


def pick_engine(engine: str, address: str | None = None, environ: dict[str, str] | None = None) -> str:
    """``auto`` is Ray when an address is given or RAY_ADDRESS is set, else local."""
    engine = (engine or "auto").strip().lower()
    if engine not in ENGINES:
        raise ConfigError(f"Unknown engine '{engine}'.", f"use --engine {' or '.join(ENGINES)}")
    if engine == "auto":
        env = os.environ if environ is None else environ
        return "ray" if (address or env.get("RAY_ADDRESS")) else "local"
    if engine == "local" and address:
        raise InputError("--ray-address was given with --engine local.", "drop --ray-address, or use --engine ray.")
    return engine


def run_batch(requests: list[StoryRequest], *, engine: str = "local", address: str | None = None,
              on_event: BatchEvent | None = None, on_outcome: Callable[[Outcome], None] | None = None,
              **options: Any) -> list[Outcome]:
    """Make every story; a story that fails is reported in its Outcome and the others go on."""
    if pick_engine(engine, address) == "ray":
        from storygen.engines.ray_engine import run_batch_ray

        return run_batch_ray(requests, address=address, on_event=on_event, on_outcome=on_outcome, **options)
    from storygen.engines.local import run_batch_local

    return run_batch_local(requests, on_event=on_event, on_outcome=on_outcome, **options)
