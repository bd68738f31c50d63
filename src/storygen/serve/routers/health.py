"""GET /api/health: is the server up, and how busy is its queue."""

from __future__ import annotations

from fastapi import APIRouter

from storygen import __version__
from storygen.serve.deps import QueueDep

router = APIRouter()


@router.get("/api/health", summary="Liveness and queue counts")
def health(queue: QueueDep) -> dict:
    counts = queue.counts()
    return {"status": "ok", "version": __version__, "workers": queue.n_workers,
            "alive_workers": sum(w.is_alive() for w in queue.workers),
            "queued": counts.get("queued", 0), "running": counts.get("running", 0),
            "models_loaded": [w.host.loads for w in queue.workers]}  # per worker: loads, not stories
