"""Where a caption or title line may break, by the language's rules.

Languages written with spaces break at spaces. Chinese, Japanese and Thai, written without them, may break
between any two characters (grapheme clusters: a letter with its marks), except:
  * never before closing punctuation, small kana or the long-vowel mark ("。", "、", "」", "っ", "ー");
  * never after opening brackets and quotes ("「", "（", "“");
  * never inside a run of Latin letters or digits ("NASA", "2024");
  * Thai: never after a leading vowel (เ แ โ ใ ไ) or before a following vowel or repeat mark (ะ า ำ ๆ ฯ).
Thai is split between clusters, with no dictionary: a line may break inside a word, never inside a syllable's
letter-and-marks cluster.
"""

from __future__ import annotations

import unicodedata

#: languages written without spaces between words
NO_SPACES = frozenset({"ja", "zh", "th"})
CLOSING = frozenset("、。，．,.!?！？;；:：)）]］}｝〕〉》」』】〙〗〟’”»›…‥ー～ゝゞヽヾ々〻・"
                    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ؟،؛")
OPENING = frozenset("(（[［{｛〔〈《「『【〘〖〝‘“«‹¿¡")
THAI_LEADING = frozenset("เแโใไ")
THAI_FOLLOWING = frozenset("ะาำๅๆฯ")
RTL_BIDI = frozenset({"R", "AL"})


def base(language: str | None) -> str:
    return (language or "en").split("-")[0].split("_")[0].lower()


def no_spaces(language: str | None) -> bool:
    return base(language) in NO_SPACES


def joiner(language: str | None) -> str:
    """What goes between two caption words: nothing in Chinese and Japanese, a space elsewhere (Thai included,
    whose caption words are the script's space-separated phrases)."""
    return "" if base(language) in ("ja", "zh") else " "


def is_rtl(text: str) -> bool:
    """Whether ``text`` holds right-to-left letters (Arabic, Hebrew, ...)."""
    return any(unicodedata.bidirectional(ch) in RTL_BIDI for ch in text)


def clusters(text: str) -> list[str]:
    """``text`` as grapheme clusters: a character with the combining marks, joiners and variation selectors after it."""
    out: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        glue = cat in ("Mn", "Mc", "Me") or ch in "\u200d\ufe0e\ufe0f" or (out and out[-1].endswith("\u200d"))
        if out and glue:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def width(text: str) -> int:
    """Display width in half-width cells: 2 for wide (CJK) characters, 0 for marks, 1 for the rest."""
    w = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def _alnum_ascii(c: str) -> bool:
    return c[:1].isascii() and c[:1].isalnum()


def may_break_between(a: str, b: str, language: str | None) -> bool:
    """Whether a line may end after cluster ``a`` with cluster ``b`` starting the next, in a no-space language."""
    if b[:1] in CLOSING or a[-1:] in OPENING or (_alnum_ascii(a[-1:]) and _alnum_ascii(b[:1])):
        return False
    if base(language) == "th" and (a[:1] in THAI_LEADING or b[:1] in THAI_FOLLOWING):
        return False
    return True


def segments(text: str, language: str | None) -> list[str]:
    """``text`` cut at every place a line may break (spaces stay at the end of the piece before them);
    ``"".join(segments(t, lang)) == t``."""
    if not text:
        return []
    if not no_spaces(language):
        parts = text.split(" ")
        return [p + " " for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    out: list[str] = []
    cl = clusters(text)
    for i, c in enumerate(cl):
        if out and (out[-1].endswith(" ") or (c != " " and may_break_between(cl[i - 1], c, language))):
            out.append(c)
        elif out:
            out[-1] += c
        else:
            out.append(c)
    return out


def wrap(text: str, max_width: float, language: str | None, measure=width) -> list[str]:
    """Greedy lines of ``text`` no wider than ``max_width`` (by ``measure``), broken only where the language allows;
    a piece wider than a whole line stays whole. Lines keep no leading or trailing spaces."""
    lines: list[str] = []
    cur = ""
    for seg in segments(text, language):
        if cur and measure((cur + seg).rstrip()) > max_width:
            lines.append(cur.rstrip())
            cur = seg.lstrip()
        else:
            cur += seg
    if cur.strip():
        lines.append(cur.rstrip())
    return lines
