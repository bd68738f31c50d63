"""Say numbers, money, years, times and abbreviations the way a narrator speaks them.

English: a small self-contained speller: cardinals, ordinals, decimals, years, percentages, currency, clock
times, ranges and common abbreviations. Other languages: ``numbers_i18n`` (num2words).
"""

from __future__ import annotations

import re

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
_ORD_IRREGULAR = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}


def _below_1000(n: int) -> str:
    words = []
    if n >= 100:
        words.append(f"{_ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def cardinal(n: int) -> str:
    """12 -> 'twelve', 1987 -> 'one thousand nine hundred eighty-seven', -3 -> 'minus three'."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 1000:
        return _below_1000(n)
    parts = []
    for value, name in _SCALES:
        if n >= value:
            parts.append(f"{cardinal(n // value)} {name}")
            n %= value
    if n:
        parts.append(_below_1000(n))
    return " ".join(parts)


def ordinal(n: int) -> str:
    """1 -> 'first', 22 -> 'twenty-second', 100 -> 'one hundredth'."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" ")
    pre, dash, tail = last.rpartition("-")
    if tail in _ORD_IRREGULAR:
        tail = _ORD_IRREGULAR[tail]
    elif tail.endswith("y"):
        tail = tail[:-1] + "ieth"
    else:
        tail += "th"
    return head + sep + pre + dash + tail


def year(n: int) -> str:
    """1987 -> 'nineteen eighty-seven', 2005 -> 'two thousand five', 2024 -> 'twenty twenty-four', 1900 -> 'nineteen hundred'."""
    if 2000 <= n <= 2009:
        return cardinal(n)
    if 1000 <= n <= 2099 or 2100 <= n <= 9999:
        hi, lo = divmod(n, 100)
        if lo == 0:
            return f"{cardinal(hi)} hundred"
        if lo < 10:
            return f"{cardinal(hi)} oh {cardinal(lo)}"
        return f"{cardinal(hi)} {cardinal(lo)}"
    return cardinal(n)


def decimal(text: str) -> str:
    """'3.14' -> 'three point one four', '0.5' -> 'zero point five'."""
    whole, _, frac = text.partition(".")
    out = cardinal(int(whole.replace(",", "") or "0"))
    if frac:
        out += " point " + " ".join(_ONES[int(d)] for d in frac)
    return out


def _num(text: str) -> str:
    text = text.replace(",", "")
    return decimal(text) if "." in text else cardinal(int(text))


_MAG = {"k": "thousand", "m": "million", "mm": "million", "b": "billion", "bn": "billion", "t": "trillion",
        "thousand": "thousand", "million": "million", "billion": "billion", "trillion": "trillion"}
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
             "£": ("pound", "pounds", "penny", "pence"), "¥": ("yen", "yen", "", "")}

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"


def _money(m: re.Match[str]) -> str:
    sym, amount, mag = m.group("sym"), m.group("amt"), (m.group("mag") or "").lower()
    one, many, sub_one, sub_many = _CURRENCY[sym]
    if mag:
        return f"{_num(amount)} {_MAG[mag]} {many}"
    amount = amount.replace(",", "")
    whole, _, cents = amount.partition(".")
    w = int(whole)
    out = f"{cardinal(w)} {one if w == 1 else many}"
    if cents and sub_one:
        c = int((cents + "0")[:2])
        if c:
            out = (out + " and " if w else "") + f"{cardinal(c)} {sub_one if c == 1 else sub_many}"
    return out


_ABBREVIATIONS: list[tuple[str, str]] = [
    (r"\bDr\.(?=\s+[A-Z])", "Doctor"),
    (r"\bMr\.", "Mister"),
    (r"\bMrs\.", "Missus"),
    (r"\bMs\.", "Miz"),
    (r"\bProf\.(?=\s+[A-Z])", "Professor"),
    (r"\bSt\.(?=\s+[A-Z])", "Saint"),  # St. Louis, St. Patrick
    (r"(?<=[a-z] )St\.", "Street"),  # Baker St.
    (r"\b([A-Z][a-z]+) St\b\.?", r"\1 Street"),
    (r"\bMt\.(?=\s+[A-Z])", "Mount"),
    (r"\bJr\.", "Junior"),
    (r"\bSr\.", "Senior"),
    (r"\bAve\.", "Avenue"),
    (r"\be\.g\.,?", "for example,"),
    (r"\bi\.e\.,?", "that is,"),
    (r"\betc\.", "et cetera."),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\bapprox\.", "approximately"),
    (r"\bNo\.\s*(?=\d)", "number "),
    (r"\bU\.S\.A?\.?(?=\s|$)", "U S"),
    (r"\bU\.K\.(?=\s|$)", "U K"),
    (r"\s&\s", " and "),
    (r"\bw/(?=\s)", "with"),
    (r"\bOK\b", "okay"),
    (r"\bTV\b", "T V"),
]


def _clock(m: re.Match[str]) -> str:
    h, mi = int(m.group(1)), int(m.group(2))
    ampm = (m.group(3) or "").lower().replace(".", "").replace(" ", "")
    out = cardinal(h)
    if mi == 0:
        out += "" if ampm else " o'clock"
    elif mi < 10:
        out += f" oh {cardinal(mi)}"
    else:
        out += f" {cardinal(mi)}"
    if ampm:
        out += " " + " ".join(ampm.upper())
        if m.group(3).endswith(".") and not re.match(r"\s*[a-z,;:]", m.string[m.end():]):
            out += "."  # "at 7 p.m." ended the sentence: keep its full stop
    return out


def _clock_hour(m: re.Match[str]) -> str:
    out = f"{cardinal(int(m.group(1)))} {m.group(3).upper()} M"
    if m.group(2).endswith(".") and not re.match(r"\s*[a-z,;:]", m.string[m.end():]):
        out += "."
    return out


def _plain_number(m: re.Match[str]) -> str:
    text, suffix = m.group(1), m.group(2) or ""
    if suffix:  # ordinals: 1st 2nd 3rd 4th
        return ordinal(int(text.replace(",", "")))
    clean = text.replace(",", "")
    if "." not in clean and "," not in text and len(clean) == 4 and 1100 <= int(clean) <= 2099:
        return year(int(clean))
    if "." not in clean and "," not in text and len(clean) == 4 and 1000 <= int(clean) <= 2999 and _year_context(m):
        return year(int(clean))  # "in 1066", "by 2150"
    if "." not in clean and len(clean) > 1 and clean.startswith("0"):
        return " ".join(_ONES[int(d)] for d in clean)  # codes like 007
    return _num(text)


_URL_RE = re.compile(r"(?:https?://|www\.)\S+")


def expand_for_speech(text: str, language: str = "en") -> str:
    """Spell out numbers, money, percentages, years, times and abbreviations in running text.

    A web address left in the text is passed over whole (its query string is not read digit by digit).
    ``language``: the story's BCP-47 code; other languages than English are spelled by ``numbers_i18n``
    (the English rules and abbreviations never run on them).
    """
    expand = _expand
    if (language or "en").split("-")[0].lower() != "en":
        from functools import partial

        from storygen.text.numbers_i18n import expand as expand_i18n

        expand = partial(expand_i18n, lang=language)
    out, pos = [], 0
    for m in _URL_RE.finditer(text):
        out += [expand(text[pos:m.start()]), m.group(0)]
        pos = m.end()
    return "".join(out + [expand(text[pos:])])


def _expand(text: str) -> str:
    for pat, rep in _ABBREVIATIONS:
        text = re.sub(pat, rep, text)
    # months: "Jan. 5th" -> "January fifth", "May 5" -> "May fifth"
    text = re.sub(rf"\b({'|'.join(_MONTH_ABBR)})\.?(?=\s+\d)", lambda m: _MONTH_ABBR[m.group(1)], text)
    text = re.sub(rf"\b({'|'.join(_MONTHS)})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?![.,:/°%-]?\d)", _month_day, text)
    text = re.sub(r"(?<![\w.])−(?=\s?\d)", "-", text)  # a typographic minus sign
    # money: $5, $5.50, $1.2 million, $3k, €20
    text = re.sub(
        rf"(?P<sym>[$€£¥])\s?(?P<amt>{_NUM})(?:\s?(?P<mag>thousand|million|billion|trillion|bn|mm|[kKmMbBtT])\b)?",
        _money, text)
    # percentages: 50%, 3.5 %, 50 percent
    text = re.sub(rf"({_NUM})\s?%", lambda m: f"{_num(m.group(1))} percent", text)
    # phone numbers, digit by digit: 555-1234, 555-123-4567, (555) 123-4567, +1 555 123 4567
    text = re.sub(r"(?<![\w+.-])(?:\+(\d{1,3})[\s.-]?|(1)[\s.-])?(?:\((\d{3})\)|(\d{3}))[\s.-]?(\d{3})[\s.-](\d{4})(?![\w-])",
                  _phone, text)
    text = re.sub(r"(?<![\w.+-])(\d{3})-(\d{4})(?![\w-])",
                  lambda m: m.group(0) if m.group(1).endswith("0") and m.group(2).endswith("0") else _phone(m), text)
    # temperatures and angles: 72°F, -5 °C, 10-15°C, 90°
    text = re.sub(rf"(?<![\w.])({_NUM})\s?[-–]\s?({_NUM})\s?°\s?([CFK])?(?![A-Za-z])",
                  lambda m: f"{_num(m.group(1))} to {_degrees(m.group(2), m.group(3))}", text)
    text = re.sub(rf"(?:(?<![\w.])(-))?(?<![\w.])({_NUM})\s?°\s?([CFK])?(?![A-Za-z])",
                  lambda m: ("minus " if m.group(1) else "") + _degrees(m.group(2), m.group(3)), text)
    # fractions and ratios: 1/3, 3/4, 7/10, 24/7, 3:1
    text = re.sub(r"(?<![\w/.])(\d{1,3})/(\d{1,3})(?![\w/]|[.,]\d)", _fraction, text)
    text = re.sub(r"(?<![\w:.])(\d{1,2}):(\d)(?![\w:])", lambda m: f"{cardinal(int(m.group(1)))} to {cardinal(int(m.group(2)))}", text)
    # number signs: #7
    text = re.sub(r"(?<![\w#&])#\s?(\d+)\b", lambda m: f"number {_num(m.group(1))}", text)
    # decades: the 1980s, the '90s
    text = re.sub(r"\b(1[1-9]|20)(\d)0s\b", lambda m: _decade(int(m.group(1) + m.group(2) + "0")), text)
    text = re.sub(r"'(\d)0s\b", lambda m: _TENS[int(m.group(1))].replace("ty", "ties") if int(m.group(1)) >= 2 else m.group(0), text)
    # clock times: 3:30, 7:05 pm
    text = re.sub(r"\b(\d{1,2}):(\d{2})(\s?[ap]\.?\s?m\.?)?(?=\W|$)", _clock, text, flags=re.I)
    text = re.sub(r"\b(\d{1,2})(\s?([ap])\.?m\.?)(?=\W|$)", lambda m: _clock_hour(m), text, flags=re.I)
    # ranges: 10-14, 1990–1995 -> "ten to fourteen"
    text = re.sub(rf"\b({_NUM})\s?[-–]\s?({_NUM})\b", lambda m: f"{_range_part(m.group(1))} to {_range_part(m.group(2))}", text)
    text = re.sub(r"(?<![\w.\-])-(?=\d)", "minus ", text)
    # ordinals and plain numbers (with thousands separators and decimals)
    text = re.sub(rf"(?<![\w.])({_NUM})(st|nd|rd|th)?\b", _plain_number, text)
    return text


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_MONTH_ABBR = {"Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "Jun": "June", "Jul": "July",
               "Aug": "August", "Sept": "September", "Sep": "September", "Oct": "October", "Nov": "November",
               "Dec": "December"}
# after "May 5" or "in 1066": words that start a new phrase, so the number was a date or a year, not a count
_PHRASE_START = frozenset("""
    and or but at in on of to from by when while as after before until till through during since then so we i you he
    she it they the a an his her their our my its there was were is had everything nothing something everyone
    """.split())
_YEAR_BEFORE = frozenset("in since until till by of from year circa c. around before after during summer winter "
                         "spring autumn fall early late".split())


def _follows_phrase(m: re.Match[str]) -> bool:
    """True when what follows the match is punctuation, the end, a capital, a year, or a word in _PHRASE_START."""
    rest = m.string[m.end():]
    if not rest.strip() or re.match(r"\s*[,.;:!?)\]\"'”’—–-]", rest):
        return True
    nxt = re.match(r"\s+([\w.]+)", rest)
    return bool(nxt) and (nxt.group(1).lower() in _PHRASE_START or nxt.group(1)[0].isupper() or
                          nxt.group(1).rstrip(".").upper() in ("AD", "BC", "BCE", "CE") or bool(re.fullmatch(r"\d{4}", nxt.group(1))))


def _month_day(m: re.Match[str]) -> str:
    day = int(m.group(2))
    if not 1 <= day <= 31 or not (_follows_phrase(m) or m.group(0)[-2:] in ("st", "nd", "rd", "th")):
        return m.group(0)
    return f"{m.group(1)} {ordinal(day)}"


def _year_context(m: re.Match[str]) -> bool:
    before = m.string[: m.start()].split()
    prev = before[-1].lower() if before else ""
    after = re.match(r"\s*(AD|BC|BCE|CE|A\.D\.|B\.C\.)(?!\w)", m.string[m.end():])
    return bool(after) or (prev in _YEAR_BEFORE and _follows_phrase(m))


def _phone(m: re.Match[str]) -> str:
    groups = [g for g in m.groups() if g]
    out = ", ".join(" ".join(_ONES[int(d)] for d in g) for g in groups)
    if m.re.groups == 6 and m.group(1):  # a country code: +1, +44
        out = "plus " + out
    return out


_SCALE_UNITS = {"C": "Celsius", "F": "Fahrenheit", "K": "kelvin"}


def _degrees(amount: str, unit: str | None) -> str:
    n = _num(amount)
    return f"{n} {'degree' if n == 'one' else 'degrees'}" + (f" {_SCALE_UNITS[unit]}" if unit else "")


def _fraction(m: re.Match[str]) -> str:
    a, b = int(m.group(1)), int(m.group(2))
    if (a, b) in ((24, 7), (9, 11), (7, 11)):  # idioms: "24/7", "9/11", "7/11"
        return f"{cardinal(a)} {cardinal(b)}"
    if a == b and a in (50, 100):
        return f"{cardinal(a)}-{cardinal(a)}"
    if b == 0 or a >= b or b > 20 or b == 10:  # "7/10", "9/10 dentists": a score
        return f"{cardinal(a)} out of {cardinal(b)}"
    if b == 2:
        name = "half" if a == 1 else "halves"
    elif b == 4:
        name = "quarter" if a == 1 else "quarters"
    else:
        name = ordinal(b) + ("" if a == 1 else "s")
    return f"{cardinal(a)} {name}"


def _range_part(s: str) -> str:
    clean = s.replace(",", "")
    if "." not in clean and len(clean) == 4 and 1100 <= int(clean) <= 2099:
        return year(int(clean))
    return _num(s)


def _decade(n: int) -> str:
    spoken = year(n)
    head, sep, last = spoken.rpartition(" ")
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last == "hundred":
        last = "hundreds"
    else:
        last += "s"
    return head + sep + last
