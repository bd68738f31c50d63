"""Stage 7 - final: the finished short. One video encode (captions burned in, Ken Burns moves and
crossfades), music ducked under the voice, loudness at the platform target, plus a thumbnail, the
caption files and metadata.json at the top of the story folder."""

from __future__ import annotations

import shutil
from pathlib import Path

from storygen import layout as L
from storygen import __version__
from storygen.errors import InputError
from storygen.media.ffmpeg import probe
from storygen.models import ScenePlan, StoryIdea
from storygen.config import Config
from storygen.stages.base import MIN_SECONDS, Context, Given, Stage, StageResult
from storygen.text.language import base, story_hashtags
from storygen.workspace import read_json, write_bytes, write_json

#: a narration quieter than this (integrated LUFS) is silence, not speech
MIN_VOICE_LUFS = -50.0
RENDER_KEYS = ("width", "height", "fps", "crossfade", "preset", "crf", "loudness", "true_peak", "music",
               "music_gain_db", "duck_ratio")


def music_source(cfg: Config) -> Path | None:
    m = str(cfg.get("render.music"))
    if m in ("generated", "none", ""):
        return None
    p = Path(m).expanduser()
    if not p.is_file():
        raise InputError(f"Music file '{m}' (render.music) does not exist.", "set render.music to an audio file, 'generated' or 'none'.")
    return p


class FinalStage(Stage):
    name = "final"

    def check_ready(self, cfg: Config, given: Given) -> None:
        """Before the story starts: a music file named in render.music exists (not found at the final cut)."""
        super().check_ready(cfg, given)
        music_source(cfg)

    def inputs(self, ctx: Context):
        ins = [ctx.p(L.IDEA), ctx.p(L.SCENES), ctx.p(L.CLIPS_DIR), ctx.p(L.KEYFRAMES_DIR),
               ctx.p(L.VOICE), ctx.p(L.CAPTIONS_ASS), ctx.p(L.CAPTIONS_SRT),
               ctx.p(L.CAPTIONS_VTT)]
        m = music_source(ctx.cfg)
        return ins + ([m] if m else [])

    def settings(self, ctx: Context):
        r = ctx.cfg.public_section("render")
        return {"render": {k: r[k] for k in RENDER_KEYS}, "providers": _providers(ctx)}

    def outputs(self, ctx: Context):
        return [ctx.p(n) for n in L.TOP_LEVEL]

    def run(self, ctx: Context) -> StageResult:
        from storygen.captions.formats import read_ass
        from storygen.media.fonts import font_for, user_face
        from storygen.art.moods import pick_mood
        from storygen.media.music import make_music_bed
        from storygen.media.render import RenderJob, Segment, render
        from storygen.media.thumbnail import make_thumbnail, pick_strongest

        voice = ctx.p(L.VOICE)
        total = probe(voice).duration
        if total < MIN_SECONDS:  # before minutes of rendering: the result could only be as short
            raise InputError(f"The final video would be only {total:.2f} s long: the voice (voice/voice.wav) lasts "
                             f"{total:.2f} s, so the voice file looks damaged.",
                             "put a good recording back, or run again with --from voice to make the narration anew.")
        idea = StoryIdea.model_validate(read_json(ctx.p(L.IDEA)))
        plan = ScenePlan.model_validate(read_json(ctx.p(L.SCENES)))
        clips = read_json(ctx.p(L.CLIPS))["clips"]
        r = ctx.cfg.section("render")
        xf = float(r["crossfade"])
        # each segment but the last runs on for one crossfade into the next; sum - (n-1)*xf == voice length
        segments = []
        for i, c in enumerate(clips):
            scene = plan.scenes[i]
            dur = scene.duration + (xf if i < len(clips) - 1 else 0.0)
            segments.append(Segment(kind=c["kind"], path=ctx.story.root / c["path"], duration=dur, move=c.get("move", {})))

        music = music_source(ctx.cfg)
        music_info: dict = {"source": "user", "file": music.name} if music is not None else {"source": "none"}
        warnings: list[str] = []
        if music is None and r["music"] == "generated":
            ctx.progress(0.02, "choosing the music")
            bed = make_music_bed(ctx.p(L.MUSIC), total + 1.0, pick_mood(idea.tone, idea.theme, idea.logline),
                                 seed=int(ctx.cfg.get("keyframes.seed")))
            music = bed.path
            music_info = {k: v for k, v in bed.record().items() if k != "path"}  # no machine paths in the manifest
            warnings += [bed.warning] if bed.warning else []
        # the packaged font the captions name (it draws every caption character), and one for the title: the same
        # when it draws the title too
        ass_family, caption_text = read_ass(ctx.p(L.CAPTIONS_ASS))
        own = str(ctx.cfg.get("captions.font") or "")
        own = own if user_face(own) is not None else None  # the user's font file, when captions.font names one
        family, fonts_dir, _ttf = font_for(caption_text, idea.language, preferred=own or ass_family)
        title_font = font_for(idea.title, idea.language, preferred=own or family)
        job = RenderJob(
            segments=segments, voice_wav=voice, ass_path=ctx.p(L.CAPTIONS_ASS), fonts_dir=fonts_dir,
            out_path=ctx.p(L.FINAL), music=music, width=int(r["width"]), height=int(r["height"]), fps=int(r["fps"]),
            crossfade=xf, preset=str(r["preset"]), crf=int(r["crf"]), threads=int(r["threads"]),
            loudness=float(r["loudness"]), true_peak=float(r["true_peak"]), music_gain_db=float(r["music_gain_db"]),
            duck_ratio=float(r["duck_ratio"]), min_duration=MIN_SECONDS, min_voice_lufs=MIN_VOICE_LUFS,
        )
        # render() checks its result (length against the voice's, to a frame or two; a voice track
        # that is not silent) before it renames it to final.mp4: a wrong video never replaces a good one
        result = render(job, on_progress=lambda f: ctx.progress(0.05 + 0.9 * f, "rendering"))

        make_thumbnail(pick_strongest(_shown_pictures(ctx, plan, clips)), idea.title, ctx.p(L.THUMBNAIL),
                       font_path=title_font.path, family=title_font.family, language=idea.language,
                       width=int(r["width"]), height=int(r["height"]))
        for top, src in L.CAPTION_COPIES.items():
            write_bytes(ctx.p(top), ctx.p(src).read_bytes())
        write_json(ctx.p(L.METADATA), build_metadata(ctx, idea, result.duration))
        shutil.rmtree(ctx.p(L.FINAL_TMP), ignore_errors=True)
        return StageResult(self.outputs(ctx), provider="ffmpeg", version=__version__, info={
            "duration": round(result.duration, 3), "render_seconds": round(result.seconds, 2),
            "loudness": result.loudness, "true_peak": result.true_peak, "passes": result.passes, "frames": result.frames,
            "music": music_info, **({"warnings": warnings} if warnings else {})})


def _shown_pictures(ctx: Context, plan: ScenePlan, clips: list[dict]) -> list[Path]:
    """One picture per scene as the video shows it: the middle frame of a video clip, else the keyframe (the
    thumbnail is chosen among these, so it shows the footage or images actually used)."""
    from storygen.gate import middle_frame

    out: list[Path] = []
    for scene, clip in zip(plan.scenes, clips):
        if clip.get("kind") == "video":
            frame = ctx.p(L.FINAL_TMP) / f"shown_{scene.index:02d}.png"
            frame.parent.mkdir(parents=True, exist_ok=True)
            middle_frame(ctx.story.root / clip["path"]).save(frame)
            out.append(frame)
        else:
            out.append(ctx.p(L.keyframe(scene.index)))
    return out


def credits(ctx: Context) -> list[dict]:
    """Who made the photos and clips the video shows (stock providers ask for it), one entry per item, in scene
    order: a scene's clip when it is a video, else its keyframe."""
    index_path, clips_path = ctx.p(L.KEYFRAME_INDEX), ctx.p(L.CLIPS)
    index = read_json(index_path) if index_path.exists() else {}
    clips = read_json(clips_path)["clips"] if clips_path.exists() else []
    out: list[dict] = []
    for clip in clips:
        shown = clip if clip.get("kind") == "video" else index.get(Path(L.keyframe(clip["scene"])).name, {})
        a = (shown.get("choice") or {}).get("attribution")
        if a and a not in out:
            out.append(a)
    return out


def _providers(ctx: Context) -> dict[str, str]:
    manifest = ctx.story.load_manifest().get("stages", {})
    return {k: v.get("provider", "") for k, v in manifest.items() if k != "final"}


def build_metadata(ctx: Context, idea: StoryIdea, duration: float) -> dict:
    # the theme and tone as tags, unless they are the model's English placeholders on a story in another language
    # (an idea made from the user's own script has no theme or tone of its own)
    placeholders = {StoryIdea.model_fields[k].default for k in ("theme", "tone")} if base(idea.language) != "en" else set()
    tags = ["#" + "".join(ch for ch in w.title() if ch.isalnum()) for w in (idea.theme, idea.tone) if w not in placeholders]
    tags += story_hashtags(idea.language or "en")
    tags = list(dict.fromkeys(t for t in tags if len(t) > 1))
    made_by = credits(ctx)
    credit_line = ("\n\nCredits: " + "; ".join(a.get("credit") or a.get("author", "") for a in made_by)) if made_by else ""
    return {
        "title": idea.title,
        "language": idea.language,
        "description": f"{idea.logline}\n\n{' '.join(tags)}{credit_line}",
        "credits": made_by,
        "hashtags": tags,
        "duration": round(duration, 3),
        "resolution": f"{ctx.cfg.get('render.width')}x{ctx.cfg.get('render.height')}",
        "platforms": idea.audience.platforms,
        "score": idea.potential.overall,
        "providers": _providers(ctx),
        "storygen": __version__,
    }
