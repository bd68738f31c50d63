"""The script: about 360 spoken words with a hook, in the voice the idea asks for, always inside the
configured word range. Length is enforced by asking again, by a targeted expansion or shortening, or by
dropping whole sentences/paragraphs from the middle (never a cut mid-sentence)."""

from __future__ import annotations

import re
from typing import Any

from storygen.errors import ProviderError
from storygen.models import StoryIdea
from storygen.providers.writer.base import Completion, Writer
from storygen.text.language import count_units, info, unit_name, units_for
from storygen.text.sentences import split_sentences
from storygen.writing.prompts import render
from storygen.writing.settings import setting, story_language
from storygen.writing.text import clean_script, dedupe_sentences, join_paragraphs, paragraphs

TOKENS_PER_WORD = 1.45  # generous for English prose in Qwen/Llama tokenizers (measured ~1.3)


def _script_cfg(cfg: Any, language: str = "en") -> tuple[int, int, int, int]:
    """(target, min, max, attempts). The script.*_words settings are English words; for another language they
    become the same spoken duration in its units (its words, or characters for ja/zh/th: ``units_for``)."""
    target, lo, hi, attempts = (int(setting(cfg, f"script.{k}"))
                                for k in ("target_words", "min_words", "max_words", "max_attempts"))
    if lo > hi:
        lo, hi = hi, lo
    target = min(max(target, lo), hi)
    target, lo, hi = (units_for(x, language) for x in (target, lo, hi))
    return target, lo, hi, max(1, attempts)


def tokens_per_unit(language: str = "en") -> float:
    return TOKENS_PER_WORD if info(language).code == "en" else info(language).tokens_per_unit


def _ends_sentence(text: str) -> bool:
    return bool(re.search(r"[.!?…。！？؟।][\"'”’)」』）»]*\s*$", text.strip()))


def drop_unfinished(text: str) -> str:
    """Remove a trailing sentence that was cut off (a reply that hit max_tokens)."""
    text = text.strip()
    if not text or _ends_sentence(text):
        return text
    paras = paragraphs(text)
    last = split_sentences(paras[-1])
    if len(last) > 1:
        paras[-1] = " ".join(last[:-1])
    else:
        paras = paras[:-1]
    return join_paragraphs(paras)


def trim_to_range(text: str, lo: int, hi: int, target: int | None = None, language: str = "en") -> str | None:
    """Shorten ``text`` into lo..hi words (``language``'s units) by removing whole paragraphs or sentences from
    the middle. The opening (the hook) and the ending (the payoff) are kept. Returns None when no such cut exists.
    """
    def count_words(t: str) -> int:
        return count_units(t, language)

    n = count_words(text)
    if n <= hi:
        return text if n >= lo else None
    target = target or (lo + hi) // 2
    paras = paragraphs(text)
    # 1) one whole middle paragraph
    best: tuple[int, list[str]] | None = None
    for i in range(1, len(paras) - 1):
        cand = paras[:i] + paras[i + 1:]
        m = count_words(join_paragraphs(cand))
        if lo <= m <= hi and (best is None or abs(m - target) < best[0]):
            best = (abs(m - target), cand)
    if best is not None:
        return join_paragraphs(best[1])
    # 2) sentences from the middle outward, keeping the first two and the last three sentences
    flat = [(pi, s) for pi, p in enumerate(paras) for s in split_sentences(p)]
    if len(flat) < 6:
        return None
    protected = set(range(2)) | set(range(len(flat) - 3, len(flat)))
    order = sorted((i for i in range(len(flat)) if i not in protected), key=lambda i: abs(i - len(flat) * 0.55))
    removed: set[int] = set()
    for i in order:
        removed.add(i)
        kept: dict[int, list[str]] = {}
        for j, (pi, s) in enumerate(flat):
            if j not in removed:
                kept.setdefault(pi, []).append(s)
        cand = join_paragraphs([" ".join(v) for _, v in sorted(kept.items())])
        m = count_words(cand)
        if m <= hi:
            return cand if m >= lo else None
    return None


def insert_before_ending(text: str, addition: str) -> str:
    """Put new sentences just before the final paragraph (or the final sentence of a one-paragraph script)."""
    paras = paragraphs(text)
    addition = " ".join(paragraphs(addition))
    if len(paras) >= 2:
        return join_paragraphs(paras[:-1] + [addition, paras[-1]])
    sents = split_sentences(text)
    if len(sents) >= 2:
        return join_paragraphs([" ".join(sents[:-1]) + " " + addition, sents[-1]])
    return join_paragraphs([addition, text])


def _voice_line(idea: StoryIdea, cfg: Any, language: str = "en") -> str:
    return render("script_first_person" if idea.narration == "first_person" else "script_narrator", cfg,
                  language=language)


def script_messages(idea: StoryIdea, cfg: Any, words: int, beats: list[str] | None = None,
                    language: str | None = None) -> list[dict[str, str]]:
    lang = language or story_language(cfg, idea)
    user = render("script_user", cfg, language=lang, words=words, title=idea.title, logline=idea.logline,
                  tone=idea.tone, theme=idea.theme, voice=_voice_line(idea, cfg, lang), source=idea.source)
    if beats:
        user += "\n" + render("script_beats", cfg, language=lang,
                              beats="\n".join(f"{i}. {b}" for i, b in enumerate(beats, 1)))
    return [{"role": "system", "content": render("system", cfg, language=lang)}, {"role": "user", "content": user}]


def parse_beats(text: str, most: int = 7) -> list[str]:
    """The numbered lines of an outline reply ("1. ...", "2) ...", "Beat 3: ..."), labels like "Hook:" kept."""
    beats = []
    for line in (text or "").splitlines():
        m = re.match(r"^\s*(?:beat\s*)?\d{1,2}\s*[.):-]\s*(.+)$", line, re.I)
        if m:
            beat = " ".join(m.group(1).replace("*", "").split())
            if len(beat.split()) >= 3:
                beats.append(beat[:200])
    return beats[:most]


def outline(writer: Writer, idea: StoryIdea, cfg: Any) -> tuple[list[str], Completion]:
    """A 5-beat plan for the script (script.outline): small models keep the premise better when they write
    from one. Fewer than 3 usable beats means no plan (the script is written without one)."""
    lang = story_language(cfg, idea)
    c = writer.complete([
        {"role": "system", "content": render("system", cfg, language=lang)},
        {"role": "user", "content": render("script_outline", cfg, language=lang, title=idea.title,
                                           logline=idea.logline, tone=idea.tone)},
    ], max_tokens=int(220 * tokens_per_unit(lang) / TOKENS_PER_WORD))
    beats = parse_beats(c.text)
    return (beats if len(beats) >= 3 else []), c


def write_script(writer: Writer, idea: StoryIdea, cfg: Any) -> tuple[str, list[Completion]]:
    """Write the narration for ``idea``; returns (text, completions). ProviderError after script.max_attempts calls."""
    lang = story_language(cfg, idea)
    target, lo, hi, max_attempts = _script_cfg(cfg, lang)
    per_unit = tokens_per_unit(lang)

    def count_words(t: str) -> int:
        return count_units(t, lang)

    # Small models write ~75 % of the words they are asked for; a writer may declare that bias
    # (``length_bias``, e.g. the packaged 1.5B model) so the first draft lands in range more often.
    # Overshooting is cheap (whole sentences are dropped from the middle); undershooting costs a call.
    bias = float(writer.length_bias or 1.0)
    ask = int(round(target * bias / 10.0)) * 10
    comps: list[Completion] = []
    beats: list[str] = []
    if bool(setting(cfg, "script.outline")):  # a bool key: -c and TOML give True/False
        beats, c = outline(writer, idea, cfg)
        comps.append(c)
    planned = len(comps)  # the outline call does not count against script.max_attempts
    base = script_messages(idea, cfg, ask, beats, lang)

    def call(messages: list[dict[str, str]], words: int) -> str:
        c = writer.complete(messages, max_tokens=int(words * per_unit) + 60)
        comps.append(c)
        out = dedupe_sentences(clean_script(c.text))
        if c.extra.get("finish_reason") == "length" or not _ends_sentence(out):
            out = drop_unfinished(out)
        return cfg.redact(out) if cfg is not None and hasattr(cfg, "redact") else out

    text = call(base, max(hi, int(ask * 1.15)))
    expand_failed = False
    history: list[int] = []
    while True:
        n = count_words(text)
        history.append(n)
        if lo <= n <= hi:
            return text, comps
        if n > hi:
            cut = trim_to_range(text, lo, hi, target, lang)
            if cut is not None:
                return cut, comps
        if len(comps) - planned >= max_attempts:
            raise ProviderError(
                f"The writer could not write a script of {lo}-{hi} {unit_name(lang)} in {len(comps) - planned} tries "
                f"(got {', '.join(map(str, history))} {unit_name(lang)}).",
                "raise script.max_attempts, widen script.min_words/max_words, or use a stronger writer model.",
            )
        # a rewrite that came back no longer (a small model repeating its draft) is not asked for again:
        # passages are added to the draft instead, as many as it takes
        stalled = len(history) >= 2 and n <= history[-2]
        if n > hi:  # too long and no clean cut: a targeted shortening
            text = call([
                {"role": "system", "content": render("system", cfg, language=lang)},
                {"role": "user", "content": render("script_shorten", cfg, language=lang, script=text, got=n, words=target,
                                                   min=lo, max=hi)},
            ], hi)
        elif (n >= lo // 2 or stalled) and not expand_failed:  # short: add a passage before the ending
            # small models write long passages badly: at most ~160 words (in the language's units)
            missing = min(max(target - n, units_for(20, lang)), units_for(160, lang))
            addition = call([
                {"role": "system", "content": render("system", cfg, language=lang)},
                {"role": "user", "content": render("script_expand", cfg, language=lang, script=text, missing=missing)},
            ], missing + 60)
            if count_words(addition) < units_for(5, lang):
                expand_failed = True
            elif count_words(addition) >= lo * 0.8:  # it rewrote the whole script instead: take that
                text = addition
            else:
                text = dedupe_sentences(insert_before_ending(text, addition))
        else:  # far too short (or expansion failed): write it again with the count fed back
            text = call(base + [
                {"role": "assistant", "content": text},
                {"role": "user", "content": render("script_retry", cfg, language=lang, got=n, min=lo, max=hi,
                                                   words=target)},
            ], hi)
