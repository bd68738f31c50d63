"""Render pipeline events: one rich progress display across stages, JSON lines, or nothing."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from storygen.layout import LABELS


class JsonReporter:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, event: dict[str, Any]) -> None:
        self.stream.write(json.dumps({"t": round(time.time(), 3), **event}, ensure_ascii=False) + "\n")
        self.stream.flush()


class QuietReporter(JsonReporter):
    def __call__(self, event: dict[str, Any]) -> None:
        pass


class RichReporter:
    """A bar per stage; skipped stages say so, finished ones show their time."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description:<12}"),
            BarColumn(bar_width=28),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[note]}"),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "plan":
            for name in event["stages"]:
                self.tasks[name] = self.progress.add_task(LABELS.get(name, name), total=1.0, note="", start=False)
            return
        task = self.tasks.get(event.get("stage", ""))
        if task is None:
            return
        if kind == "skip":
            self.progress.start_task(task)
            self.progress.update(task, completed=1.0, note=f"skipped: {event['why']}")
            self.progress.stop_task(task)
        elif kind == "start":
            self.progress.start_task(task)
            self.progress.update(task, completed=0.0, note=event.get("why", ""))
        elif kind == "progress":
            self.progress.update(task, completed=event["fraction"], note=event.get("message", ""))
        elif kind == "warning":
            self.progress.console.print(f"[yellow]warning ({event['stage']}):[/yellow] {escape(str(event['message']))}",
                                        highlight=False)
        elif kind == "done":
            self.progress.update(task, completed=1.0, note=f"{event['seconds']:.1f}s via {event.get('provider') or '-'}")
            self.progress.stop_task(task)


class LineReporter:
    """One plain line per stage event, for a log file, CI or nohup (a progress bar there prints nothing until the
    end)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, event: dict[str, Any]) -> None:
        kind, stage = event["event"], LABELS.get(event.get("stage", ""), event.get("stage", ""))
        line = {
            "start": lambda: f"{stage}: started ({event.get('why', '')})",
            "skip": lambda: f"{stage}: skipped ({event.get('why', '')})",
            "done": lambda: f"{stage}: done in {event.get('seconds', 0):.1f}s via {event.get('provider') or '-'}",
            "warning": lambda: f"{stage}: warning: {event.get('message', '')}",
        }.get(kind)
        if line is not None:
            self.console.print(escape(line()), highlight=False, soft_wrap=True)
