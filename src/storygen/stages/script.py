"""Stage 2 - script: about 360 spoken words with a hook, or the user's own --script."""

from __future__ import annotations

import difflib
import re
from typing import Any

from storygen import layout as L
from storygen.inputs import USER_SCRIPT
from storygen.models import StoryIdea
from storygen.providers.registry import get_provider
from storygen.stages.base import Context, Stage, StageResult, usage_info, voice_reads_tags, writer_settings
from storygen.workspace import read_json, write_text


CLEANING = 1  # bump when clean_user_script changes what it writes (user scripts are cleaned again)


def _keeps_tags(ctx: Context) -> bool:
    return voice_reads_tags(ctx.cfg)


def _unwrap(text: str) -> str:
    """Join hard-wrapped lines: a line that starts with a small letter goes on the line before it."""
    lines: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if lines and lines[-1].strip() and not lines[-1].lstrip().startswith("#") and re.match(r"\s*[a-z]", line):
            lines[-1] = lines[-1].rstrip() + " " + line.strip()
        else:
            lines.append(line)
    return "\n".join(lines)


def _removed(before: str, after: str, limit: int = 30) -> list[str]:
    """What the clean-up took out of the text, as the user wrote it: whole lines, else runs of words (first ``limit``)."""
    a = [line.strip() for line in before.splitlines() if line.strip()]
    b = [line.strip() for line in after.splitlines() if line.strip()]
    out: list[str] = []

    def add(frag: str) -> None:
        if frag and frag not in out:
            out.append(frag if len(frag) <= 80 else frag[:77] + "...")

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "delete":
            for line in a[i1:i2]:
                add(line)
        elif tag == "replace":
            for line in a[i1:i2]:  # each changed line against the cleaned line most like it
                wa = line.split()
                best = max((difflib.SequenceMatcher(a=wa, b=c.split(), autojunk=False) for c in b[j1:j2]),
                           key=lambda sm: sm.ratio())
                if best.ratio() < 0.5:
                    add(line)
                    continue
                for op, k1, k2, _, _ in best.get_opcodes():
                    if op in ("delete", "replace"):
                        add(" ".join(wa[k1:k2]))
    return out[:limit]


def clean_user_script(raw: str, *, keep_audio_tags: bool = False) -> tuple[str, dict[str, Any]]:
    """A pasted script gets the clean-up model output gets (markdown, titles, speaker labels, stage directions,
    hashtags, handles, emoji): none of it should be spoken or captioned. Never fails: a script the clean-up would
    empty is kept with only its markdown symbols taken off. Returns (text, stage info)."""
    from storygen.writing import clean_script, count_words

    text = clean_script(_unwrap(raw), keep_audio_tags=keep_audio_tags)
    info: dict[str, Any] = {}
    if not any(ch.isalpha() for ch in text):
        light = "\n".join(re.sub(r"^\s*(?:#{1,6}|[-*•+>])\s*", "", line) for line in raw.strip().splitlines())
        light = re.sub(r"(\*\*|__|\*|~~|`)", "", light).strip()
        text = light if any(ch.isalpha() for ch in light) else raw.strip()
        info["warnings"] = ["Cleaning your script (markdown, labels, stage directions) would leave nothing to say; "
                            "it is used as written."]
    removed = _removed(raw, text)
    if removed:
        info["removed"] = removed
        info["removed_words"] = max(0, count_words(raw) - count_words(text))
        info.setdefault("warnings", []).append(
            "Taken out of your script, not to be spoken or captioned (markdown, titles, labels, stage directions, "
            "hashtags): "
            + ", ".join(removed[:8]) + (", ..." if len(removed) > 8 else "") + ".")
    return text, info


class ScriptStage(Stage):
    name = "script"
    uses = ("writer",)

    def needs(self, cfg, given):
        return () if given.script else self.capabilities(cfg)

    def inputs(self, ctx: Context):
        return [ctx.p(L.IDEA), ctx.p(USER_SCRIPT)] if ctx.p(USER_SCRIPT).exists() else [ctx.p(L.IDEA)]

    def settings(self, ctx: Context):
        if ctx.p(USER_SCRIPT).exists():
            return {"source": "file", "clean": CLEANING, "audio_tags": _keeps_tags(ctx)}
        return {"writer": writer_settings(ctx), "script": ctx.cfg.public_section("script")}

    def outputs(self, ctx: Context):
        return [ctx.p(L.SCRIPT)]

    def run(self, ctx: Context) -> StageResult:
        from storygen.writing import count_words

        out = ctx.p(L.SCRIPT)
        if ctx.p(USER_SCRIPT).exists():
            raw = ctx.p(USER_SCRIPT).read_text(encoding="utf-8")  # the copy made of --script; it stays as given
            text, info = clean_user_script(raw, keep_audio_tags=_keeps_tags(ctx))
            write_text(out, text.strip() + "\n")
            return StageResult([out], provider="file", info={"words": count_words(text), **info})
        from storygen.writing import write_script

        idea = StoryIdea.model_validate(read_json(ctx.p(L.IDEA)))
        writer = get_provider("writer", ctx.cfg)
        ctx.progress(0.05, "writing the script")
        text, comps = write_script(writer, idea, ctx.cfg)
        write_text(out, text.strip() + "\n")
        return StageResult([out], provider=writer.name, version=writer.version,
                           info={"words": count_words(text), **usage_info(comps)})
