"""The job queue: submit, look at, re-run, cancel and purge stories; worker threads make them.

State is the story folders plus ``<stories>/.studio.db`` (jobs and their events); nothing lives only in memory
except the cancel tokens of the jobs this process is running now.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storygen import layout
from storygen.config import Config, load_config
from storygen.errors import InputError, StoryGenError
from storygen.lease import StoryBusy, StoryLease
from storygen.queue.errors import Conflict, NotFound, QueueFull
from storygen.queue.store import ACTIVE, TERMINAL, Store
from storygen.queue.uploads import MAX_IMAGES, Upload, check_config, check_upload
from storygen.service import CancelToken, check_backends, check_settings, check_stage, overrides_from_dict, slug

DB_NAME = ".studio.db"
UPLOADS = ".uploads"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,80}$")
MAX_IDEA = 10_000
MAX_SCRIPT = 20_000
#: the files a client may download: public name -> the story's layout path
FILES = {"final.mp4": layout.FINAL, "thumbnail.jpg": layout.THUMBNAIL, "captions.srt": layout.TOP_SRT,
         "captions.vtt": layout.TOP_VTT, "captions.ass": layout.TOP_ASS, "metadata.json": layout.METADATA}

__all__ = ["FILES", "JobQueue", "Submission", "Upload"]


@dataclass
class Submission:
    """A new story: an idea (text, or a ready idea as a dict) and/or a script, optional voice and images."""

    idea: str | dict | None = None
    script_text: str | None = None
    script: Upload | None = None
    voice: Upload | None = None
    images: list[Upload] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    until: str | None = None
    idempotency_key: str | None = None

    def digest(self) -> str:
        h = hashlib.sha256(json.dumps({"idea": self.idea, "script_text": self.script_text, "config": self.config,
                                       "until": self.until}, sort_keys=True).encode())
        for up in [self.script, self.voice, *self.images]:
            h.update(hashlib.sha256(up.data).digest() if up else b"-")
        return h.hexdigest()


class JobQueue:
    def __init__(self, root: Path, *, workers: int = 1, max_active: int = 64, allow_paths: bool = False,
                 config_file: Path | None = None, engine: str = "local", ray_address: str | None = None,
                 gpu_resource: str = "GPU"):
        self.root = Path(root).resolve()
        # where a job's stages run: in the worker thread (local) or on a Ray cluster (the worker waits for it)
        self.engine, self.ray_address, self.gpu_resource = engine, ray_address, gpu_resource
        self.config_file = Path(config_file).resolve() if config_file else None  # the server's defaults for every story
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.root / DB_NAME)
        self.n_workers, self.max_active, self.allow_paths = workers, max_active, allow_paths
        self.wake = threading.Condition()
        self.tokens: dict[str, CancelToken] = {}
        self.stopping = False
        self.workers: list[Any] = []

    # ------------------------------------------------------------------ life
    def start(self) -> JobQueue:
        from storygen.queue.worker import Worker
        from storygen.workspace import pid_alive

        for job_id in self.store.requeue_orphans(pid_alive):
            self.emit(job_id, {"event": "requeued", "message": "the server restarted; resuming from the manifest"})
        self.stopping = False
        self.workers = [Worker(self, i) for i in range(self.n_workers)]
        for w in self.workers:
            w.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the workers: running jobs are interrupted and queued again (they resume on the next start)."""
        self.stopping = True
        for token in list(self.tokens.values()):
            token.cancel()
        with self.wake:
            self.wake.notify_all()
        deadline = time.monotonic() + timeout
        for w in self.workers:
            w.join(max(0.1, deadline - time.monotonic()))
        self.workers = []

    def __enter__(self) -> JobQueue:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ events
    def emit(self, job_id: str, event: dict[str, Any], **values: Any) -> int:
        event = {"t": round(time.time(), 3), **event} if "t" not in event else event
        return self.store.add_event(job_id, event, **values)

    def events(self, job_id: str, after: int = 0) -> list[tuple[int, dict[str, Any]]]:
        self.row(job_id)
        return self.store.events(job_id, after)

    def finish(self, job_id: str, status: str, event: dict[str, Any], **values: Any) -> None:
        now = time.time()
        extra = {"finished": now} if status in TERMINAL else {"owner_pid": None, "owner_host": None}
        self.emit(job_id, {**event, "status": status}, status=status, cancel=0, **extra, **values)
        if status == "done":
            shutil.rmtree(self.uploads_dir(job_id), ignore_errors=True)

    # ------------------------------------------------------------------ lookups
    def row(self, job_id: str) -> dict[str, Any]:
        if not isinstance(job_id, str) or not ID_RE.fullmatch(job_id):
            raise InputError(f"'{str(job_id)[:80]}' is not a story id.", "use an id returned by POST /api/stories.")
        row = self.store.get(job_id)
        if row is None:
            raise NotFound(f"No story with id '{job_id}'.", "list the stories with GET /api/stories.")
        return row

    def folder(self, job_id: str) -> Path:
        return Path(self.row(job_id)["folder"])

    def uploads_dir(self, job_id: str) -> Path:
        return self.root / UPLOADS / job_id

    def list(self, limit: int = 20, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        return self.store.list(max(1, min(200, limit)), max(0, offset))

    def counts(self) -> dict[str, int]:
        return self.store.counts()

    def file(self, job_id: str, name: str) -> Path:
        if name not in FILES:
            if "/" in name or "\\" in name or ".." in name:
                raise InputError(f"'{name[:80]}' is not a file name.", f"ask for one of: {', '.join(FILES)}.")
            raise NotFound(f"There is no file '{name[:80]}' in a story.", f"ask for one of: {', '.join(FILES)}.")
        path = self.folder(job_id) / FILES[name]
        if not path.is_file():
            raise NotFound(f"Story '{job_id}' has no {name} yet.", "wait until the story is done (GET /api/stories/{id}).")
        return path

    def config_of(self, row: dict[str, Any]) -> Config:
        return load_config(self.config_file, overrides_from_dict(json.loads(row["request"]).get("config") or {}))

    def stages(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """Per stage: state (done, edited, stale, missing), why, seconds and provider, from the story's manifest."""
        from storygen.pipeline import story_status
        from storygen.stages.base import Context, RunOptions
        from storygen.workspace import Story

        folder = Path(row["folder"])
        blank = [{"name": s, "label": layout.LABELS[s], "state": "missing", "why": "not made yet", "seconds": None,
                  "provider": None} for s in layout.STAGES]
        if not (folder / layout.MANIFEST).is_file():
            return blank
        try:
            story = Story.open_existing(folder)
            states = story_status(Context(story=story, cfg=self.config_of(row), options=RunOptions()))
            manifest = story.load_manifest().get("stages", {})
        except (StoryGenError, OSError, ValueError):
            return blank
        return [{"name": s.name, "label": layout.LABELS.get(s.name, s.name), "state": s.state, "why": s.why,
                 "seconds": manifest.get(s.name, {}).get("seconds"), "provider": manifest.get(s.name, {}).get("provider")}
                for s in states]

    # ------------------------------------------------------------------ submitting
    def submit(self, sub: Submission) -> tuple[dict[str, Any], bool]:
        """Check everything, then queue the story. (row, created): a known idempotency key gives its story back."""
        from storygen.inputs import RunOptions, prepare_user_inputs
        from storygen.models import StoryIdea

        digest = sub.digest()
        key = (sub.idempotency_key or "").strip() or None
        if key is not None:
            if len(key) > 200:
                raise InputError("The Idempotency-Key is too long.", "use at most 200 characters, e.g. a UUID.")
            old = self.store.read("SELECT * FROM jobs WHERE idem_key=?", (key,))
            if old:
                return self._same_request(old[0], digest), False
        config = check_config(sub.config, self.allow_paths)
        cfg = load_config(self.config_file, overrides_from_dict(config))
        check_settings(cfg)  # e.g. an unknown language code: a 400 now, not a failed job later
        until = check_stage(sub.until, "until")
        idea_text: str | None = None
        story_idea: dict[str, Any] | None = None
        if isinstance(sub.idea, dict):
            try:
                story_idea = StoryIdea.model_validate(sub.idea).model_dump(mode="json")
            except ValueError as e:
                first = str(e).splitlines()[1:3]
                raise InputError(f"The idea object is not a valid story idea ({' '.join(x.strip() for x in first)}).",
                                 'send {"idea": "a sentence"} or an idea as `storygen ideas` writes it.') from None
        elif isinstance(sub.idea, str):
            idea_text = sub.idea.strip()
            if not idea_text:
                raise InputError("The idea is empty.", 'send {"idea": "A lighthouse keeper finds a message in a bottle"}.')
            if len(idea_text) > MAX_IDEA:
                raise InputError(f"The idea is {len(idea_text):,} characters; the most is {MAX_IDEA:,}.",
                                 "send a shorter idea (a sentence or a paragraph).")
        elif sub.idea is not None:
            raise InputError("'idea' must be text or an idea object.", 'send {"idea": "a sentence"}.')
        script = sub.script
        if sub.script_text is not None:
            if not isinstance(sub.script_text, str):
                raise InputError("'script' must be text.", "send the script as a string.")
            script = Upload("script.txt", sub.script_text.encode("utf-8"), "text/plain")
        if idea_text is None and story_idea is None and script is None:
            raise InputError("No idea and no script were given.", 'send {"idea": "..."} or a script.')
        if len(sub.images) > MAX_IMAGES:
            raise InputError(f"{len(sub.images)} images were sent; the most is {MAX_IMAGES}.", "send fewer images.")
        names: dict[str, str] = {}
        files: list[tuple[str, bytes]] = []
        if script is not None:
            names["script"] = check_upload("script", script)
            files.append((names["script"], script.data))
        if sub.voice is not None:
            names["voice"] = "voice/" + check_upload("voice", sub.voice)
            files.append((names["voice"], sub.voice.data))
        if sub.images:
            names["images"] = "images"
            files += [("images/" + check_upload("images", up, i), up.data) for i, up in enumerate(sub.images)]

        job_id = self._new_id(story_idea["title"] if story_idea else idea_text or script.data.decode()[:80])
        up_dir = self.uploads_dir(job_id)
        try:
            for rel, data in files:
                (up_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                (up_dir / rel).write_bytes(data)
            opts = RunOptions(idea=idea_text, script_file=up_dir / names["script"] if "script" in names else None,
                              voice_file=up_dir / names["voice"] if "voice" in names else None,
                              images_dir=up_dir / "images" if "images" in names else None)
            prepared = prepare_user_inputs(opts, cfg)  # the same checks as the CLI, before anything is queued
            # a backend that cannot start (a missing ELEVENLABS_API_KEY): a 400 now, not a failed job. Only where
            # the stories run here: a cluster's workers have their own environment (and check it themselves)
            if self.engine != "ray":
                check_backends(cfg, idea=idea_text is None, script="script" in names, voice="voice" in names,
                               images="images" in names, until=until)
            title = (story_idea or {}).get("title") or (prepared.idea.title if getattr(prepared, "idea", None) else None) \
                or (prepared.script_idea.title if getattr(prepared, "script_idea", None) else None) or (idea_text or "")[:120]
            now = time.time()
            request = {"kind": "make", "idea": idea_text, "story_idea": story_idea, "config": config, "until": until,
                       "from": None, **names}
            row = {"id": job_id, "folder": str(self.root / job_id), "status": "queued", "title": title[:200],
                   "request": json.dumps(request), "created": now, "queued": now, "idem_key": key, "idem_hash": digest}
            got = self.store.insert(row, active_limit=self.max_active)
        except BaseException:
            shutil.rmtree(up_dir, ignore_errors=True)
            raise
        if got is None:
            shutil.rmtree(up_dir, ignore_errors=True)
            raise QueueFull(f"The queue is full ({self.max_active} stories waiting or running).",
                            "try again in a minute.", retry_after=30)
        if got["id"] != job_id:  # the same key won a race
            shutil.rmtree(up_dir, ignore_errors=True)
            return self._same_request(got, digest), False
        self.emit(job_id, {"event": "queued"})
        self._notify()
        return self.store.get(job_id) or row, True

    def _same_request(self, row: dict[str, Any], digest: str) -> dict[str, Any]:
        if row["idem_hash"] != digest:
            raise Conflict("This Idempotency-Key was used before with a different request.",
                           "use a new key for a new story, or send the same request again.")
        return row

    def _new_id(self, seed: str) -> str:
        return f"{slug(seed)[:40].strip('-')}-{secrets.token_hex(3)}"

    def _notify(self) -> None:
        with self.wake:
            self.wake.notify_all()

    # ------------------------------------------------------------------ changing a story
    def rerun(self, job_id: str, from_stage: str | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
        row = self.row(job_id)
        from_stage = check_stage(from_stage, "from")
        request = json.loads(row["request"])
        merged = {**(request.get("config") or {}), **check_config(config, self.allow_paths)}
        check_settings(load_config(self.config_file, overrides_from_dict(merged)))
        made = (Path(row["folder"]) / layout.MANIFEST).is_file()
        request.update(config=merged, until=None, **({"kind": "rerun", "from": from_stage} if made else {}))
        got = self.store.transition(job_id, TERMINAL, status="queued", queued=time.time(), cancel=0, request=json.dumps(request),
                                    stage=None, fraction=0.0, message="", error=None, fix=None, failed_stage=None, plan="[]")
        if got is None:
            raise Conflict(f"Story '{job_id}' is {self.row(job_id)['status']}; it cannot be re-made now.",
                           "wait until it is done, or cancel it first (DELETE /api/stories/{id}).")
        self.emit(job_id, {"event": "queued", "from": from_stage})
        self._notify()
        return self.row(job_id)

    def cancel(self, job_id: str, *, purge: bool = False, wait: float = 8.0) -> dict[str, Any] | None:
        """Cancel a queued or running story (running work stops at its next step); ``purge`` also removes it."""
        row = self.row(job_id)
        if row["status"] == "queued":
            if self.store.transition(job_id, ("queued",), status="cancelled", finished=time.time()) is not None:
                self.emit(job_id, {"event": "cancelled", "status": "cancelled"})
        elif row["status"] == "running":
            self.store.update(job_id, cancel=1)
            token = self.tokens.get(job_id)
            if token is not None:
                token.cancel()
            deadline = time.monotonic() + wait
            while self.row(job_id)["status"] == "running" and time.monotonic() < deadline:
                time.sleep(0.05)
        elif not purge:
            raise Conflict(f"Story '{job_id}' is already {row['status']}; there is nothing to cancel.",
                           "DELETE /api/stories/{id}?purge=true removes it.")
        row = self.row(job_id)
        if not purge:
            return row
        if row["status"] in ACTIVE:
            raise Conflict(f"Story '{job_id}' is still {row['status']}.", "try again in a few seconds.")
        shutil.rmtree(row["folder"], ignore_errors=True)
        shutil.rmtree(self.uploads_dir(job_id), ignore_errors=True)
        self.store.delete(job_id)
        return None

    # ------------------------------------------------------------------ the script
    def script(self, job_id: str) -> str:
        path = self.folder(job_id) / layout.REVISED
        if not path.is_file():
            raise Conflict(f"Story '{job_id}' has no revised script yet.", "wait until its Revision stage is done.")
        return path.read_text(encoding="utf-8")

    def put_script(self, job_id: str, text: Any) -> None:
        from storygen.workspace import write_text

        row = self.row(job_id)
        if not isinstance(text, str) or not text.strip():
            raise InputError("The script is empty.", 'send {"script": "the full text"}.')
        if len(text) > MAX_SCRIPT:
            raise InputError(f"The script is {len(text):,} characters; the most is {MAX_SCRIPT:,}.", "send a shorter script.")
        if row["status"] in ACTIVE:
            raise Conflict(f"Story '{job_id}' is {row['status']}; its script cannot change now.",
                           "wait until it is done, or cancel it first.")
        path = Path(row["folder"]) / layout.REVISED
        if not path.is_file():
            raise Conflict(f"Story '{job_id}' has no revised script yet.", "re-make it first (POST .../rerun).")
        try:
            with StoryLease(row["folder"], wait=2.0, owner="storygen serve"):
                write_text(path, text.replace("\r\n", "\n").strip() + "\n")
        except StoryBusy as e:
            raise Conflict(e.problem, e.fix) from None

