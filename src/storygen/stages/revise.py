"""Stage 3 - revised: the script made clear for the voice (numbers spelled out, long sentences split).

``revised/script.txt`` is the file to edit by hand: an edit re-runs only the stages after this one.
"""

from __future__ import annotations

from storygen import layout as L
from storygen.providers.registry import get_provider
from storygen.stages.base import (Context, Stage, StageResult, story_language, usage_info, voice_reads_tags,
                                  wants_writer, writer_settings)
from storygen.workspace import write_text


class ReviseStage(Stage):
    name = "revised"

    def capabilities(self, cfg):
        return ("writer",) if wants_writer(cfg, cfg.get("revise.llm")) else ()
    code_version = "2"  # 2: doubled words removed before numbers are spelled out (years like 2024 were cut short)

    def inputs(self, ctx: Context):
        return [ctx.p(L.SCRIPT)]

    def settings(self, ctx: Context):
        s = {"revise": ctx.cfg.public_section("revise"), "voice_provider": ctx.cfg.get("voice.provider")}
        if wants_writer(ctx.cfg, ctx.cfg.get("revise.llm")):
            s["writer"] = writer_settings(ctx)
        if story_language(ctx) != "en":  # the rules differ per language (English keeps the keys it always had)
            s["language"] = story_language(ctx)
        return s

    def outputs(self, ctx: Context):
        return [ctx.p(L.REVISED), ctx.p(L.CHANGES)]

    def run(self, ctx: Context) -> StageResult:
        from storygen.writing import count_words, revise_script

        writer = get_provider("writer", ctx.cfg) if wants_writer(ctx.cfg, ctx.cfg.get("revise.llm")) else None
        text = ctx.p(L.SCRIPT).read_text(encoding="utf-8")
        revised, changes, comps = revise_script(writer, text, ctx.cfg, voice_reads_tags=voice_reads_tags(ctx.cfg),
                                               language=story_language(ctx))
        write_text(ctx.p(L.CHANGES), changes)
        write_text(ctx.p(L.REVISED), revised.strip() + "\n")
        return StageResult(self.outputs(ctx), provider=writer.name if writer else "rules",
                           version=writer.version if writer else "",
                           info={"words": count_words(revised), **usage_info(comps)})

