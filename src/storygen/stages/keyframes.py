"""Stage 6b - keyframes: one still per scene from the image provider (or the user's --images), each
checked by the vision judge; below the threshold it is regenerated with a new seed, at most N tries.

Per-scene caching: a scene whose prompt, seed and settings did not change keeps its image.
"""

from __future__ import annotations

from PIL import Image, ImageOps

from storygen import layout as L
from storygen.inputs import USER_IMAGES_DIR, user_images
from storygen.models import ScenePlan
from storygen.errors import NothingSuitable
from storygen.providers import registry
from storygen.providers.registry import get_provider
from storygen.stages.base import Context, Stage, StageResult
from storygen.workspace import atomic_path, hash_file, hash_obj, read_json, write_json

OUT_W, OUT_H = 1080, 1920


class KeyframesStage(Stage):
    name = "keyframes"
    uses = ("images", "vision")
    code_version = "1"

    def needs(self, cfg, given):
        return ("vision",) if given.images else self.capabilities(cfg)

    def inputs(self, ctx: Context):
        ins = [ctx.p(L.SCENES)]
        if user_images(ctx.story):
            ins.append(ctx.p(USER_IMAGES_DIR))
        return ins

    def settings(self, ctx: Context):
        if user_images(ctx.story):
            return {"source": "folder", "vision": ctx.cfg.public_section("vision")}
        return {"keyframes": ctx.cfg.public_section("keyframes"), "vision": ctx.cfg.public_section("vision")}

    def outputs(self, ctx: Context):
        plan = ScenePlan.model_validate(read_json(ctx.p(L.SCENES)))
        return [ctx.p(L.keyframe(s.index)) for s in plan.scenes] + [ctx.p(L.VERDICTS)]

    def run(self, ctx: Context) -> StageResult:
        plan = ScenePlan.model_validate(read_json(ctx.p(L.SCENES)))
        given = user_images(ctx.story)
        judge = get_provider("vision", ctx.cfg)
        k = ctx.cfg.section("keyframes")
        v = ctx.cfg.section("vision")
        index_path = ctx.p(L.KEYFRAME_INDEX)
        index = read_json(index_path) if index_path.exists() else {}
        verdicts: dict = {}
        accepted: list[Image.Image] = []
        gen = None if given else get_provider("images", ctx.cfg)
        choices: dict = {}  # scene file -> what the provider chose and why (stock photos: scores, attribution)
        n = len(plan.scenes)
        for i, scene in enumerate(plan.scenes):
            out = ctx.p(L.keyframe(scene.index))
            if given:
                src = given[i % len(given)]
                key = hash_obj({"file": hash_file(src)})
            else:
                key = hash_obj({"scene": scene.model_dump(mode="json"), "style": plan.style.model_dump(mode="json"),
                                "k": ctx.cfg.public_section("keyframes"), "v": ctx.cfg.public_section("vision"), "gen": gen.version})
            cached = index.get(out.name)
            if cached and cached.get("key") == key and out.exists() and hash_file(out) == cached.get("sha"):
                verdicts[out.name] = cached.get("verdicts", [])
                if cached.get("choice"):
                    choices[out.name] = cached["choice"]
                with Image.open(out) as im:
                    accepted.append(im.convert("RGB").copy())
                ctx.progress((i + 1) / n, f"scene {i + 1}/{n} (kept)")
                continue
            ctx.progress(i / n, f"scene {i + 1}/{n}")
            if given:
                with Image.open(src) as im:
                    img = ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"), (OUT_W, OUT_H), Image.Resampling.LANCZOS)
                verdict = judge.judge(img, scene.prompt, others=accepted)
                log = [{"seed": None, "prompt": scene.prompt, **verdict.model_dump()}]
            else:
                img, log, choice = _gated(ctx, gen, scene, plan, k, v, judge, accepted)
                if choice:
                    choices[out.name] = choice
            with atomic_path(out) as tmp:
                img.save(tmp, format="PNG", compress_level=1)
            accepted.append(img)
            verdicts[out.name] = log
            index[out.name] = {"key": key, "sha": hash_file(out), "verdicts": log, "choice": choices.get(out.name)}
            write_json(index_path, index)
        write_json(ctx.p(L.VERDICTS), verdicts)
        info: dict = {"judge": judge.name, "scenes": n}
        if choices:
            info["choices"] = choices
            fell_back = sorted(f for f, c in choices.items() if c.get("fallback"))
            if fell_back:
                info["warnings"] = [f"{len(fell_back)} scene(s) had no suitable {gen.name} picture and were drawn offline: "
                                    + ", ".join(fell_back)]
        return StageResult(self.outputs(ctx), provider="folder" if given else gen.name,
                           version="" if given else gen.version, info=info)


def _gated(ctx: Context, gen, scene, plan: ScenePlan, k: dict, v: dict, judge, accepted: list):
    """One scene's keyframe through the quality gate: (image, verdict log, choice record or None). A scene the
    provider has nothing suitable for is drawn by the offline default, and the record says why."""
    from storygen.gate import gate_keyframe

    records: dict[int, dict] = {}
    try:
        img, log = gate_keyframe(_maker(gen, scene, plan, k, records), judge, scene, threshold=float(v["threshold"]),
                                 max_tries=int(v["max_tries"]), others=accepted)
        return img, log, records.get(id(img))
    except NothingSuitable as e:
        offline = registry.fallback_provider("images", ctx.cfg)
        img, log = gate_keyframe(_maker(offline, scene, plan, k, records), judge, scene, threshold=float(v["threshold"]),
                                 max_tries=int(v["max_tries"]), others=accepted)
        return img, log, {"fallback": offline.name, "why": e.problem, "tried": e.record}


def _maker(gen, scene, plan: ScenePlan, k: dict, records: dict[int, dict]):
    """generate(seed, prompt, negative) for the quality gate, at the provider's size, fitted to 1080x1920. What a
    provider says it chose (``image.info["storygen_choice"]``) is kept in ``records`` by the fitted image's id."""
    native = gen.draws_at_output_size

    def make(seed: int, prompt: str, negative: str | None = None) -> Image.Image:
        update = {"prompt": prompt, "seed": seed}
        if negative:
            update["negative_prompt"] = negative
        sc = scene.model_copy(update=update)
        im = gen.generate(sc, plan.style, width=OUT_W if native else int(k["width"]),
                          height=OUT_H if native else int(k["height"]), seed=seed)
        choice = im.info.get("storygen_choice")
        fitted = ImageOps.fit(im.convert("RGB"), (OUT_W, OUT_H), Image.Resampling.LANCZOS)
        if choice:
            records[id(fitted)] = choice
        return fitted

    return make
