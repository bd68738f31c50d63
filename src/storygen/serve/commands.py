"""`storygen serve` and `storygen mcp`: registered on the CLI by one line; FastAPI and mcp load only when run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

STUDIO_EXTRA = "pip install 'storygen[studio]'"


def _missing(what: str, e: ImportError) -> None:
    typer.echo(f"Error: {what} needs a package that is not installed ({e.name}). Fix: {STUDIO_EXTRA}", err=True)
    raise typer.Exit(2)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; beyond 127.0.0.1 needs STORYGEN_API_TOKEN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    stories: Annotated[Path, typer.Option(help="The folder of stories (and the queue's database).")] = Path("stories"),
    workers: Annotated[int, typer.Option(min=1, max=64, help="Stories made at once (each worker loads its own models).")] = 1,
    allow_paths: Annotated[bool, typer.Option("--allow-paths", help="Let requests set config keys that name files or URLs.")] = False,
    max_queue: Annotated[int, typer.Option(min=1, help="Stories waiting or running before new ones get 429.")] = 64,
    config: Annotated[Path | None, typer.Option("--config", help="A storygen.toml with the defaults for every story.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="Where stories run: local (worker threads here), ray (a Ray cluster; --stories must be on storage every node mounts), or auto (ray when RAY_ADDRESS is set).")] = "auto",
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="The Ray cluster's head (host:port); default RAY_ADDRESS.")] = None,
    gpu_resource: Annotated[str, typer.Option("--gpu-resource", help="With --engine ray: the resource a GPU worker asks for.")] = "GPU",
) -> None:
    """Run Studio: the web page, the REST API (/docs) and the job queue, in one process."""
    try:
        import uvicorn

        from storygen.serve.app import create_app
        from storygen.serve.settings import Settings
    except ImportError as e:
        _missing("storygen serve", e)
        return
    from storygen.errors import StoryGenError

    try:
        from storygen.engines import pick_engine

        eng = pick_engine(engine, ray_address)
    except StoryGenError as e:
        typer.echo(f"Error: {e}", err=True)
        raise typer.Exit(e.exit_code) from None
    settings = Settings.from_env(stories=stories, host=host, port=port, workers=workers, allow_paths=allow_paths,
                                 max_active=max_queue, config_file=config, engine=eng, ray_address=ray_address,
                                 gpu_resource=gpu_resource)
    try:
        if config is not None:
            from storygen.config import load_config

            load_config(config)  # a bad file fails here, in one line, not at the first story
        app = create_app(settings)
    except StoryGenError as e:
        typer.echo(f"Error: {e}", err=True)
        raise typer.Exit(e.exit_code) from None
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"storygen Studio on http://{shown}:{port}/  (API docs: /docs; stories in {settings.stories})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


def mcp(
    stories: Annotated[Path, typer.Option(help="The folder of stories (and the queue's database).")] = Path("stories"),
    workers: Annotated[int, typer.Option(min=1, max=64, help="Stories made at once.")] = 1,
) -> None:
    """Run an MCP server over stdio with the tools create_story, get_story, list_stories and cancel_story."""
    try:
        from storygen.mcp.server import run
    except ImportError as e:
        _missing("storygen mcp", e)
        return
    run(stories, workers=workers)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("mcp")(mcp)
