"""The local engine: the stories of a batch one after another in this process, sharing one ModelHost, so every
model loads once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storygen.config import Config
from storygen.engines import BatchEvent, Outcome
from storygen.providers import lifecycle
from storygen.service import StoryRequest, make_story, user_error


def run_batch_local(requests: list[StoryRequest], *, on_event: BatchEvent | None = None,
                    on_outcome: Callable[[Outcome], None] | None = None, cfg: Config | None = None,
                    stop_on: Callable[[Outcome], bool] = lambda o: False, **_: Any) -> list[Outcome]:
    out: list[Outcome] = []
    host = lifecycle.current()
    for n, req in enumerate(requests, 1):
        o = Outcome(n=n, story=str(req.out.resolve()) if req.out else None)
        nodes: dict[str, str] = {}

        def emit(event: dict, _n: int = n, _nodes: dict = nodes) -> None:
            if event.get("event") == "done" and event.get("node"):
                _nodes[event["stage"]] = event["node"]
            if on_event is not None:
                on_event(_n, event)

        try:
            r = make_story(req, on_event=emit, cfg=cfg, models=host)
            o.story, o.seconds = str(r.story), r.seconds
            o.final = str(r.final) if r.final else None
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001 - one story's error (or a bug in it): report it, go on
            o.error = str(user_error(e, cfg))
        o.nodes = nodes
        out.append(o)
        if on_outcome is not None:
            on_outcome(o)
        if stop_on(o):
            break
    return out
