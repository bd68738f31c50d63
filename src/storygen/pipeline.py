"""The ordered stages, and for each one the decision to run or skip.

A stage's key is the hash of its inputs' content, its settings and its code version. If the manifest
holds the same key and every promised output exists, the stage is skipped. Outputs edited by hand are
kept (reported as "edited"), also when the stage's own settings or inputs changed (``--from`` or ``--force``
re-makes them), and everything downstream of them re-runs because their inputs changed. Settings left at
their defaults are not part of the key.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from storygen import __version__
from storygen.config import Config
from storygen.stages.base import Context, Given, Stage
from storygen.stages.captions import CaptionsStage
from storygen.stages.clips import ClipsStage
from storygen.stages.final import FinalStage
from storygen.stages.idea import IdeaStage
from storygen.stages.keyframes import KeyframesStage
from storygen.stages.revise import ReviseStage
from storygen.stages.scenes import ScenesStage
from storygen.stages.script import ScriptStage
from storygen.stages.voice import VoiceStage
from storygen.layout import STAGES
from storygen.workspace import hash_obj, hash_paths

Event = dict[str, Any]

ALL_STAGES: tuple[Stage, ...] = (IdeaStage(), ScriptStage(), ReviseStage(), VoiceStage(), CaptionsStage(), ScenesStage(),
                                 KeyframesStage(), ClipsStage(), FinalStage())
assert tuple(s.name for s in ALL_STAGES) == STAGES, "the stage classes must follow storygen.layout.STAGES"


@dataclass(frozen=True)
class StageState:
    name: str
    state: str  # done | edited | stale | missing
    why: str


def _without_defaults(settings: dict[str, Any]) -> dict[str, Any]:
    """A stage's settings minus config values left at their defaults. A release that adds a config key (with a
    default that keeps the old behaviour) then does not make every finished story run again; a changed value
    still does."""
    from storygen.config import DEFAULTS

    out: dict[str, Any] = {}
    for name, value in settings.items():
        if name in DEFAULTS and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in DEFAULTS[name] or DEFAULTS[name][k] != v}
        out[name] = value
    return out


def stage_key(stage: Stage, ctx: Context) -> tuple[str, dict[str, str], dict[str, Any]]:
    inputs = hash_paths(stage.inputs(ctx), ctx.story.root)
    settings = _without_defaults(stage.settings(ctx))
    key = hash_obj({"stage": stage.name, "code": stage.code_version, "inputs": inputs, "settings": settings})
    return key, inputs, settings


def _same_as_legacy(stage: Stage, entry: dict[str, Any], inputs: dict[str, str], settings: dict[str, Any]) -> bool:
    """A manifest entry written before default settings were left out of keys (its key hashed every setting):
    it still counts as up to date when the same code made it from the same inputs, and its settings differ from
    today's only by values at their defaults, so stories made before do not all run again."""
    old_set = entry.get("settings", {})
    legacy = hash_obj({"stage": stage.name, "code": stage.code_version, "inputs": entry.get("inputs", {}), "settings": old_set})
    return legacy == entry.get("key") and entry.get("inputs", {}) == inputs and _without_defaults(old_set) == settings


def assess(stage: Stage, ctx: Context, manifest: dict[str, Any]) -> StageState:
    entry = manifest.get("stages", {}).get(stage.name)
    if not entry:
        return StageState(stage.name, "missing", "never run")
    missing = [p for p in stage.outputs(ctx) if not p.exists()]
    if missing:
        return StageState(stage.name, "stale", f"output missing: {missing[0].relative_to(ctx.story.root).as_posix()}")
    key, inputs, settings = stage_key(stage, ctx)
    now = hash_paths(stage.outputs(ctx), ctx.story.root)
    edited = sorted(k for k, v in now.items() if entry.get("outputs", {}).get(k) not in (None, v))
    if entry.get("key") != key and _same_as_legacy(stage, entry, inputs, settings):
        key = entry["key"]
    if entry.get("key") != key:
        old_in, old_set = entry.get("inputs", {}), entry.get("settings", {})
        changed = sorted(k for k in set(inputs) | set(old_in) if inputs.get(k) != old_in.get(k))
        diff = sorted(k for k in set(settings) | set(old_set) if settings.get(k) != old_set.get(k))
        why = (f"input changed: {changed[0]}" if changed else f"setting changed: {diff[0]}" if diff
               else "stage code changed")
        if edited:  # the user's own work is never thrown away for a re-run they did not ask for
            return StageState(stage.name, "edited",
                              f"edited by hand: {edited[0]} (kept although {why}; --from {stage.name} re-makes it)")
        return StageState(stage.name, "stale", why)
    if edited:
        return StageState(stage.name, "edited", f"edited by hand: {edited[0]} (kept)")
    return StageState(stage.name, "done", "up to date")


def select(until: str | None = None) -> list[Stage]:
    stages = list(ALL_STAGES)
    if until:
        stages = stages[: STAGES.index(until) + 1]
    return stages


def check_ready(ctx: Context, stages: list[Stage], from_idx: int | None = None, force: bool = False) -> set[str]:
    """Before any stage runs: every backend that the stages due to run will ask for can start (its package is
    installed, its key set). A missing OpenAI or ElevenLabs key is an error now, not after minutes of writing.
    A stage that is done is not checked here (a resume that will not narrate again needs no voice key); one that
    an earlier stage's new output makes stale is checked just before it runs. Returns the names checked."""
    manifest = ctx.story.load_manifest()
    given = Given.in_story(ctx.story)
    checked = set()
    for stage in stages:
        forced = force or (from_idx is not None and STAGES.index(stage.name) >= from_idx)
        if forced or assess(stage, ctx, manifest).state not in ("done", "edited"):
            stage.check_ready(ctx.cfg, given)
            checked.add(stage.name)
    return checked


def check_new_story(cfg: Config, given: Given, until: str | None = None) -> None:
    """``check_ready`` for a story not made yet (every stage up to ``until`` will run): a queue checks a request
    with it before accepting it."""
    for stage in select(until):
        stage.check_ready(cfg, given)


def run_pipeline(ctx: Context, *, until: str | None = None, from_stage: str | None = None, force: bool = False,
                 emit: Callable[[Event], None] = lambda e: None,
                 before_record: Callable[[], None] = lambda: None, node: str | None = None) -> dict[str, Any]:
    """Run (or skip) each stage in order. Returns a summary: {stage: {"ran": bool, "seconds": float, ...}}.

    ``before_record`` runs before each manifest write (the service checks there that it still holds the story's
    lease, so a run presumed dead never overwrites the manifest of the run that took over). ``node`` names the
    machine (or cluster node) that runs the stages; it is recorded per stage (default: this host's name)."""
    node = node or socket.gethostname()
    stages = select(until)
    from_idx = STAGES.index(from_stage) if from_stage else None
    emit({"event": "plan", "stages": [s.name for s in stages]})
    checked = check_ready(ctx, stages, from_idx, force)
    summary: dict[str, Any] = {}
    for stage in stages:
        manifest = ctx.story.load_manifest()
        forced = force or (from_idx is not None and STAGES.index(stage.name) >= from_idx)
        state = assess(stage, ctx, manifest)
        if not forced and state.state == "edited":
            stage.check_edited(ctx)  # a hand-edited output must still be usable by the stages after it
        if not forced and state.state in ("done", "edited"):
            emit({"event": "skip", "stage": stage.name, "why": state.why})
            summary[stage.name] = {"ran": False, "why": state.why}
            continue
        why = "forced" if forced else state.why
        if stage.name not in checked:  # made stale by an earlier stage's new output: checked now, before it runs
            stage.check_ready(ctx.cfg, Given.in_story(ctx.story))
        emit({"event": "start", "stage": stage.name, "why": why})
        t0 = time.perf_counter()

        def progress(fraction: float, message: str = "", _name: str = stage.name) -> None:
            emit({"event": "progress", "stage": _name, "fraction": round(float(fraction), 4), "message": message})

        ctx.progress = progress
        key, inputs, settings = stage_key(stage, ctx)
        result = stage.run(ctx)
        seconds = time.perf_counter() - t0
        # inputs are hashed again after the run: a stage may create its own inputs (copied user files)
        key, inputs, settings = stage_key(stage, ctx)
        before_record()
        ctx.story.record_stage(stage.name, {
            "key": key,
            "provider": result.provider,
            "version": result.version,
            "storygen": __version__,
            "settings": settings,
            "inputs": inputs,
            "outputs": hash_paths(result.outputs, ctx.story.root),
            "seconds": round(seconds, 3),
            "finished": time.time(),
            "node": node,
            "info": result.info,
        })
        for warning in result.info.get("warnings", []):
            emit({"event": "warning", "stage": stage.name, "message": warning})
        emit({"event": "done", "stage": stage.name, "seconds": round(seconds, 3), "provider": result.provider, "node": node})
        summary[stage.name] = {"ran": True, "seconds": round(seconds, 3), "provider": result.provider}
    return summary


def story_status(ctx: Context) -> list[StageState]:
    manifest = ctx.story.load_manifest()
    out: list[StageState] = []
    upstream_dirty = False
    for stage in ALL_STAGES:
        st = assess(stage, ctx, manifest)
        if upstream_dirty and st.state in ("done", "edited"):
            st = StageState(stage.name, "stale", "an earlier stage re-runs first; this one runs again if that changes its inputs")
        if st.state in ("stale", "missing"):
            upstream_dirty = True
        out.append(st)
    return out
