"""GET /api/stories/{id}/files/{name}: the finished short and its companions (the video with HTTP Range)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from storygen.config import is_secret
from storygen.serve.deps import QueueDep

router = APIRouter()

MEDIA = {"final.mp4": "video/mp4", "thumbnail.jpg": "image/jpeg", "captions.srt": "application/x-subrip",
         "captions.vtt": "text/vtt", "captions.ass": "text/x-ssa", "metadata.json": "application/json"}


def _public(obj: Any) -> Any:
    """The metadata without any secret-named key (belt and braces: the pipeline writes none)."""
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items() if not is_secret(str(k))}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    return obj


@router.get("/api/stories/{story_id}/files/{name}", summary="Download final.mp4 (Range), thumbnail.jpg, "
            "captions.srt|vtt|ass or metadata.json")
def get_file(story_id: str, name: str, queue: QueueDep):
    path = queue.file(story_id, name)
    if name == "metadata.json":
        return JSONResponse(_public(json.loads(path.read_text(encoding="utf-8"))))
    return FileResponse(path, media_type=MEDIA[name], filename=f"{story_id}-{name}",
                        content_disposition_type="inline", headers={"Cache-Control": "no-cache"})
