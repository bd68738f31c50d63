"""Stage 6c - clips: motion for each scene. Generated video (LTX, SVD) is written to clips/; a Ken Burns
move is recorded as a small description that the final cut renders straight from the keyframe."""

from __future__ import annotations

from pathlib import Path

from storygen import layout as L
from storygen.models import ScenePlan
from storygen.errors import NothingSuitable
from storygen.providers import registry
from storygen.providers.registry import get_provider
from storygen.stages.base import Context, Stage, StageResult
from storygen.workspace import read_json, write_json


class ClipsStage(Stage):
    name = "clips"
    uses = ("motion", "vision")

    def inputs(self, ctx: Context):
        return [ctx.p(L.SCENES), ctx.p(L.KEYFRAMES_DIR)]

    def settings(self, ctx: Context):
        return {"clips": ctx.cfg.public_section("clips"), "vision": ctx.cfg.public_section("vision")}

    def outputs(self, ctx: Context):
        return [ctx.p(L.CLIPS)]

    def run(self, ctx: Context) -> StageResult:
        plan = ScenePlan.model_validate(read_json(ctx.p(L.SCENES)))
        motion = get_provider("motion", ctx.cfg)
        out_dir = ctx.p(L.CLIPS_DIR)
        out_dir.mkdir(parents=True, exist_ok=True)
        clips = []
        fell_back: list[int] = []
        judge = get_provider("vision", ctx.cfg)
        v = ctx.cfg.section("vision")
        for i, scene in enumerate(plan.scenes):
            ctx.progress(i / len(plan.scenes), f"scene {i + 1}/{len(plan.scenes)}")
            keyframe = ctx.p(L.keyframe(scene.index))
            try:
                clip, verdicts = _animate_gated(motion, judge, keyframe, scene, out_dir,
                                                threshold=float(v["threshold"]), max_tries=int(v["max_tries"]))
                choice = clip.info or None
            except NothingSuitable as e:  # nothing suitable for this scene: the offline move over its keyframe
                offline = registry.fallback_provider("motion", ctx.cfg)
                clip, verdicts = _animate_gated(offline, judge, keyframe, scene, out_dir,
                                                threshold=float(v["threshold"]), max_tries=int(v["max_tries"]))
                choice = {"fallback": offline.name, "why": e.problem, "tried": e.record}
                fell_back.append(scene.index)
            entry = {"scene": scene.index, "kind": clip.kind, "path": _rel(clip.path, ctx.story.root),
                     "duration": round(clip.duration, 4), "move": clip.move, "verdicts": verdicts}
            if choice:
                entry["choice"] = choice
            clips.append(entry)
        write_json(ctx.p(L.CLIPS), {"provider": motion.name, "clips": clips})
        info: dict = {"clips": len(clips)}
        if fell_back:
            info["warnings"] = [f"{len(fell_back)} scene(s) had no suitable {motion.name} clip and move over their "
                                f"keyframe instead: scenes {', '.join(map(str, fell_back))}"]
        return StageResult(self.outputs(ctx), provider=motion.name, version=motion.version, info=info)


def _animate_gated(motion, judge, keyframe: Path, scene, out_dir: Path, *, threshold: float, max_tries: int):
    """Generated motion is judged on its middle frame, like a keyframe, and re-made with a new seed below the
    threshold (at most ``max_tries``, best kept). A Ken Burns move shows the already-judged keyframe: no check."""
    from storygen.gate import middle_frame, retry_seed

    clip = motion.animate(keyframe, scene, out_dir)
    if clip.kind != "video":
        return clip, []
    log: list[dict] = []
    best = None
    for attempt in range(max(1, max_tries)):
        if attempt:
            scene = scene.model_copy(update={"seed": retry_seed(scene.seed, attempt)})
            try:
                clip = motion.animate(keyframe, scene, out_dir)
            except NothingSuitable:  # no other candidate to try: the best so far stands
                break
        verdict = judge.judge(middle_frame(clip.path), scene.prompt)
        log.append({"seed": scene.seed, **verdict.model_dump()})
        if best is None or verdict.score > best[0]:
            best = (verdict.score, clip, clip.path.read_bytes())
        if verdict.score >= threshold:
            break
    if best[1] is not clip:  # an earlier try was better: put it back (same file name)
        from storygen.workspace import write_bytes

        write_bytes(best[1].path, best[2])
    return best[1], log


def _rel(p: Path, root: Path) -> str:
    return Path(p).resolve().relative_to(root).as_posix()
