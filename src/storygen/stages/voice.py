"""Stage 4 - voice: narration from the voice provider (or the user's --voice file), then loudness
normalised to the spec's -16 LUFS, silences trimmed, long pauses shortened, 0.5 s / 1.0 s padding."""

from __future__ import annotations

from storygen import layout as L
from storygen.inputs import USER_VOICE_DIR, user_voice
from storygen.models import StoryIdea, WordTiming
from storygen.providers.registry import get_provider
from storygen.stages.base import MIN_SECONDS, Context, Stage, StageResult, story_language
from storygen.workspace import read_json, write_json

POST_KEYS = ("target_lufs", "pad_start", "pad_end", "max_pause")


class VoiceStage(Stage):
    name = "voice"
    uses = ("voice",)

    def needs(self, cfg, given):
        return () if given.voice else self.capabilities(cfg)

    def inputs(self, ctx: Context):
        ins = [ctx.p(L.REVISED), ctx.p(L.IDEA)]
        if user_voice(ctx.story):
            ins.append(ctx.p(USER_VOICE_DIR))
        return ins

    def settings(self, ctx: Context):
        v = ctx.cfg.public_section("voice")
        post = {k: v[k] for k in POST_KEYS}
        if user_voice(ctx.story):
            return {"source": "file", "post": post}
        return {"voice": v, "language": ctx.cfg.get("story.language") or ""}

    def outputs(self, ctx: Context):
        return [ctx.p(L.VOICE), ctx.p(L.TIMINGS), ctx.p(L.VOICE_STATS)]

    def check_edited(self, ctx: Context) -> None:
        """voice.wav edited by hand (or damaged): it must still be a real recording."""
        from storygen.errors import InputError
        from storygen.media.ffmpeg import audio_seconds

        seconds = audio_seconds(ctx.p(L.VOICE))
        if seconds is None or seconds < MIN_SECONDS:
            what = "not readable audio" if seconds is None else f"only {seconds:.2f} s long"
            raise InputError(f"voice/voice.wav was changed outside storygen and is {what}.",
                             "put a good recording back, or run again with --from voice to make the narration anew.")

    def run(self, ctx: Context) -> StageResult:
        from storygen.media.audio import decode_to_wav, postprocess

        raw = ctx.p(L.VOICE_RAW)
        given = user_voice(ctx.story)
        words: list[WordTiming] | None
        if given:
            ctx.progress(0.1, "reading your narration")
            decode_to_wav(given, raw)
            words, provider, version = None, "file", ""
        else:
            from storygen.writing import strip_audio_tags

            idea = StoryIdea.model_validate(read_json(ctx.p(L.IDEA)))
            language = story_language(ctx)
            voice, fallback = pick_voice(ctx.cfg, language)
            text = ctx.p(L.REVISED).read_text(encoding="utf-8")
            _check_caption_font(ctx, text, language)  # before the narration is made (and, with a cloud voice, paid)
            if not voice.reads_audio_tags:
                text = strip_audio_tags(text)
            ctx.progress(0.1, f"speaking with {voice.name}")
            speech = voice.synthesize(text, raw, narrator_gender=idea.narrator_gender, language=language,
                                      on_progress=lambda f: ctx.progress(0.1 + 0.6 * f, f"speaking with {voice.name}"))
            words, provider, version = speech.words, voice.name, voice.version
        ctx.progress(0.7, "normalising loudness, trimming, padding")
        v = ctx.cfg.section("voice")
        words, stats = postprocess(raw, ctx.p(L.VOICE), words, **{k: float(v[k]) for k in POST_KEYS})
        write_json(ctx.p(L.TIMINGS), [w.model_dump() for w in words] if words is not None else None)
        write_json(ctx.p(L.VOICE_STATS), stats)
        info: dict = {"post": stats}
        warnings = [w for w in (length_warning(float(stats.get("duration", 0.0))), None if given else fallback) if w]
        if not given:
            info["language"] = language
        if warnings:
            info["warnings"] = warnings
        return StageResult(self.outputs(ctx), provider=provider, version=version, info=info)



def _check_caption_font(ctx: Context, text: str, language: str) -> None:
    """A script no font can draw (Hebrew, Bengali: none packaged) stops here with the fix, not at the captions
    after the voice: the captions stage's own choice, made early."""
    from storygen.media.fonts import caption_family_for

    caption_family_for(text, language, str(ctx.cfg.get("captions.font") or "") or None)


def pick_voice(cfg, language: str):
    """(voice, warning or None): the configured voice when it speaks ``language``. With ``voice.provider`` left at
    its default (the English Piper voice, no voice.voice) a story in another language falls back to espeak-ng,
    with a warning; a voice chosen by the user that cannot speak the language is an InputError."""
    from storygen.config import DEFAULTS
    from storygen.errors import InputError
    from storygen.providers.registry import provider_class
    from storygen.providers.voice.base import FALLBACK_VOICE
    from storygen.text.language import info

    name = str(cfg.get("voice.provider"))
    settings = cfg.section("voice")
    if provider_class("voice", cfg).speaks(settings, language):
        return get_provider("voice", cfg), None
    lang = info(language)
    chosen = str(settings.get("voice") or "").strip() or str(settings.get("model") or "").strip().lower().endswith(".onnx")
    default = name == DEFAULTS["voice"]["provider"] and not chosen
    if default and provider_class("voice", cfg, FALLBACK_VOICE).speaks(settings, language):
        from storygen.providers.voice.espeak import ROBOTIC

        return get_provider("voice", cfg, FALLBACK_VOICE), (
            f"no {lang.name} voice is configured: the narration falls back to espeak-ng. {ROBOTIC}")
    raise InputError(f"The voice '{name}' cannot speak {lang.name} ({language}).",
                     f"configure a voice that does: -c voice.provider=elevenlabs (eleven_multilingual_v2), "
                     f"-c voice.voice=PATH/{lang.code}_XX-NAME.onnx (a Piper voice in {lang.name}), "
                     "or -c voice.provider=espeak (robotic).")


#: the longest video each platform takes as a short (seconds)
PLATFORM_LIMITS = {"YouTube Shorts": 180, "Instagram Reels": 180, "TikTok": 600}


def length_warning(seconds: float) -> str | None:
    """A warning when the narration is longer than some platforms take as a short; None when it fits them all."""
    too_long = [name for name, limit in PLATFORM_LIMITS.items() if seconds > limit]
    if not too_long:
        return None
    m, s = divmod(int(round(seconds)), 60)
    return (f"the narration is {m}:{s:02d} long, over the limit of {', '.join(too_long)} "
            f"({', '.join(f'{PLATFORM_LIMITS[n] // 60} min' for n in too_long)}): shorten the script for those platforms")
