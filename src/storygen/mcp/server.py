"""`storygen mcp`: an MCP server over stdio (the official `mcp` SDK's FastMCP) on the same job queue as Studio.

Tools: create_story, get_story, list_stories, cancel_story. They answer with the story's status and the paths of
its files on this machine (an MCP client runs the server locally, with the user's own rights).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp.server.fastmcp import FastMCP

from storygen.errors import StoryGenError
from storygen.queue import FILES, JobQueue, Submission


def _story(queue: JobQueue, row: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    folder = Path(row["folder"])
    out: dict[str, Any] = {"id": row["id"], "status": row["status"], "title": row["title"], "folder": str(folder),
                           "stage": row["stage"], "progress": round(1.0 if row["status"] == "done" else row["fraction"], 3),
                           "message": row["message"],
                           "files": {name: str(folder / rel) for name, rel in FILES.items() if (folder / rel).is_file()}}
    if row["error"]:
        out["error"] = {"message": row["error"], "fix": row["fix"], "stage": row["failed_stage"]}
    if detail:
        out["stages"] = [{k: s[k] for k in ("name", "state", "seconds", "provider")} for s in queue.stages(row)]
    return out


def _fail(e: StoryGenError) -> dict[str, Any]:
    return {"error": e.problem, "fix": e.fix}


def build(queue: JobQueue) -> FastMCP:
    server = FastMCP("storygen")

    @server.tool()
    def create_story(idea: str | dict | None = None, script: str | None = None, config: dict | None = None,
                     until: str | None = None) -> dict:
        """Queue a new short story video. `idea`: a sentence, or an idea object as `storygen ideas` writes it
        (title, logline, tone, ...); `script`: your own narration text (optional); `config`: overrides such as
        {"voice.provider": "piper"}; `until`: stop after this stage. Returns the story id and status; poll get_story."""
        try:
            if isinstance(idea, str) and idea.lstrip().startswith("{"):
                idea = json.loads(idea)
            row, _ = queue.submit(Submission(idea=idea, script_text=script, config=config or {}, until=until))
        except (StoryGenError, ValueError) as e:
            return _fail(e if isinstance(e, StoryGenError) else StoryGenError(f"The idea is not valid JSON ({e}).",
                                                                                 "send text or a JSON object."))
        return _story(queue, row)

    @server.tool()
    def get_story(story_id: str) -> dict:
        """A story's status (queued, running, done, failed, cancelled), progress, stages and file paths."""
        try:
            return _story(queue, queue.row(story_id), detail=True)
        except StoryGenError as e:
            return _fail(e)

    @server.tool()
    def list_stories(limit: int = 20, offset: int = 0) -> dict:
        """The stories, newest first."""
        rows, total = queue.list(limit, offset)
        return {"stories": [_story(queue, r) for r in rows], "total": total}

    @server.tool()
    def cancel_story(story_id: str, purge: bool = False) -> dict:
        """Cancel a queued or running story (finished stages are kept); purge=true also deletes its folder."""
        try:
            row = queue.cancel(story_id, purge=purge)
        except StoryGenError as e:
            return _fail(e)
        return {"id": story_id, "status": "purged"} if row is None else _story(queue, row)

    return server


def run(stories: Path, workers: int = 1) -> None:
    """Serve MCP over stdio until the client closes it; the queue's workers run in this process."""
    _keep_stdout_for_mcp()
    queue = JobQueue(stories, workers=workers, allow_paths=True)
    with queue:
        build(queue).run("stdio")


def _keep_stdout_for_mcp() -> None:
    """The protocol owns stdout: anything else writing to file descriptor 1 (a C library, a warning) goes to
    stderr instead, so it cannot corrupt the JSON-RPC stream."""
    import os
    import sys

    proto = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(proto, "w", buffering=1, encoding="utf-8")


__all__ = ["build", "run"]
