"""Where a caption or title line may break, by the language's rules.

Languages written with spaces break at spaces. Chinese, Japanese and Thai, written without them, may break
between any two characters (grapheme clusters: a letter with its marks), except:
  * never before closing punctuation, small kana or the long-vowel mark ("。", "、", "」", "っ", "ー");
  * never after opening brackets and quotes ("「", "（", "“");
  * never inside a run of Latin letters or digits ("NASA", "2024");
  * Thai: never after a leading vowel (เ แ โ ใ ไ) or before a following vowel or repeat mark (ะ า ำ ๆ ฯ).
With BudouX installed (Apache-2.0, 0.13 MB, in the ``[lang-cjk]`` and ``[lang-thai]`` extras) a line breaks only
between its phrases ("自分の|名前が|書かれた|手紙が|入っていました。"), never inside a word or a verb ending; a phrase
wider than a whole line is still broken between characters. Without it, Thai may break inside a word (never inside
a syllable's letter-and-marks cluster) and Japanese and Chinese between any two allowed characters.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

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


# a number in characters stays with the measure word or unit after it: 一個, 負三度, 兩萬元, 三人
CJK_NUMERALS = frozenset("〇一二三四五六七八九十百千万萬亿億两兩零幾几半")


def _han(c: str) -> bool:
    return bool(c) and "\u3400" <= c[0] <= "\u9fff"


def may_break_between(a: str, b: str, language: str | None) -> bool:
    """Whether a line may end after cluster ``a`` with cluster ``b`` starting the next, in a no-space language."""
    if b[:1] in CLOSING or a[-1:] in OPENING or (_alnum_ascii(a[-1:]) and _alnum_ascii(b[:1])):
        return False
    if a[-1:] in CJK_NUMERALS and _han(b[:1]) and base(language) in ("zh", "ja"):
        return False
    if base(language) == "th" and (a[:1] in THAI_LEADING or b[:1] in THAI_FOLLOWING):
        return False
    return True


@functools.cache
def _phrase_parser(language: str) -> Any:
    """BudouX's parser for the language (ja, zh-Hans, zh-Hant, th), or None when BudouX is not installed."""
    try:
        import budoux
    except ImportError:
        return None
    b, region = base(language), language.replace("_", "-").split("-")[1:]
    if b == "ja":
        return budoux.load_default_japanese_parser()
    if b == "th":
        return budoux.load_default_thai_parser()
    if b == "zh":
        traditional = bool({"hant", "tw", "hk", "mo"} & {r.lower() for r in region})
        return (budoux.load_default_traditional_chinese_parser() if traditional
                else budoux.load_default_simplified_chinese_parser())
    return None


def phrases(text: str, language: str | None) -> list[str] | None:
    """The text's phrases by BudouX (``"".join(...) == text``), or None without it or for other languages."""
    parser = _phrase_parser(language or "en") if no_spaces(language) else None
    return parser.parse(text) if parser is not None and text else None


def segments(text: str, language: str | None) -> list[str]:
    """``text`` cut at every place a line may break (spaces stay at the end of the piece before them);
    ``"".join(segments(t, lang)) == t``. In Chinese, Japanese and Thai with BudouX: between phrases only."""
    if not text:
        return []
    if not no_spaces(language):
        parts = text.split(" ")
        return [p + " " for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    pieces = phrases(text, language)
    if pieces is not None:
        return _join_pieces(pieces, language)
    return _join_pieces(clusters(text), language)


def _join_pieces(pieces: list[str], language: str | None) -> list[str]:
    """Adjacent pieces glued where no break is allowed between them (kinsoku, Latin runs, Thai vowels)."""
    out: list[str] = []
    for i, c in enumerate(pieces):
        prev = clusters(pieces[i - 1])[-1] if i else ""
        if out and (out[-1].endswith(" ") or (c != " " and may_break_between(prev, clusters(c)[0], language))):
            out.append(c)
        elif out:
            out[-1] += c
        else:
            out.append(c)
    return out


def _line_pieces(text: str, max_width: float, language: str | None, measure) -> list[str]:
    """The pieces a line may break between (``segments``); in a no-space language a phrase wider than a whole line
    breaks between its characters after all."""
    segs = segments(text, language)
    if no_spaces(language):
        segs = [piece for seg in segs for piece in (_join_pieces(clusters(seg), language)
                                                     if measure(seg.strip()) > max_width else [seg])]
    return segs


def wrap(text: str, max_width: float, language: str | None, measure=width) -> list[str]:
    """Greedy lines of ``text`` no wider than ``max_width`` (by ``measure``), broken only where the language allows;
    a piece wider than a whole line stays whole. Lines keep no leading or trailing spaces."""
    lines: list[str] = []
    cur = ""
    segs = _line_pieces(text, max_width, language, measure)
    for seg in segs:
        if cur and measure((cur + seg).rstrip()) > max_width:
            lines.append(cur.rstrip())
            cur = seg.lstrip()
        else:
            cur += seg
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def wrap_balanced(text: str, max_width: float, language: str | None, measure=width) -> list[str]:
    """As many lines as ``wrap`` needs, but of even widths: "老漁夫在碼頭 / 發現一個瓶子。" rather than a full first
    line and a short last one. Breaks only where ``wrap`` may break."""
    greedy = wrap(text, max_width, language, measure)
    if len(greedy) < 2:
        return greedy
    segs = _line_pieces(text, max_width, language, measure)
    n, lines = len(segs), len(greedy)
    if n > 200:
        return greedy

    # widths add up piece by piece (the cells of ``width``), less the spaces at a line's two ends
    full = [measure(s) for s in segs]
    lead = [measure(s) - measure(s.lstrip()) for s in segs]
    trail = [measure(s) - measure(s.rstrip()) for s in segs]
    prefix = [0.0]
    for f in full:
        prefix.append(prefix[-1] + f)

    def w(i: int, j: int) -> float:
        return max(0.0, prefix[j] - prefix[i] - lead[i] - trail[j - 1])

    # best[k][j]: the smallest widest line when segs[:j] make k lines; a line may exceed only if one segment
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(lines + 1)]
    cut = [[0] * (n + 1) for _ in range(lines + 1)]
    best[0][0] = 0.0
    for k in range(1, lines + 1):
        for j in range(1, n + 1):
            for i in range(k - 1, j):
                if best[k - 1][i] == inf:
                    continue
                width_ij = w(i, j)
                if width_ij > max_width and j - i > 1:
                    continue
                worst = max(best[k - 1][i], width_ij)
                if worst < best[k][j]:
                    best[k][j], cut[k][j] = worst, i
    if best[lines][n] == inf:
        return greedy
    out, j = [], n
    for k in range(lines, 0, -1):
        i = cut[k][j]
        out.append("".join(segs[i:j]).strip())
        j = i
    return out[::-1]
