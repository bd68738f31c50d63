"""Stage 5 - captions: one timing per script word. From the voice engine when it knows them, otherwise
ASR with word timestamps aligned back onto the script. Writes words.json, SRT (word and phrase), VTT, ASS."""

from __future__ import annotations

from storygen import layout as L
from storygen.media.ffmpeg import probe
from storygen.providers.registry import get_provider
from storygen.stages.base import Context, Stage, StageResult, load_timings, story_language

STYLE_KEYS = ("style", "font", "size", "primary_color", "highlight_color", "outline_color", "outline", "position", "max_words", "max_chars")


def _language(ctx: Context) -> str:
    """The story's language for ASR and captions (a base code: whisper takes "pt", not "pt-BR")."""
    from storygen.text.language import base

    return base(story_language(ctx))


class CaptionsStage(Stage):
    name = "captions"
    uses = ("asr",)

    def inputs(self, ctx: Context):
        return [ctx.p(L.REVISED), ctx.p(L.VOICE), ctx.p(L.TIMINGS)]

    def settings(self, ctx: Context):
        c = ctx.cfg.public_section("captions")
        s = {"style": {k: c[k] for k in STYLE_KEYS}, "render": {k: ctx.cfg.get(f"render.{k}") for k in ("width", "height")}}
        if load_timings(ctx.p(L.TIMINGS)) is None:
            s["asr"] = {k: c[k] for k in ("asr", "asr_model", "compute_type", "vad_filter")}
        if _language(ctx) != "en":  # line breaking, fonts and ASR follow the language (English keeps its old keys)
            s["language"] = _language(ctx)
        return s

    def outputs(self, ctx: Context):
        return [ctx.p(n) for n in (L.WORDS, L.CAPTIONS_SRT, L.PHRASES_SRT, L.CAPTIONS_VTT, L.CAPTIONS_ASS)]

    def run(self, ctx: Context) -> StageResult:
        from storygen.captions.align import align_to_audio, alignment_report, asr_prompt
        from storygen.captions.formats import write_ass, write_srt, write_vtt, write_words_json

        script = ctx.p(L.REVISED).read_text(encoding="utf-8")
        wav = ctx.p(L.VOICE)
        words = load_timings(ctx.p(L.TIMINGS))
        info: dict = {}
        provider = "voice"
        version = ""
        if words is None:
            asr = get_provider("asr", ctx.cfg)
            ctx.progress(0.1, f"listening with {asr.name}")
            heard = asr.transcribe(wav, language=_language(ctx), prompt=asr_prompt(script, _language(ctx)))
            ctx.progress(0.7, "aligning the script to the audio")
            words = align_to_audio(script, heard, wav, language=_language(ctx))
            info = alignment_report(words)
            if info.get("low_confidence"):
                info["warnings"] = [f"Only {info['matched_share']:.0%} of the script's words were heard in the narration: "
                                    "the captions are spread over the speech and will not follow it word by word. "
                                    "Does the recording read this script, in the script's language?"]
            provider, version = asr.name, asr.version
        duration = probe(wav).duration
        words = [w.model_copy(update={"start": min(w.start, duration), "end": min(w.end, duration)}) for w in words]
        c = ctx.cfg.section("captions")
        write_words_json(words, ctx.p(L.WORDS))
        lang = _language(ctx)
        write_srt(words, ctx.p(L.CAPTIONS_SRT), mode="word", language=lang)
        write_srt(words, ctx.p(L.PHRASES_SRT), mode="phrase", max_words=int(c["max_words"]) + 3, language=lang)
        write_vtt(words, ctx.p(L.CAPTIONS_VTT), language=lang)
        write_ass(words, ctx.p(L.CAPTIONS_ASS), style={k: c[k] for k in STYLE_KEYS},
                  width=int(ctx.cfg.get("render.width")), height=int(ctx.cfg.get("render.height")), language=lang)
        info.update(words=len(words), duration=round(duration, 3))
        return StageResult(self.outputs(ctx), provider=provider, version=version, info=info)

