"""Dependencies the routers ask for: the queue, the settings, and the Bearer-token check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from storygen.queue import JobQueue
from storygen.serve.errors import ApiError
from storygen.serve.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue


def require_token(request: Request) -> None:
    """With a token set, every API call needs `Authorization: Bearer <token>`."""
    token = request.app.state.settings.token
    if not token:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise ApiError(401, "This server needs an API token.",
                       "send the header `Authorization: Bearer <STORYGEN_API_TOKEN>`.",
                       headers={"WWW-Authenticate": "Bearer"})


QueueDep = Annotated[JobQueue, Depends(get_queue)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
