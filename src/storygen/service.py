"""The one library entry point: make or resume a story from a typed request.

Every front door (the CLI's make and batch, the web server, the job queue, the MCP tool) builds a
``StoryRequest`` and calls ``make_story``; none of them holds pipeline logic of its own.

    from storygen.service import StoryRequest, make_story, CancelToken
    result = make_story(StoryRequest(idea="A lighthouse keeper finds a message in a bottle",
                                     config={"voice.provider": "piper"}),
                        on_event=print, cancel=CancelToken())

``make_story`` checks every input before the story folder is touched, takes the story's lease (one writer per
story, on any host), stages the inputs, runs the pipeline (events go to ``on_event``; ``cancel`` stops it between
progress steps), and returns a ``StoryResult``. Errors come out as ``StoryGenError`` (one line: problem and fix);
``user_error`` turns anything else into one too, for front doors that must never show a traceback.
"""

from __future__ import annotations

import errno
import hashlib
import re
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storygen import layout
from storygen.config import Config, load_config
from storygen.errors import InputError, StoryGenError
from storygen.lease import StoryLease, holder_alive, read_lease
from storygen.models import StoryIdea
from storygen.providers import lifecycle

Event = dict[str, Any]

__all__ = ["CancelToken", "Cancelled", "StoryRequest", "StoryResult", "check_stage", "load_request_config",
           "make_story", "slug", "story_folder", "user_error"]


# ---------------------------------------------------------------- request and result
@dataclass
class StoryRequest:
    """What to make. Give an idea (text, a StoryIdea, an idea file) or a story folder to resume (``out``)."""

    idea: str | None = None
    idea_file: Path | None = None
    story_idea: StoryIdea | None = None  # a ready idea (from `storygen ideas`, a batch file, an API call)
    script: Path | None = None  # the user's own script, voice, keyframes
    voice: Path | None = None
    images: Path | None = None
    out: Path | None = None  # the story folder; default: stories_dir / a slug of the idea
    stories_dir: Path = Path("stories")
    config_file: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)  # overrides: {"voice.provider": "piper", ...}
    language: str | None = None  # the story's language (BCP-47); None: config story.language, else detected
    until: str | None = None  # stop after this stage
    from_stage: str | None = None  # re-run from this stage on
    force: bool = False  # re-run everything, and allow replacing the story's idea and inputs
    wait: float | None = 0.0  # seconds to wait for another run that holds the story (None: as long as it takes)


@dataclass
class StoryResult:
    story: Path  # the story folder
    video: Path | None  # final.mp4 when it exists
    final: Path | None  # final.mp4 when this run was asked to finish the story (no --until before final)
    seconds: float
    ran: list[str]
    summary: dict[str, Any]
    note: str | None = None  # something the user should know (e.g. "the idea was taken from the script")


class Cancelled(StoryGenError):
    """The run was cancelled; finished stages are kept."""

    exit_code = 130


class CancelToken:
    """Set from any thread; the run stops at its next progress step (finished stages are kept)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("The run was cancelled.", "finished stages are kept; run it again to resume.")


# ---------------------------------------------------------------- helpers the front doors share
def slug(text: str) -> str:
    """A safe folder name from free text: never a path, never shell syntax."""
    norm = unicodedata.normalize("NFKD", text)
    ascii_ = norm.encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_)
    s = "-".join(words)[:48].strip("-")
    if len(s) < 3:  # an idea in another script (東京の猫, Кот в Москве, emoji): a stable name of its own
        s = f"story-{hashlib.sha256(text.strip().encode()).hexdigest()[:8]}"
    return s


def check_stage(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    if value not in layout.STAGES:
        raise InputError(f"Unknown stage '{value}' for {flag}.", f"use one of: {', '.join(layout.STAGES)}")
    return value


def load_request_config(req: StoryRequest) -> Config:
    """Defaults < the config file < the request's overrides (a dict of ``section.key`` -> value)."""
    values = dict(req.config or {})
    if req.language:
        values["story.language"] = req.language
    return load_config(req.config_file, overrides_from_dict(values))


def overrides_from_dict(values: dict[str, Any]) -> list[str]:
    """``{"voice.provider": "piper", "render.fps": 30}`` as ``-c`` pairs (the config checks keys and values)."""
    out = []
    for key, value in (values or {}).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif value is None:
            raise InputError(f"Config key '{key}' has no value.", f"give {key} a value, or leave it out.")
        out.append(f"{key}={value}")
    return out


def story_folder(req: StoryRequest, idea_title: str | None = None) -> Path:
    """The request's story folder: ``out``, else stories_dir / a slug of the idea (or of the idea file's name)."""
    if req.out is not None:
        return req.out
    seed = req.idea or (req.story_idea.title if req.story_idea else None) or (req.idea_file.stem if req.idea_file else None) \
        or idea_title
    if not seed:
        raise InputError("No idea and no story folder given.", 'run storygen make "your idea", or storygen make -o DIR to resume.')
    return req.stories_dir / slug(seed)


def user_error(e: BaseException, cfg: Config | None = None) -> StoryGenError:
    """Any error as the one-line StoryGenError a user sees (secrets masked); unknown ones are internal errors."""
    if isinstance(e, StoryGenError):
        out = e
    elif isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        out = StoryGenError("The disk is full.", "free some space and run the same command again; finished stages are kept.")
    elif isinstance(e, OSError):
        out = StoryGenError(f"{e.strerror or e}: {e.filename or ''}".strip(), "check the path and its permissions.")
    else:
        first = str(e).splitlines()[0] if str(e) else ""
        out = StoryGenError(f"Internal error: {e.__class__.__name__}: {first}", "run again with --debug and report the traceback.")
    if cfg is not None and cfg.secrets():
        redacted = type(out).__new__(type(out))
        StoryGenError.__init__(redacted, cfg.redact(out.problem), cfg.redact(out.fix) if out.fix else None)
        return redacted
    return out


# ---------------------------------------------------------------- the entry point
def check_settings(cfg: Config) -> None:
    """What the config's own rules cannot check, checked before any work: the story's language code (an unknown
    one is an InputError that lists the known codes). The CLI, the queue and every engine call this."""
    if cfg.get("story.language"):
        from storygen.text.language import parse_language

        parse_language(str(cfg.get("story.language")))


def check_backends(cfg: Config, *, idea: bool = False, script: bool = False, voice: bool = False, images: bool = False,
                   until: str | None = None) -> None:
    """For a story not made yet: every backend its stages up to ``until`` will ask for can start (installed, key
    set), given what the user sent (``idea``: a ready idea, or a script the idea is made from). The queue calls it
    before accepting a request, so a missing key is a 400 and not a failed job."""
    from storygen.pipeline import Given, check_new_story

    check_new_story(cfg, Given(idea=idea, script=script, voice=voice, images=images), until)


def make_story(req: StoryRequest, *, on_event: Callable[[Event], None] | None = None, cancel: CancelToken | None = None,
               cfg: Config | None = None, models: lifecycle.ModelHost | None = None,
               node: str | None = None) -> StoryResult:
    """Make or resume one story. Raises StoryGenError (InputError, ConfigError, ProviderError, MediaError,
    StoryBusy, Cancelled) with a one-line message; nothing is written before every input has been checked.
    ``models``: the ModelHost that loads and keeps this run's models (a worker passes its own); ``node``: the name
    recorded for the machine that runs the stages (default: the host name)."""
    from storygen.inputs import IDEA_JSON, IDEA_TXT, RunOptions, prepare_user_inputs, stage_user_inputs
    from storygen.workspace import Story, cleanup_partials

    cfg = cfg if cfg is not None else load_request_config(req)
    check_settings(cfg)
    until, from_stage = check_stage(req.until, "--until"), check_stage(req.from_stage, "--from")
    if until and from_stage and layout.STAGES.index(from_stage) > layout.STAGES.index(until):
        raise InputError(f"--from {from_stage} comes after --until {until}: nothing would run.",
                         f"use a --from stage at or before {until}, or leave --until out.")
    given = [x for x in (req.idea, req.idea_file, req.story_idea) if x is not None]
    if len(given) > 1:
        raise InputError("Both an IDEA and --idea-file were given.", "pass one of them.")
    opts = RunOptions(idea=req.idea, idea_file=req.idea_file, script_file=req.script, voice_file=req.voice,
                      images_dir=req.images)
    prepared = prepare_user_inputs(opts, cfg)  # every input is read and checked before the folder is touched
    if req.story_idea is not None:
        prepared.idea = req.story_idea
    out = story_folder(req, prepared.script_idea.title if prepared.script_idea else None)
    has_idea = (out / IDEA_TXT).is_file() or (out / IDEA_JSON).is_file()
    note = prepared.idea_note
    not_a_story = InputError(f"'{out}' is not a story yet and no idea was given.",
                             f'pass one: storygen make "your idea" -o {out} (or --idea-file FILE).')
    if not given and not has_idea and prepared.script_idea is None:
        if not holder_alive(read_lease(out)):  # else another run is making it now: queue behind it, check again
            raise not_a_story
    elif not given and not has_idea:
        prepared.idea = prepared.script_idea
        note = f"no idea given: the story is titled after your script's first sentence ('{prepared.script_idea.title}')."
    mismatch = _script_language_mismatch(prepared.script, cfg)
    note = "; ".join(n for n in (note, mismatch) if n) or None

    if not (out / layout.MANIFEST).exists():  # a new story: a backend that cannot start stops it before its folder
        check_backends(cfg, idea=prepared.idea_text is None, script=prepared.script is not None,
                       voice=prepared.voice is not None, images=prepared.images is not None, until=until)
    emit = _emitter(on_event, cancel)
    story = Story.open_or_create(out, cleanup=False)
    lease = StoryLease(story.root, wait=req.wait, owner="storygen",
                       on_wait=lambda who: emit({"event": "waiting", "story": str(story.root), "holder": who.describe()}))
    with lease:
        cleanup_partials(story.root)  # under the lease: what is left of a dead run is no one's now
        cfg = _sticky_language(story, cfg)
        if not given and prepared.idea is None and not (story.path(IDEA_TXT).is_file() or story.path(IDEA_JSON).is_file()):
            raise not_a_story
        stage_user_inputs(story, opts, cfg, force=req.force, prepared=prepared)
        summary, took = _run(story, opts, cfg, until, from_stage, req.force, emit, lease, models, node)
    video = story.path(layout.FINAL)
    video_ = video if video.exists() else None
    return StoryResult(story=story.root, video=video_, final=video_ if until in (None, "final") else None,
                       seconds=took, ran=[k for k, v in summary.items() if v["ran"]], summary=summary, note=note)


def _sticky_language(story: Any, cfg: Config) -> Config:
    """A language asked for once stays the story's: it is kept in the story and used again on a resume that
    does not name one (a story whose language was only detected keeps it through its idea)."""
    from storygen.workspace import write_text

    kept = story.path(layout.LANGUAGE_INPUT)
    asked = str(cfg.get("story.language") or "").strip()
    if asked:
        if not kept.exists() or kept.read_text(encoding="utf-8").strip() != asked:
            write_text(kept, asked + "\n")
        return cfg
    return story_settings(story.root, cfg)


def _script_language_mismatch(script: str | None, cfg: Config) -> str | None:
    """A warning when the user's script is in another language than the one asked for: its numbers would be
    spelled in the asked language ("El three de mayo") and the voice would read it with that language's rules."""
    asked = str(cfg.get("story.language") or "").strip()
    if not script or not asked:
        return None
    from storygen.text.language import base, detect_language, info

    found = detect_language(script)  # "en" also means "not sure": only a clear other language is reported
    if found == "en" or base(found) == base(asked):
        return None
    return (f"your script reads as {info(found).name}, but the story's language is {info(asked).name}: numbers and "
            f"the voice follow {info(asked).name}. Pass --language {found} if the script is right.")


def story_settings(folder: Path, cfg: Config) -> Config:
    """The settings a resume of the story in ``folder`` would use (read only): ``cfg``, with the language the
    story keeps when ``cfg`` names none. `storygen status` judges a story with these."""
    if str(cfg.get("story.language") or "").strip():
        return cfg
    kept = Path(folder) / layout.LANGUAGE_INPUT
    language = kept.read_text(encoding="utf-8").strip() if kept.is_file() else ""
    return cfg.with_overrides([f"story.language={language}"]) if language else cfg


def _emitter(on_event: Callable[[Event], None] | None, cancel: CancelToken | None) -> Callable[[Event], None]:
    def emit(event: Event) -> None:
        if cancel is not None:
            cancel.check()
        if on_event is not None:
            on_event(event)

    return emit


def _run(story: Any, opts: Any, cfg: Config, until: str | None, from_stage: str | None, force: bool,
         emit: Callable[[Event], None], lease: StoryLease, models: lifecycle.ModelHost | None,
         node: str | None) -> tuple[dict, float]:
    from storygen.pipeline import run_pipeline
    from storygen.stages.base import Context

    ctx = Context(story=story, cfg=cfg, options=opts)
    t0 = time.perf_counter()
    host = models if models is not None else lifecycle.current()
    with lifecycle.using(host):
        summary = run_pipeline(ctx, until=until, from_stage=from_stage, force=force, emit=emit, before_record=lease.check,
                               node=node)
    return summary, time.perf_counter() - t0
