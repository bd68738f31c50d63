"""The sentence splitter every layer uses (script clean-up and revision, TTS chunking, Piper's sentence pauses).

A sentence ends at ``. ! ? …`` (closing quotes and brackets stay with it) followed by a space, unless:
the word is an abbreviation ("Dr.", "e.g.", "a.m.", "Jan."), a single-letter initial, or "No." before a
number; or the next word starts in lower case ("Wait... what", '"Stop!" she said'). A line break always
ends a sentence. Other scripts' enders count too: ``。！？`` (CJK, where no space follows: a sentence ends there
even inside a run of text), ``؟`` (Arabic), ``।`` (Devanagari); Spanish ``¿¡`` open a sentence like a quote.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import overload

ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "st", "mt", "jr", "sr", "prof", "vs", "etc", "e.g", "i.e", "ft", "approx",
    "a.m", "p.m", "u.s", "u.k", "inc", "ltd", "co", "ave", "blvd", "rd", "gen", "col", "capt", "sgt", "lt",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})
_BEFORE_NUMBER = frozenset({"no"})  # "No. 5" is an abbreviation, "He said no. Then" ends a sentence
_CLOSERS = "\"'”’)]»」』）】"
_OPENERS = "\"'“‘([¿¡«「『（【"
_END = ".!?…。！？؟।"
_CJK_END = "。！？"
# a CJK sentence end inside a token ("晴れた。雨が" is one token): split after it and its closing brackets
# (after a closing quote only when another quote opens: 「雨だ！」と言った is one sentence)
_CJK_SPLIT = re.compile(r"(?<=[。！？])(?=[^\s\"”’」』）】])|(?<=[。！？][」』）】])(?=[「『（])")
_BREAKS = (",", ";", ":", "—")  # where an over-long sentence may be cut (``max_words``)
_TOKEN = re.compile(r"\S+")


def _token_spans(line: str) -> list[tuple[int, int]]:
    """Whitespace tokens, with a token cut after each CJK sentence end inside it."""
    out = []
    for m in _TOKEN.finditer(line):
        start = m.start()
        for cut in _CJK_SPLIT.finditer(m.group(0)):
            end = m.start() + cut.end()
            out.append((start, end))
            start = end
        out.append((start, m.end()))
    return out


def _ends_sentence(token: str, following: str) -> bool:
    core = token.rstrip(_CLOSERS)
    if not core.endswith(tuple(_END)):
        return False
    if core.endswith(tuple(_CJK_END)):
        return True
    if following[:1].islower():
        return False  # "... wait... what" is one sentence
    word = core.rstrip(_END)
    if core[len(word):] == ".":
        word = word.lstrip(_OPENERS).lower()
        if word in ABBREVIATIONS or re.fullmatch(r"[a-z]", word):
            return False  # "Dr. Smith", "e.g. this", initials
        if word in _BEFORE_NUMBER and following[:1].isdigit():
            return False
    return True


def _bounds(tokens: Sequence[str], max_words: int | None) -> list[tuple[int, int]]:
    """(first, one past the last) token of each sentence."""
    out: list[tuple[int, int]] = []
    start = 0
    for i, tok in enumerate(tokens):
        n = i + 1 - start
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if _ends_sentence(tok, following) or (max_words is not None and (
                n >= max_words and tok.rstrip(_CLOSERS).endswith(_BREAKS) or n >= 2 * max_words)):
            out.append((start, i + 1))
            start = i + 1
    if start < len(tokens):
        out.append((start, len(tokens)))
    return out


@overload
def split_sentences(text: str, *, max_words: int | None = None) -> list[str]: ...
@overload
def split_sentences(text: Sequence[str], *, max_words: int | None = None) -> list[list[str]]: ...


def split_sentences(text: str | Sequence[str], *, max_words: int | None = None) -> list[str] | list[list[str]]:
    """Split prose into sentences, keeping end punctuation and closing quotes; each sentence is the exact
    text it spans. Given a list of words (caption words) instead, group them into lists of words.

    ``max_words``: also cut a sentence that reaches that many words at its next comma, semicolon, colon or
    dash, and in any case at twice as many (a TTS engine's input stays short).
    """
    if not isinstance(text, str):
        words = list(text)
        return [words[a:b] for a, b in _bounds(words, max_words)]
    out: list[str] = []
    for line in text.split("\n"):
        spans = _token_spans(line)
        for a, b in _bounds([line[s:e] for s, e in spans], max_words):
            out.append(line[spans[a][0]:spans[b - 1][1]])
    return out
