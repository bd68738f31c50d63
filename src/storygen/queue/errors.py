"""The queue's own one-line errors (problem + fix); front doors map them to their status codes."""

from __future__ import annotations

from storygen.errors import InputError, StoryGenError


class NotFound(InputError):
    """No story with that id."""


class Conflict(StoryGenError):
    """The story's state does not allow this now (a rerun of a running story, a cancel of a finished one)."""

    exit_code = 5


class QueueFull(StoryGenError):
    """Too many stories are waiting; try again later."""

    exit_code = 5

    def __init__(self, problem: str, fix: str | None = None, retry_after: int = 30):
        super().__init__(problem, fix)
        self.retry_after = retry_after


class Refused(InputError):
    """A request asked for something this server does not allow (a path, a secret)."""
