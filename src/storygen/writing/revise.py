"""Revision for voice clarity: deterministic rules always (numbers and abbreviations spelled out, over-long
sentences split at natural joints, doubled words removed), an optional LLM rewrite (``revise.llm``), optional
ElevenLabs v3 audio tags (``revise.audio_tags`` with ``voice.provider = elevenlabs``), and a readable
sentence-level diff for ``revised/changes.md``."""

from __future__ import annotations

import difflib
import re
from typing import Any

from storygen.providers.writer.base import Completion, Writer
from storygen.text.language import base, count_units, info, unit_name
from storygen.text.numbers import expand_for_speech
from storygen.text.sentences import split_sentences
from storygen.writing.prompts import render
from storygen.writing.script import _script_cfg, drop_unfinished, tokens_per_unit, trim_to_range
from storygen.writing.settings import setting, story_language
from storygen.writing.text import AUDIO_TAGS, clean_script, count_words, join_paragraphs, paragraphs

MAX_TAGS = 6

# split points, best first; each is (regex, how the right-hand part starts)
_TIER1 = re.compile(r"\s*;\s+|\s+[—–-]{1,2}\s+|\s*—\s*")
_TIER2 = re.compile(r",\s+(?=(?:and|but|so|yet|then|or)\s)", re.I)
_TIER3 = re.compile(r"\s+(?=(?:and|but|so)\s+(?:I|he|she|we|they|it|you|my|his|her|our|their|the|then)\b)")


def _words(s: str) -> int:
    return count_words(s)


def _cap(s: str) -> str:
    s = s.lstrip()
    m = re.match(r"^([\"'“‘(\[]*)(\w)", s)
    if not m:
        return s
    return s[: m.start(2)] + m.group(2).upper() + s[m.end(2):]


def _quotes_balanced(s: str) -> bool:
    return s.count('"') % 2 == 0 and s.count("“") == s.count("”")


def split_long_sentence(sentence: str, max_words: int) -> list[str]:
    """Split a sentence longer than ``max_words`` at semicolons, dashes or ', and/but/so...' joints.

    Both halves must keep at least 4 words and quotes may not be split; otherwise it is left alone.
    """
    if _words(sentence) <= max_words:
        return [sentence]
    body = sentence.rstrip()
    m_end = re.search(r"[.!?…]+[\"'”’)]*$", body)
    end = m_end.group(0) if m_end else "."
    core = body[: m_end.start()] if m_end else body
    mid = len(core) / 2
    for pattern in (_TIER1, _TIER2, _TIER3):
        best = None
        for m in pattern.finditer(core):
            left, right = core[: m.start()].rstrip(" ,"), core[m.end():].strip()
            if _words(left) < 4 or _words(right) < 4 or not _quotes_balanced(left):
                continue
            score = abs(m.start() - mid)
            if best is None or score < best[0]:
                best = (score, left, right)
        if best is not None:
            _, left, right = best
            left_end = "." if not left.endswith((".", "!", "?")) else ""
            return split_long_sentence(left + left_end, max_words) + split_long_sentence(_cap(right) + end, max_words)
    return [sentence]


# words English doubles on purpose: grammar ("had had", "that that", "is is"), intensifiers ("very very"),
# interjections and sounds ("knock knock", "bye bye", "ha ha", "tap tap"); a double of any of these stays
_KEEP_DOUBLE = frozenset("""
    had that is do did was were knock bye no yes yeah very so ha haha he hee ho ah aah oh uh um hmm mm la na blah bla
    tut tsk shh hush chop now there well come far long many much more really too go run quick fast faster hurry
    bang boom tap drip tick tock thump bump beep ding dong honk click buzz zoom bow wow yum night goody pretty round
    over again away never please help wait stop hey hello hi okay yay boo choo pom rat tat cha tom tweet meow woof
    quack baa moo oink hiss crack snap pop flip flop splash drum step closer higher lower down up back deeper louder
    bad good big little tiny wee teeny old dead gone sorry thank thanks mama papa dada baby
""".split())
_DOUBLE_RE = re.compile(r"\b([^\W\d_]+)(\s+)\1\b(?!\s+\1\b)", re.I)


def _drop_doubled_words(text: str) -> str:
    """Remove a word typed twice ("the the" -> "the"). Doubles English uses on purpose stay (``_KEEP_DOUBLE``), and
    so do runs of three or more ("tap tap tap"), doubles split by punctuation ("Knock, knock") and numbers.

    Runs on the text as written, before numbers are spelled out: "2020" becomes "twenty twenty", which is no typo.
    """
    def one(m: re.Match[str]) -> str:
        word = m.group(1)
        start = m.start()
        if word.lower() in _KEEP_DOUBLE:
            return m.group(0)
        if re.search(rf"\b{re.escape(word)}\s+$", m.string[:start], re.I):  # the end of a run of three or more
            return m.group(0)
        return word

    return _DOUBLE_RE.sub(one, text)


def _tidy(sentence: str) -> str:
    s = re.sub(r"([!?])\1+", r"\1", sentence)
    s = re.sub(r"\s{2,}", " ", s)
    return s.strip()


def apply_voice_rules(text: str, max_sentence_words: int = 22, language: str = "en") -> str:
    """The deterministic part of the revision; paragraphs are kept. Doubled words go first, on the text as written,
    so that words the number speller writes ("twenty twenty", "nineteen nineteen") are never taken for typos.

    Another ``language`` gets its own number speller and sentence ends; the English-only rules (doubled words,
    splitting at ", and"/", but", abbreviations) never run on it."""
    english = base(language) == "en"
    out = []
    for para in paragraphs(text):
        para = expand_for_speech(_drop_doubled_words(para) if english else para, language)
        sents: list[str] = []
        for s in split_sentences(para):
            sents += split_long_sentence(_tidy(s), max_sentence_words) if english else [_tidy(s)]
        out.append(("" if base(language) in ("ja", "zh") else " ").join(sents))
    return join_paragraphs(out)


def changes_markdown(before: str, after: str, notes: list[str], language: str = "en") -> str:
    """A readable sentence-level diff (difflib) as Markdown; lengths in the language's units (characters in CJK)."""
    a, b = split_sentences(before), split_sentences(after)  # line breaks end sentences
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    blocks = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        lines = [f"- {s}" for s in a[i1:i2]] + [f"+ {s}" for s in b[j1:j2]]
        where = f"Sentence {i1 + 1}" if i2 - i1 <= 1 else f"Sentences {i1 + 1}-{i2}"
        blocks.append(f"### {where}\n\n```diff\n" + "\n".join(lines) + "\n```")
    head = [
        "# Revision changes",
        "",
        *[f"- {n}" for n in notes],
        f"- {unit_name(language).capitalize()}: {count_units(before, language)} -> {count_units(after, language)}; "
        f"sentences: {len(a)} -> {len(b)}; "
        f"changed blocks: {len(blocks)}.",
        "",
    ]
    if not blocks:
        head.append("No changes.")
    return "\n".join(head + ["\n\n".join(blocks)]).rstrip() + "\n"


def _limit_tags(text: str, allowed: set[str], max_tags: int) -> str:
    seen = 0

    def keep(m: re.Match[str]) -> str:
        nonlocal seen
        tag = m.group(1).strip().lower()
        if tag in allowed and seen < max_tags:
            seen += 1
            return f"[{tag}]"
        return ""

    return re.sub(r"\[([^\]\n]{0,40})\]", keep, text)


def revise_script(writer: Writer | None, script: str, cfg: Any, *, voice_reads_tags: bool = False,
                  language: str | None = None) -> tuple[str, str, list[Completion]]:
    """Revise ``script`` for the voice. Returns (revised_text, changes_markdown, completions).
    ``voice_reads_tags``: the voice performs audio tags (its capability), so a rewrite may add a few.
    ``language``: the story's; None = ``story.language``, else detected in the script."""
    lang = language or story_language(cfg, None, script)
    max_words = int(setting(cfg, "revise.max_sentence_words"))
    use_llm = bool(setting(cfg, "revise.llm"))  # "auto" is settled by the caller: it passes a writer or None
    tags = bool(setting(cfg, "revise.audio_tags") and voice_reads_tags)
    _, lo, hi, _ = _script_cfg(cfg, lang)

    def count_words(t: str) -> int:
        return count_units(t, lang)

    comps: list[Completion] = []
    notes: list[str] = []
    text = script.strip()
    if use_llm and writer is not None:
        tags_line = " " + render("revise_tags", cfg, max_tags=MAX_TAGS, tags=", ".join(f"[{t}]" for t in AUDIO_TAGS)) if tags else ""
        messages = [
            {"role": "system", "content": render("system", cfg, language=lang)},
            {"role": "user", "content": render("revise_user", cfg, language=lang, script=text, min=lo, max=hi,
                                               tags_line=tags_line)},
        ]
        c = writer.complete(messages, max_tokens=int(hi * tokens_per_unit(lang)) + 80)
        comps.append(c)
        cand = drop_unfinished(clean_script(c.text, keep_audio_tags=tags))
        if tags:
            cand = _limit_tags(cand, set(AUDIO_TAGS), MAX_TAGS)
        n = count_words(cand)
        orig_n = count_words(text)
        lo_ok, hi_ok = min(lo, orig_n), max(hi, orig_n)  # never demand more than the input already met
        if not lo_ok <= n <= hi_ok:
            cand = trim_to_range(cand, lo_ok, hi_ok, None, lang) or ""
        if cand:
            text = cfg.redact(cand) if hasattr(cfg, "redact") else cand
            notes.append(f"LLM rewrite for the ear by {c.model}" + (" with ElevenLabs v3 audio tags" if tags else "") + ".")
        else:
            notes.append(f"LLM rewrite by {c.model} discarded: {n} words, outside {lo_ok}-{hi_ok}.")
    revised = apply_voice_rules(text, max_words, lang)
    if base(lang) == "en":
        notes.insert(0, f"Rules: numbers, money, years, times and abbreviations spelled out; sentences over {max_words} "
                        "words split; doubled words removed (not intentional ones like \"had had\" or \"knock knock\").")
    else:
        notes.insert(0, f"Rules ({info(lang).name}): numbers, dates, money, times, ordinals and phone numbers spelled "
                        "out as spoken.")
    return revised, changes_markdown(script, revised, notes, lang), comps
