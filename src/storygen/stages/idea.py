"""Stage 1 - idea: the user's idea becomes a typed StoryIdea (title, tone, theme, narrator, audience, score)."""

from __future__ import annotations

from storygen import layout as L
from storygen.inputs import IDEA_JSON, IDEA_TXT
from storygen.models import StoryIdea
from storygen.providers.registry import get_provider
from storygen.stages.base import Context, Stage, StageResult, usage_info, writer_settings
from storygen.text.language import resolve_language
from storygen.workspace import read_json, write_json


class IdeaStage(Stage):
    name = "idea"
    uses = ("writer",)

    def needs(self, cfg, given):
        return () if given.idea else self.capabilities(cfg)

    def inputs(self, ctx: Context):
        return [ctx.p(IDEA_JSON) if ctx.p(IDEA_JSON).exists() else ctx.p(IDEA_TXT)]

    def settings(self, ctx: Context):
        s = {"source": "file"} if ctx.p(IDEA_JSON).exists() else {"writer": writer_settings(ctx),
                                                                     "idea": ctx.cfg.public_section("idea")}
        if ctx.cfg.get("story.language"):  # only when set, so stories made before languages keep their keys
            s["language"] = ctx.cfg.get("story.language")
        return s

    def outputs(self, ctx: Context):
        return [ctx.p(L.IDEA)]

    def run(self, ctx: Context) -> StageResult:
        out = ctx.p(L.IDEA)
        if ctx.p(IDEA_JSON).exists():
            data = read_json(ctx.p(IDEA_JSON))
            idea = StoryIdea.model_validate(data)
            configured = ctx.cfg.get("story.language")
            if configured or "language" not in data:  # --language wins; an idea file without one: detected
                idea = idea.model_copy(update={"language": resolve_language(configured, f"{idea.title}. {idea.logline}")})
            write_json(out, idea)
            return StageResult([out], provider="file", info={"title": idea.title, "language": idea.language})
        from storygen.writing import generate_idea

        writer = get_provider("writer", ctx.cfg)
        ctx.progress(0.05, "thinking up the story")
        idea, comps = generate_idea(writer, ctx.p(IDEA_TXT).read_text(encoding="utf-8"), ctx.cfg)
        write_json(out, idea)
        return StageResult([out], provider=writer.name, version=writer.version,
                           info={"title": idea.title, "overall_score": idea.potential.overall, **usage_info(comps)})
