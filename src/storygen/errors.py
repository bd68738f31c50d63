"""Errors that reach the user as one clear line: what went wrong, and how to fix it."""

from __future__ import annotations


class StoryGenError(Exception):
    """A problem the user can act on. ``fix`` says what to do next."""

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:  # one line, always
        line = self.problem if not self.fix else f"{self.problem} Fix: {self.fix}"
        return " ".join(line.split())


class InputError(StoryGenError):
    """Bad user input (idea, files, options)."""


class ConfigError(StoryGenError):
    """A bad config key or value."""


class ProviderError(StoryGenError):
    """A backend failed (model missing, API error, bad reply)."""

    exit_code = 3


class NothingSuitable(ProviderError):
    """A provider had nothing usable for one item (a scene with no matching stock clip). The stage falls back to
    the offline provider for that item and records why; the story goes on. ``record`` says what was tried."""

    def __init__(self, problem: str, fix: str | None = None, *, record: dict | None = None):
        super().__init__(problem, fix)
        self.record = record or {}


class MediaError(StoryGenError):
    """ffmpeg or audio processing failed."""

    exit_code = 4
