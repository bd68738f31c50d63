"""Stage 2 - script: about 360 spoken words with a hook, or the user's own --script."""

from __future__ import annotations

from storygen.inputs import USER_SCRIPT
from storygen.models import StoryIdea
from storygen.providers.registry import get_provider
from storygen.stages.base import Context, Stage, StageResult, usage_info
from storygen.stages.idea import writer_settings
from storygen.workspace import read_json, write_text


class ScriptStage(Stage):
    name = "script"

    def inputs(self, ctx: Context):
        return [ctx.p("idea/idea.json"), ctx.p(USER_SCRIPT)] if ctx.p(USER_SCRIPT).exists() else [ctx.p("idea/idea.json")]

    def settings(self, ctx: Context):
        if ctx.p(USER_SCRIPT).exists():
            return {"source": "file"}
        return {"writer": writer_settings(ctx), "script": ctx.cfg.public_section("script")}

    def outputs(self, ctx: Context):
        return [ctx.p("script/script.txt")]

    def run(self, ctx: Context) -> StageResult:
        from storygen.writing import count_words

        out = ctx.p("script/script.txt")
        if ctx.p(USER_SCRIPT).exists():
            text = ctx.p(USER_SCRIPT).read_text(encoding="utf-8")
            write_text(out, text)
            return StageResult([out], provider="file", info={"words": count_words(text)})
        from storygen.writing import write_script

        idea = StoryIdea.model_validate(read_json(ctx.p("idea/idea.json")))
        writer = get_provider("writer", ctx.cfg)
        ctx.progress(0.05, "writing the script")
        text, comps = write_script(writer, idea, ctx.cfg)
        write_text(out, text.strip() + "\n")
        return StageResult([out], provider=writer.name, version=writer.version,
                           info={"words": count_words(text), **usage_info(comps)})
