"""The stories API: create, list, look at, follow (SSE), edit the script, re-make, cancel."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from storygen.errors import InputError
from storygen.queue import FILES, JobQueue, Submission, Upload
from storygen.queue.store import TERMINAL
from storygen.queue.uploads import LIMITS, MAX_IMAGES, TooLarge
from storygen.serve.deps import QueueDep, SettingsDep
from storygen.serve.errors import ApiError
from storygen.serve.settings import Settings

router = APIRouter()

FILE_KEYS = {"final.mp4": "video", "thumbnail.jpg": "thumbnail", "captions.srt": "captions_srt",
             "captions.vtt": "captions_vtt", "captions.ass": "captions_ass", "metadata.json": "metadata"}

CREATE_SCHEMA = {
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object", "properties": {
            "idea": {"oneOf": [{"type": "string", "maxLength": 10000}, {"type": "object"}],
                     "description": "the idea as text, or a ready idea object as `storygen ideas` writes it"},
            "script": {"type": "string", "description": "your own script (optional)"},
            "config": {"type": "object", "description": 'overrides, e.g. {"voice.provider": "piper"}'},
            "until": {"type": "string", "nullable": True, "description": "stop after this stage"}}}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "idea": {"type": "string"}, "config": {"type": "string", "description": "a JSON object"},
            "until": {"type": "string"}, "script": {"type": "string", "format": "binary"},
            "voice": {"type": "string", "format": "binary"},
            "images": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string"}}],
}


# ---------------------------------------------------------------- views
def links(story_id: str) -> dict[str, str]:
    base = f"/api/stories/{story_id}"
    return {"self": base, "events": f"{base}/events", "script": f"{base}/script", "rerun": f"{base}/rerun",
            "page": f"/#story={story_id}"}


def files_of(row: dict[str, Any]) -> dict[str, str]:
    folder = Path(row["folder"])
    return {FILE_KEYS[name]: f"/api/stories/{row['id']}/files/{name}" for name, rel in FILES.items()
            if (folder / rel).is_file()}


def view(queue: JobQueue, row: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    request = json.loads(row["request"])
    error = {"message": row["error"], "fix": row["fix"], "stage": row["failed_stage"]} if row["error"] else None
    out = {"id": row["id"], "status": row["status"], "title": row["title"], "created": row["created"],
           "started": row["started"], "finished": row["finished"], "stage": row["stage"],
           "progress": {"fraction": 1.0 if row["status"] == "done" else row["fraction"], "message": row["message"]},
           "error": error, "files": files_of(row), "links": links(row["id"])}
    if detail:
        out["stages"] = queue.stages(row)
        out["config"] = request.get("config") or {}
        out["until"] = request.get("until")
        out["runs"] = row["runs"]
    return out


# ---------------------------------------------------------------- create
async def _read_upload(f: UploadFile, kind: str) -> Upload:
    limit = LIMITS[kind]
    data = await f.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"The {kind} upload '{f.filename}' is over the {limit / 1024 / 1024:.1f} MB limit.",
                       "send a smaller file.")
    return Upload(f.filename or kind, data, f.content_type or "")


def _field(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, UploadFile):
        raise InputError(f"'{name}' must be a text field, not a file.", f"send {name} as a plain form field.")
    return str(value)


async def _submission(request: Request, settings: Settings) -> Submission:
    size = request.headers.get("content-length")
    if size and size.isdigit() and int(size) > settings.max_request_mb * 1024 * 1024:
        raise TooLarge(f"The request is {int(size) / 1024 / 1024:.0f} MB, over the {settings.max_request_mb:.0f} MB limit.",
                       "send fewer or smaller files.")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    key = request.headers.get("idempotency-key")
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=MAX_IMAGES + 2, max_fields=20, max_part_size=64 * 1024)
        except Exception as e:  # noqa: BLE001 - the multipart parser's errors are the client's
            raise InputError(f"The form could not be read ({str(e)[:120]}).", "send multipart/form-data with "
                             "an idea field and optional script, voice and images files.") from None
        idea: Any = _field(form.get("idea"), "idea")
        if idea and idea.lstrip().startswith("{"):
            idea = _json(idea, "idea")
        config = _json(_field(form.get("config"), "config") or "{}", "config")
        script = form.get("script")
        sub = Submission(idea=idea, config=config, until=_field(form.get("until"), "until") or None, idempotency_key=key)
        if isinstance(script, UploadFile):
            sub.script = await _read_upload(script, "script")
        elif script:
            sub.script_text = str(script)
        voice = form.get("voice")
        if isinstance(voice, UploadFile):
            sub.voice = await _read_upload(voice, "voice")
        for f in [*form.getlist("images"), *form.getlist("images[]")]:
            if isinstance(f, UploadFile):
                sub.images.append(await _read_upload(f, "images"))
        return sub
    if ctype not in ("application/json", ""):
        raise ApiError(415, f"Content type '{ctype}' is not accepted here.",
                       "send application/json, or multipart/form-data with files.")
    data = _json((await request.body()).decode("utf-8", "replace"), "body")
    if not isinstance(data, dict):
        raise InputError("The request body must be a JSON object.", 'send {"idea": "..."}.')
    unknown = set(data) - {"idea", "script", "config", "until"}
    if unknown:
        raise InputError(f"Unknown field(s): {', '.join(sorted(unknown))}.", "send idea, script, config and until only.")
    until = data.get("until")
    if until is not None and not isinstance(until, str):
        raise InputError("'until' must be a stage name or null.", "send e.g. \"until\": \"voice\".")
    return Submission(idea=data.get("idea"), script_text=data.get("script"), config=data.get("config") or {},
                      until=until, idempotency_key=key)


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise InputError(f"The {what} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}).",
                         "send a well-formed JSON object.") from None


@router.post("/api/stories", status_code=202, summary="Queue a new story", openapi_extra=CREATE_SCHEMA)
async def create_story(request: Request, response: Response, queue: QueueDep,
                       settings: SettingsDep) -> dict:
    sub = await _submission(request, settings)
    row, created = await run_in_threadpool(queue.submit, sub)
    response.headers["Location"] = f"/api/stories/{row['id']}"
    if not created:
        response.status_code = 200
    return {"id": row["id"], "status": row["status"], "links": links(row["id"])}


# ---------------------------------------------------------------- read
@router.get("/api/stories", summary="The stories, newest first")
def list_stories(queue: QueueDep, limit: Annotated[int, Query(ge=1, le=200)] = 20,
                 offset: Annotated[int, Query(ge=0)] = 0) -> dict:
    rows, total = queue.list(limit, offset)
    nxt = f"/api/stories?limit={limit}&offset={offset + limit}" if offset + limit < total else None
    return {"stories": [view(queue, r) for r in rows], "total": total, "limit": limit, "offset": offset, "next": nxt}


@router.get("/api/stories/{story_id}", summary="A story: status, progress, stages, error, files")
def get_story(story_id: str, queue: QueueDep) -> dict:
    return view(queue, queue.row(story_id), detail=True)


@router.get("/api/stories/{story_id}/events", summary="Server-Sent Events (replay from Last-Event-ID)",
            response_class=StreamingResponse)
async def story_events(story_id: str, request: Request, queue: QueueDep,
                       last_event_id: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
    queue.row(story_id)
    header = request.headers.get("last-event-id")
    after = last_event_id or 0
    if header:
        if not header.strip().isdigit():
            raise InputError(f"Last-Event-ID '{header[:40]}' is not an event number.", "send the id of the last event you saw.")
        after = int(header)

    async def stream():
        nonlocal after
        idle = 0.0
        yield "retry: 2000\n\n"
        while True:
            if await request.is_disconnected():
                return
            batch = queue.store.events(story_id, after)
            for seq, ev in batch:
                after = seq
                yield f"id: {seq}\ndata: {json.dumps(ev)}\n\n"
            if batch:
                idle = 0.0
                continue
            row = queue.store.get(story_id)
            if row is None or (row["status"] in TERMINAL and not queue.store.events(story_id, after)):
                return
            await asyncio.sleep(0.2)
            idle += 0.2
            if idle >= 15:
                idle = 0.0
                yield ": keep-alive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# ---------------------------------------------------------------- change
@router.get("/api/stories/{story_id}/script", summary="The revised script (revised/script.txt)")
def get_script(story_id: str, queue: QueueDep) -> dict:
    return {"id": story_id, "script": queue.script(story_id)}


@router.put("/api/stories/{story_id}/script", summary="Replace the revised script; then POST .../rerun")
async def put_script(story_id: str, request: Request, queue: QueueDep) -> dict:
    raw = (await request.body()).decode("utf-8", "replace")
    if request.headers.get("content-type", "").startswith("text/plain"):
        text: Any = raw
    else:
        data = _json(raw, "body")
        text = data.get("script") if isinstance(data, dict) else None
    await run_in_threadpool(queue.put_script, story_id, text)
    return {"id": story_id, "script": text, "links": links(story_id)}


@router.post("/api/stories/{story_id}/rerun", status_code=202, summary="Re-make from a stage (only what changed runs)")
async def rerun(story_id: str, request: Request, queue: QueueDep) -> dict:
    raw = (await request.body()).decode("utf-8", "replace").strip()
    data = _json(raw, "body") if raw else {}
    if not isinstance(data, dict) or set(data) - {"from", "config"}:
        raise InputError("The rerun body must be {\"from\": STAGE, \"config\": {...}}.", "send only from and config.")
    row = await run_in_threadpool(queue.rerun, story_id, data.get("from"), data.get("config"))
    return {"id": row["id"], "status": row["status"], "links": links(row["id"])}


@router.delete("/api/stories/{story_id}", summary="Cancel a queued or running story; ?purge=true also removes it")
def delete_story(story_id: str, queue: QueueDep, purge: bool = False) -> dict:
    row = queue.cancel(story_id, purge=purge)
    if row is None:
        return {"id": story_id, "status": "purged"}
    return {"id": story_id, "status": row["status"], "links": links(story_id)}
