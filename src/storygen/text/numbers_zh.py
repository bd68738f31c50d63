"""Chinese numbers in characters (num2words has no Chinese): 1005 -> 一千零五, 2000 -> 两千, 15 -> 十五."""

from __future__ import annotations

ZH_DIGITS = "零一二三四五六七八九"
_ZH_BIG = ("", "万", "亿", "万亿")


def _zh_group(g: int, first: bool) -> str:
    """1..9999 in characters, 零 for an inner gap: 1005 -> 一千零五; a leading 2 before 千 is 两."""
    out, gap = "", False
    for value, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = g // value % 10
        if not d:
            gap = bool(out)
            continue
        out += ("零" if gap else "") + ("两" if d == 2 and value == 1000 and not out and first else ZH_DIGITS[d]) + name
        gap = False
    return out


def spell_zh(n: int) -> str:
    if n < 0:
        return "负" + spell_zh(-n)
    if n == 0:
        return "零"
    groups, out, gap = [], "", False
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    for i in reversed(range(len(groups))):
        g = groups[i]
        if not g:
            gap = bool(out)
            continue
        if out and (gap or g < 1000):
            out += "零"
        out += ("两" if g == 2 and i and not out else _zh_group(g, not out)) + _ZH_BIG[i]
        gap = False
    return out[1:] if out.startswith("一十") else out  # 15 -> 十五, 150000 -> 十五万


def zh_digits(s: str) -> str:
    """Digit by digit, as years and phone numbers are read: 1998 -> 一九九八."""
    return "".join(ZH_DIGITS[int(d)] for d in s)
