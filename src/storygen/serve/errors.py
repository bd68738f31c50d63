"""Every error as a 4xx (or 5xx for a broken server) JSON body ``{"error": ..., "fix": ...}``, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from storygen.errors import ConfigError, InputError, ProviderError, StoryGenError
from storygen.lease import StoryBusy
from storygen.queue import Conflict, NotFound, QueueFull, Refused
from storygen.queue.uploads import TooLarge, Unsupported
from storygen.service import user_error

log = logging.getLogger("storygen.serve")


class ApiError(StoryGenError):
    """An HTTP-level problem (auth, a malformed body) with its status code."""

    def __init__(self, status: int, problem: str, fix: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(problem, fix)
        self.status, self.headers = status, headers or {}


def status_of(e: StoryGenError) -> int:
    for cls, code in ((NotFound, 404), (TooLarge, 413), (Unsupported, 415), (Refused, 403), (QueueFull, 429),
                      (Conflict, 409), (StoryBusy, 409), (ConfigError, 400), (InputError, 400), (ProviderError, 400)):
        if isinstance(e, cls):
            return code
    return 400


def body(e: StoryGenError) -> dict[str, str | None]:
    return {"error": e.problem, "fix": e.fix}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return JSONResponse(body(e), status_code=e.status, headers=e.headers)

    @app.exception_handler(StoryGenError)
    async def _story(_: Request, e: StoryGenError) -> JSONResponse:
        headers = {"Retry-After": str(e.retry_after)} if isinstance(e, QueueFull) else None
        return JSONResponse(body(e), status_code=status_of(e), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return JSONResponse({"error": f"Bad request: {where or 'body'}: {first.get('msg', 'invalid')}.",
                             "fix": "see the API document at /docs."}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        problem = {404: "Not found.", 405: "Method not allowed."}.get(e.status_code, str(e.detail))
        return JSONResponse({"error": problem, "fix": "see the API document at /docs."}, status_code=e.status_code,
                            headers=getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _any(_: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error")
        err = user_error(e)
        return JSONResponse(body(err), status_code=500)
