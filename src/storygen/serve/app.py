"""The FastAPI app: routers, error handlers, the page, and the queue's life (started and stopped with the app)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from storygen import __version__
from storygen.queue import JobQueue
from storygen.serve import errors
from storygen.serve.deps import require_token
from storygen.serve.routers import files, health, options, stories
from storygen.serve.settings import Settings

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, queue: JobQueue | None = None) -> FastAPI:
    """The Studio app. The queue (made from ``settings`` unless given) starts with the app and stops with it."""
    settings.check()
    q = queue if queue is not None else JobQueue(settings.stories, workers=settings.workers,
                                                  max_active=settings.max_active, allow_paths=settings.allow_paths,
                                                  config_file=settings.config_file, engine=settings.engine,
                                                  ray_address=settings.ray_address, gpu_resource=settings.gpu_resource)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        q.start()
        try:
            yield
        finally:
            q.stop()

    app = FastAPI(title="storygen Studio", version=__version__, lifespan=lifespan,
                  description="Make short vertical story videos: queue a story, follow its progress, download it, "
                              "edit its script and re-make only what changed.")
    app.state.settings, app.state.queue = settings, q
    errors.install(app)
    auth = [Depends(require_token)]
    for r in (stories.router, files.router, options.router, health.router):
        app.include_router(r, dependencies=auth, tags=[r.__module__.rsplit(".", 1)[-1]])
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")
    return app
