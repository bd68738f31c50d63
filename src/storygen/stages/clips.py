"""Stage 6c - clips: motion for each scene. Generated video (LTX, SVD) is written to clips/; a Ken Burns
move is recorded as a small description that the final cut renders straight from the keyframe."""

from __future__ import annotations

from pathlib import Path

from storygen.models import ScenePlan
from storygen.providers.registry import get_provider
from storygen.stages.base import Context, Stage, StageResult
from storygen.workspace import read_json, write_json


class ClipsStage(Stage):
    name = "clips"

    def inputs(self, ctx: Context):
        return [ctx.p("scenes/scenes.json"), ctx.p("keyframes")]

    def settings(self, ctx: Context):
        return {"clips": ctx.cfg.public_section("clips")}

    def outputs(self, ctx: Context):
        return [ctx.p("clips/clips.json")]

    def run(self, ctx: Context) -> StageResult:
        plan = ScenePlan.model_validate(read_json(ctx.p("scenes/scenes.json")))
        motion = get_provider("motion", ctx.cfg)
        out_dir = ctx.p("clips")
        out_dir.mkdir(parents=True, exist_ok=True)
        clips = []
        for i, scene in enumerate(plan.scenes):
            ctx.progress(i / len(plan.scenes), f"scene {i + 1}/{len(plan.scenes)}")
            clip = motion.animate(ctx.p(f"keyframes/scene_{scene.index:02d}.png"), scene, out_dir)
            clips.append({"scene": scene.index, "kind": clip.kind, "path": _rel(clip.path, ctx.story.root),
                          "duration": round(clip.duration, 4), "move": clip.move})
        write_json(ctx.p("clips/clips.json"), {"provider": motion.name, "clips": clips})
        return StageResult(self.outputs(ctx), provider=motion.name, version=motion.version, info={"clips": len(clips)})


def _rel(p: Path, root: Path) -> str:
    return Path(p).resolve().relative_to(root).as_posix()
