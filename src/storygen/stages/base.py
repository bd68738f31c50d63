"""What every stage shares: the context it runs in and the result it hands the manifest.

A stage reads its inputs from the story folder, asks its provider for work, writes its outputs
atomically and returns a StageResult. It never knows which provider it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storygen import layout as L
from storygen.config import Config
from storygen.inputs import RunOptions
from storygen.models import WordTiming
from storygen.providers import registry
from storygen.workspace import Story

__all__ = ["Context", "RunOptions", "Stage", "StageResult", "MIN_SECONDS", "load_timings", "story_language", "usage_info", "voice_reads_tags",
           "wants_writer", "writer_is_small", "writer_settings"]

#: a narration shorter than this is a damaged file, not a voice-over (checked by the voice and final stages)
MIN_SECONDS = 1.0


@dataclass
class Context:
    story: Story
    cfg: Config
    options: RunOptions
    progress: Callable[[float, str], None] = lambda fraction, message="": None

    def p(self, rel: str) -> Path:
        return self.story.path(rel)


@dataclass
class StageResult:
    outputs: list[Path]
    provider: str = ""
    version: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Given:
    """What the user gave for a story that stands in for a backend: a ready idea (an idea file, or the idea made
    from their script), their script, their narration, their pictures."""

    idea: bool = False
    script: bool = False
    voice: bool = False
    images: bool = False

    @classmethod
    def in_story(cls, story: Story) -> Given:
        from storygen.inputs import user_images, user_voice

        return cls(idea=story.path(L.IDEA_INPUT_JSON).exists(), script=story.path(L.USER_SCRIPT).exists(),
                   voice=user_voice(story) is not None, images=bool(user_images(story)))


class Stage:
    """One step of the pipeline. Subclasses set ``name`` and implement the three methods."""

    name: str = ""
    code_version: str = "1"  # bump when a stage's own logic changes what it writes
    uses: tuple[str, ...] = ()  # the provider capabilities it may ask for (a scale-out engine routes by them)

    def capabilities(self, cfg: Config) -> tuple[str, ...]:
        """The capabilities this stage asks for under ``cfg`` (for routing: a GPU stage goes to a GPU worker)."""
        return self.uses

    def needs(self, cfg: Config, given: Given) -> tuple[str, ...]:
        """The capabilities a run of this stage asks for, when the user gave ``given`` (their own files stand in
        for some backends)."""
        return self.capabilities(cfg)

    def check_ready(self, cfg: Config, given: Given) -> None:
        """Before the story starts: each backend this stage will ask for can start (installed; its key set)."""
        for capability in self.needs(cfg, given):
            registry.check_ready(capability, cfg)

    def inputs(self, ctx: Context) -> list[Path]:
        """Files (or folders) whose content decides this stage's output."""
        raise NotImplementedError

    def settings(self, ctx: Context) -> dict[str, Any]:
        """Config (no secrets) that decides this stage's output."""
        return {}

    def outputs(self, ctx: Context) -> list[Path]:
        """Files this stage promises; if any is missing the stage runs again."""
        raise NotImplementedError

    def run(self, ctx: Context) -> StageResult:
        raise NotImplementedError

    def check_edited(self, ctx: Context) -> None:
        """Called when an output was edited by hand and is kept: raise InputError if it is no longer usable."""


def writer_is_small(cfg: Config) -> bool:
    """True when the configured writer is too small to storyboard or rewrite well (its ``small`` capability),
    decided without loading it."""
    return bool(registry.provider_class("writer", cfg).small(cfg.section("writer")))


def voice_reads_tags(cfg: Config) -> bool:
    """Whether the configured voice performs [whispers]-style audio tags (its ``reads_audio_tags`` capability);
    every other voice would read them out, so they are stripped or never written for it."""
    return bool(registry.provider_class("voice", cfg).reads_audio_tags)


def wants_writer(cfg: Config, value: object) -> bool:
    """Resolve an "auto" / true / false switch that decides whether a stage asks the writer."""
    v = str(value).strip().lower()
    if v == "auto":
        return not writer_is_small(cfg)
    return v in ("1", "true", "yes", "on", "writer", "llm")


def usage_info(completions: list[Any]) -> dict[str, Any]:
    """Tokens, seconds and cost of a list of writer Completions, for the manifest."""
    cost = [c.cost_usd for c in completions if getattr(c, "cost_usd", None) is not None]
    return {
        "calls": len(completions),
        "prompt_tokens": sum(getattr(c, "prompt_tokens", 0) for c in completions),
        "completion_tokens": sum(getattr(c, "completion_tokens", 0) for c in completions),
        "llm_seconds": round(sum(getattr(c, "seconds", 0.0) for c in completions), 2),
        "cost_usd": round(sum(cost), 6) if cost else None,
        "model": completions[-1].model if completions else "",
    }


def writer_settings(ctx: Context) -> dict:
    """The writer settings that decide what it writes (not how long it may take)."""
    s = ctx.cfg.public_section("writer")
    s.pop("timeout", None), s.pop("max_retries", None), s.pop("threads", None), s.pop("gpu_layers", None)
    return s


def load_timings(path: Path) -> list[WordTiming] | None:
    """The voice's word timings (voice/timings.json), or None when the voice engine gave none."""
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    return None if data is None else [WordTiming.model_validate(w) for w in data]


def story_language(ctx: Context) -> str:
    """The story's language: ``story.language`` when set, else what the idea stage recorded, else English."""
    from storygen.models import StoryIdea
    from storygen.text.language import parse_language
    from storygen.workspace import read_json

    code = str(ctx.cfg.get("story.language") or "").strip()
    if not code and ctx.p(L.IDEA).exists():
        code = StoryIdea.model_validate(read_json(ctx.p(L.IDEA))).language
    return parse_language(code or "en")
