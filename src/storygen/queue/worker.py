"""A worker: a thread with its own ModelHost that takes queued stories one at a time and makes them."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storygen import layout
from storygen.errors import StoryGenError
from storygen.models import StoryIdea
from storygen.providers import lifecycle
from storygen.service import (
    Cancelled,
    CancelToken,
    StoryRequest,
    make_story,
    user_error,
)

if TYPE_CHECKING:
    from storygen.queue.jobs import JobQueue


class Worker(threading.Thread):
    def __init__(self, queue: JobQueue, n: int):
        super().__init__(name=f"storygen-worker-{n}", daemon=True)
        self.queue = queue
        self.host = lifecycle.ModelHost(f"worker-{n}")  # models load once per worker, shared by its stories
        self.jobs_done = 0
        self.idle_since = time.monotonic()
        self.idle_gaps: list[float] = []  # seconds between finishing one job and starting the next

    def run(self) -> None:
        q = self.queue
        try:
            while not q.stopping:
                row = q.store.claim()
                if row is None:
                    with q.wake:
                        q.wake.wait(timeout=0.5)
                    continue
                if self.jobs_done:
                    self.idle_gaps.append(time.monotonic() - self.idle_since)
                self.run_job(row)
                self.jobs_done += 1
                self.idle_since = time.monotonic()
        finally:
            self.host.close()

    # ------------------------------------------------------------------ one job
    def run_job(self, row: dict[str, Any]) -> None:
        q, job_id = self.queue, row["id"]
        token = CancelToken()
        q.tokens[job_id] = token
        req_data = json.loads(row["request"])
        plan: list[str] = json.loads(row["plan"] or "[]")
        state = {"stage": None, "plan": plan, "index": 0}
        q.emit(job_id, {"event": "running", "run": row["runs"] + 1})

        def on_event(ev: dict[str, Any]) -> None:
            if q.store.cancel_requested(job_id):  # a cancel from another process sharing the queue
                token.cancel()
            kind, stage = ev.get("event"), ev.get("stage")
            values: dict[str, Any] = {}
            if kind == "plan":
                state["plan"] = list(ev.get("stages") or [])
                values.update(plan=json.dumps(state["plan"]), fraction=0.0)
            elif kind == "start" and stage:
                state["stage"] = stage
                values.update(stage=stage, message=layout.LABELS.get(stage, stage),
                              fraction=_overall(state["plan"], stage, 0.0))
            elif kind == "progress" and stage:
                values.update(stage=stage, fraction=_overall(state["plan"], stage, float(ev.get("fraction") or 0.0)),
                              message=str(ev.get("message") or layout.LABELS.get(stage, stage)))
            elif kind in ("done", "skip") and stage:
                values.update(fraction=_overall(state["plan"], stage, 1.0))
            elif kind == "warning":
                values.update(message=str(ev.get("message") or ""))
            q.emit(job_id, ev, **values)

        try:
            req = self.request(row, req_data)
            result = self.make(req, on_event, token)
        except Cancelled:
            if q.stopping:  # the server is shutting down: the job goes back to the queue and resumes next start
                q.finish(job_id, "queued", {"event": "interrupted", "message": "the server stopped; it resumes on restart"})
            else:
                q.finish(job_id, "cancelled", {"event": "cancelled", "stage": state["stage"]})
        except BaseException as e:  # noqa: BLE001 - a failed job never stops the worker
            err = user_error(e)
            q.finish(job_id, "failed", {"event": "failed", "stage": state["stage"], "error": err.problem, "fix": err.fix},
                     error=err.problem, fix=err.fix, failed_stage=state["stage"])
        else:
            q.finish(job_id, "done", {"event": "finished", "seconds": round(result.seconds, 3), "ran": result.ran,
                                      "note": result.note, "video": bool(result.video)}, fraction=1.0,
                     message=result.note or "done")
        finally:
            q.tokens.pop(job_id, None)

    def make(self, req: StoryRequest, on_event: Any, token: CancelToken) -> Any:
        """Make the story here, or on the Ray cluster (serve --engine ray) with this thread waiting for it."""
        q = self.queue
        if q.engine != "ray":
            return make_story(req, on_event=on_event, cancel=token, models=self.host)
        from types import SimpleNamespace

        from storygen.engines import run_batch

        [o] = run_batch([req], engine="ray", address=q.ray_address, on_event=lambda n, ev: on_event(ev), cancel=token,
                        gpu_resource=q.gpu_resource, stories_root=q.root)
        if o.error:
            raise StoryGenError(o.error)
        video = Path(o.final) if o.final else None
        return SimpleNamespace(seconds=o.seconds, ran=sorted(o.nodes), note=None, video=video)

    def request(self, row: dict[str, Any], data: dict[str, Any]) -> StoryRequest:
        q = self.queue
        folder = Path(row["folder"])
        req = StoryRequest(out=folder, stories_dir=q.root, config_file=q.config_file, config=dict(data.get("config") or {}), until=data.get("until"),
                           from_stage=data.get("from"), wait=30.0)
        if data.get("kind") == "make":
            uploads = q.uploads_dir(row["id"])
            if data.get("story_idea"):
                req.story_idea = StoryIdea.model_validate(data["story_idea"])
            elif data.get("idea"):
                req.idea = data["idea"]
            for name in ("script", "voice", "images"):
                if data.get(name):
                    setattr(req, name, uploads / data[name])
        return req


def _overall(plan: list[str], stage: str, fraction: float) -> float:
    """The run's share done: finished stages of the plan plus this stage's own fraction."""
    if not plan or stage not in plan:
        return 0.0
    return round((plan.index(stage) + max(0.0, min(1.0, fraction))) / len(plan), 4)
