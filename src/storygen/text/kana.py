"""Japanese readings: kanji and katakana to hiragana, so that espeak-ng (which reads kana only) can speak a script
written with kanji, and so that a script in kana can be matched against an ASR transcript in kanji (and back).

The kanji readings come from ``pykakasi`` (GPL-3.0-or-later, its dictionary in the wheel; the ``[lang-cjk]``
extra). A reading is the dictionary's first one: "瓶" may come out "かめ" where "びん" was meant. For speech
that is a slip a listener forgives; for matching, a few wrong kana among many right ones still match.
Without pykakasi, katakana is still folded to hiragana and kanji are left as they are.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005]")  # kanji, and 々 (the repeat mark)
_KATAKANA = re.compile(r"[\u30a1-\u30f6]")


def has_kanji(text: str) -> bool:
    return bool(HAN.search(text))


@functools.cache
def _kakasi():
    """The converter (loads its dictionary, ~1 s), or None when pykakasi is not installed."""
    try:
        import pykakasi
    except ImportError:
        return None
    return pykakasi.kakasi()


def can_read_kanji() -> bool:
    return _kakasi() is not None


def _fold_katakana(text: str) -> str:
    return _KATAKANA.sub(lambda m: chr(ord(m.group()) - 0x60), text)


def segments(text: str) -> list[tuple[str, str]]:
    """(original, hiragana reading) pieces that together spell ``text``."""
    k = _kakasi()
    if k is None or not has_kanji(text):
        return [(text, _fold_katakana(text))] if text else []
    return [(s["orig"], _fold_katakana(s["hira"]) if has_kanji(s["orig"]) else _fold_katakana(s["orig"]))
            for s in k.convert(text)]


_DOUBLE_TSU = re.compile(r"っ{2,}")


def reading(text: str) -> str:
    """The hiragana reading of ``text``; characters that are not Japanese pass through unchanged.

    A doubled small っ is made single: pykakasi reads 入っ as "いっ" and keeps the script's own っ after it
    ("いっっていました"), on which espeak-ng stalls for seconds."""
    return _DOUBLE_TSU.sub("っ", "".join(r for _o, r in segments(text)))


def reading_chars(words: Sequence[str]) -> tuple[list[str], list[int]]:
    """The reading of the words run together, one kana per item, each with the index of the word it came from.

    The words are converted as one text, so a compound split across ASR tokens ("灯" "台") still reads
    "とうだい"; a piece that spans several words gives its kana to them by their share of its characters.
    """
    owner_of: list[int] = []
    for i, w in enumerate(words):
        owner_of += [i] * len(w)
    chars: list[str] = []
    owners: list[int] = []
    pos = 0
    for orig, read in segments("".join(words)):
        n, m = len(orig), len(read)
        for k, c in enumerate(read):
            chars.append(c)
            owners.append(owner_of[min(pos + (k * n) // max(1, m), len(owner_of) - 1)])
        pos += n
    return chars, owners
