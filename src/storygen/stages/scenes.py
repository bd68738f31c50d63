"""Stage 6a - scenes: the scene plan that covers the voice's timeline, with a style bible."""

from __future__ import annotations

from storygen import layout as L
from storygen.inputs import user_images
from storygen.media.ffmpeg import probe
from storygen.captions.formats import read_words_json
from storygen.models import StoryIdea
from storygen.planning import plan_scenes, refine_with_writer
from storygen.providers.registry import get_provider
from storygen.stages.base import Context, Stage, StageResult, usage_info, wants_writer, writer_settings
from storygen.workspace import read_json, write_json


def use_writer(ctx: Context) -> bool:
    # auto: the embedded model is too small to storyboard well; bigger writers do it
    return wants_writer(ctx.cfg, ctx.cfg.get("scenes.planner"))


class ScenesStage(Stage):
    name = "scenes"

    def capabilities(self, cfg):
        return ("writer",) if wants_writer(cfg, cfg.get("scenes.planner")) else ()

    def inputs(self, ctx: Context):
        return [ctx.p(L.IDEA), ctx.p(L.WORDS), ctx.p(L.VOICE)]

    def settings(self, ctx: Context):
        s = {"scenes": ctx.cfg.public_section("scenes"), "seed": ctx.cfg.get("keyframes.seed"),
             "user_images": len(user_images(ctx.story))}
        if use_writer(ctx):
            s["writer"] = writer_settings(ctx)
        return s

    def outputs(self, ctx: Context):
        return [ctx.p(L.SCENES)]

    def run(self, ctx: Context) -> StageResult:
        idea = StoryIdea.model_validate(read_json(ctx.p(L.IDEA)))
        words = read_words_json(ctx.p(L.WORDS))
        total = probe(ctx.p(L.VOICE)).duration
        sc = ctx.cfg.section("scenes")
        count = len(user_images(ctx.story)) or int(sc["count"])
        plan = plan_scenes(idea, words, total, min_s=float(sc["min_seconds"]), max_s=float(sc["max_seconds"]),
                           count=count, seed=int(ctx.cfg.get("keyframes.seed")))
        info: dict = {}
        provider = "deterministic"
        version = ""
        if use_writer(ctx):
            writer = get_provider("writer", ctx.cfg)
            ctx.progress(0.2, "storyboarding with the writer")
            plan, comps = refine_with_writer(plan, idea, writer, max_retries=int(ctx.cfg.get("writer.max_retries")))
            provider, version, info = writer.name, writer.version, usage_info(comps)
        write_json(ctx.p(L.SCENES), plan)
        info.update(scenes=len(plan.scenes), duration=round(total, 3))
        return StageResult(self.outputs(ctx), provider=provider, version=version, info=info)
