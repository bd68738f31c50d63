"""Numbers, dates, money, times, ordinals and phone numbers spoken the way a language says them (not English).

Words come from ``num2words`` (Japanese in its kana reading, which every voice can read); Hindi, which
num2words lacks, has a small speller here. The patterns know each language's separators: "1.000,50" is a
thousand and a half in German, "3,5" is three and a half in Spanish.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

from storygen.text.language import base

# ---------------------------------------------------------------- Hindi (num2words has no Hindi)
_HI_0_99 = (
    "शून्य एक दो तीन चार पाँच छह सात आठ नौ दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस बीस इक्कीस बाईस "
    "तेईस चौबीस पच्चीस छब्बीस सत्ताईस अट्ठाईस उनतीस तीस इकतीस बत्तीस तैंतीस चौंतीस पैंतीस छत्तीस सैंतीस अड़तीस "
    "उनतालीस चालीस इकतालीस बयालीस तैंतालीस चवालीस पैंतालीस छियालीस सैंतालीस अड़तालीस उनचास पचास इक्यावन बावन "
    "तिरपन चौवन पचपन छप्पन सत्तावन अट्ठावन उनसठ साठ इकसठ बासठ तिरसठ चौंसठ पैंसठ छियासठ सड़सठ अड़सठ उनहत्तर "
    "सत्तर इकहत्तर बहत्तर तिहत्तर चौहत्तर पचहत्तर छिहत्तर सतहत्तर अठहत्तर उन्यासी अस्सी इक्यासी बयासी तिरासी "
    "चौरासी पचासी छियासी सत्तासी अट्ठासी नवासी नब्बे इक्यानबे बानबे तिरानबे चौरानबे पचानबे छियानबे सत्तानबे "
    "अट्ठानबे निन्यानबे").split()
_HI_SCALES = ((10**7, "करोड़"), (10**5, "लाख"), (1000, "हज़ार"), (100, "सौ"))
_HI_ORD = {1: "पहला", 2: "दूसरा", 3: "तीसरा", 4: "चौथा", 6: "छठा"}


def _hindi(n: int) -> str:
    if n < 0:
        return "ऋण " + _hindi(-n)
    if n < 100:
        return _HI_0_99[n]
    for value, name in _HI_SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return f"{_hindi(head)} {name}" + (f" {_hindi(rest)}" if rest else "")
    return str(n)


def _hindi_year(n: int) -> str:
    hi, lo = divmod(n, 100)
    if 1100 <= n <= 1999 and hi % 10:  # 1998: उन्नीस सौ अट्ठानबे
        return f"{_HI_0_99[hi]} सौ" + (f" {_HI_0_99[lo]}" if lo else "")
    return _hindi(n)


# ---------------------------------------------------------------- per-language words
def _n2w(lang: str) -> str:
    return {"pt-BR": "pt_BR"}.get(lang, base(lang))


def cardinal(n: int, lang: str) -> str:
    b = base(lang)
    if b == "hi":
        return _hindi(n)
    if b == "ja":
        return num2words(n, lang="ja", reading=True)
    try:
        return num2words(n, lang=_n2w(lang))
    except (NotImplementedError, KeyError, TypeError, ValueError, OverflowError):
        return str(n)


def year(n: int, lang: str) -> str:
    b = base(lang)
    if b == "hi":
        return _hindi_year(n)
    if b in ("de", "nl"):
        return num2words(n, lang=b, to="year")
    return cardinal(n, lang)  # es, fr, pt, it, ar, ja ... read a year as a plain number


def ordinal(n: int, lang: str, feminine: bool = False) -> str:
    b = base(lang)
    if b == "hi":
        return _HI_ORD.get(n, _hindi(n) + "वाँ")
    if b == "ja":
        return "だい" + cardinal(n, lang)
    try:
        out = num2words(n, lang=_n2w(lang), to="ordinal")
    except (NotImplementedError, KeyError, TypeError, ValueError):
        return cardinal(n, lang)
    if feminine and b in ("es", "pt", "it") and out.endswith("o"):
        out = out[:-1] + "a"
    if feminine and b == "fr" and out == "premier":
        out = "première"
    return out


_DECIMAL_WORD = {"es": "coma", "pt": "vírgula", "fr": "virgule", "de": "Komma", "it": "virgola", "nl": "komma",
                 "ru": "целых", "ja": "てん", "ar": "فاصلة", "hi": "दशमलव", "he": "נקודה", "tr": "virgül",
                 "pl": "przecinek"}
_DIGIT_BY_DIGIT = frozenset({"de", "ja", "hi", "ar", "he", "nl"})  # "3,14": drei Komma eins vier
_PERCENT = {"es": "por ciento", "pt": "por cento", "fr": "pour cent", "de": "Prozent", "it": "per cento",
            "nl": "procent", "ru": "процентов", "ja": "パーセント", "ar": "بالمئة", "hi": "प्रतिशत", "he": "אחוז",
            "tr": "yüzde", "pl": "procent"}
# currency: singular, plural
_CURRENCY_NAMES = {
    "EUR": {"es": ("euro", "euros"), "pt": ("euro", "euros"), "fr": ("euro", "euros"), "de": ("Euro", "Euro"),
            "it": ("euro", "euro"), "nl": ("euro", "euro"), "ja": ("ユーロ", "ユーロ"), "ar": ("يورو", "يورو"),
            "hi": ("यूरो", "यूरो")},
    "USD": {"es": ("dólar", "dólares"), "pt": ("dólar", "dólares"), "fr": ("dollar", "dollars"),
            "de": ("Dollar", "Dollar"), "it": ("dollaro", "dollari"), "nl": ("dollar", "dollar"), "ja": ("ドル", "ドル"),
            "ar": ("دولار", "دولار"), "hi": ("डॉलर", "डॉलर")},
    "GBP": {"es": ("libra", "libras"), "pt": ("libra", "libras"), "fr": ("livre", "livres"), "de": ("Pfund", "Pfund"),
            "it": ("sterlina", "sterline"), "nl": ("pond", "pond"), "ja": ("ポンド", "ポンド"), "ar": ("جنيه", "جنيه"),
            "hi": ("पाउंड", "पाउंड")},
    "JPY": {"es": ("yen", "yenes"), "pt": ("iene", "ienes"), "fr": ("yen", "yens"), "de": ("Yen", "Yen"),
            "it": ("yen", "yen"), "nl": ("yen", "yen"), "ja": ("えん", "えん"), "ar": ("ين", "ين"), "hi": ("येन", "येन")},
    "BRL": {"es": ("real", "reales"), "pt": ("real", "reais"), "fr": ("réal", "réals"), "de": ("Real", "Real"),
            "it": ("real", "real"), "ja": ("レアル", "レアル"), "ar": ("ريال برازيلي", "ريال برازيلي")},
    "INR": {"es": ("rupia", "rupias"), "pt": ("rupia", "rupias"), "fr": ("roupie", "roupies"), "de": ("Rupie", "Rupien"),
            "it": ("rupia", "rupie"), "ja": ("ルピー", "ルピー"), "ar": ("روبية", "روبية"), "hi": ("रुपया", "रुपये")},
}
_SUBUNIT = {"es": ("céntimo", "céntimos"), "pt": ("cêntimo", "cêntimos"), "fr": ("centime", "centimes"),
            "de": ("Cent", "Cent"), "it": ("centesimo", "centesimi"), "nl": ("cent", "cent"), "ja": ("セント", "セント"),
            "ar": ("سنت", "سنت"), "hi": ("पैसा", "पैसे")}
_AND = {"es": "con", "pt": "e", "fr": "et", "de": "und", "it": "e", "nl": "en", "ja": "", "ar": "و", "hi": "और"}
_SYMBOLS = {"€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "JPY", "円": "JPY", "R$": "BRL", "₹": "INR",
            "Rs.": "INR", "Rs": "INR"}
_RANGE_WORD = {"es": "a", "pt": "a", "fr": "à", "de": "bis", "it": "a", "nl": "tot", "ja": "から", "ar": "إلى",
               "hi": "से", "ru": "—"}
_PLUS = {"es": "más", "pt": "mais", "fr": "plus", "de": "plus", "it": "più", "nl": "plus", "ja": "プラス",
         "ar": "زائد", "hi": "प्लस"}

_MONTHS = {
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "ar": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
    "hi": "जनवरी फ़रवरी मार्च अप्रैल मई जून जुलाई अगस्त सितंबर अक्टूबर नवंबर दिसंबर",
}
_JA_DAYS = {1: "ついたち", 2: "ふつか", 3: "みっか", 4: "よっか", 5: "いつか", 6: "むいか", 7: "なのか", 8: "ようか",
            9: "ここのか", 10: "とおか", 14: "じゅうよっか", 20: "はつか", 24: "にじゅうよっか"}
_JA_MONTHS = {4: "しがつ", 7: "しちがつ", 9: "くがつ"}


def _ja_hour(h: int) -> str:
    return {4: "よじ", 7: "しちじ", 9: "くじ"}.get(h, cardinal(h, "ja") + "じ")


def _ja_minutes(m: int) -> str:
    if m == 30:
        return "はん"
    tail = m % 10
    suffix = "ぷん" if tail in (1, 3, 4, 6, 8, 0) else "ふん"
    return cardinal(m, "ja") + suffix


# ---------------------------------------------------------------- parsing
_NATIVE_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९", "0123456789" * 3)
_COMMA_DECIMAL = frozenset({"es", "pt", "fr", "de", "it", "nl", "ru", "uk", "pl", "tr", "id", "vi"})


def _to_number(text: str, lang: str) -> tuple[int, str] | None:
    """(whole, decimal digits) of a written number in ``lang``'s separators; None if it is not one."""
    t = text.replace("\u202f", " ").replace("\u00a0", " ").replace("٬", "").replace("٫", ".")
    if base(lang) in _COMMA_DECIMAL:
        if re.fullmatch(r"\d{1,3}(?:[. ]\d{3})+(?:,\d+)?|\d+(?:,\d+)?", t):
            whole, _, frac = t.replace(".", "").replace(" ", "").partition(",")
            return int(whole), frac
    elif re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", t):
        whole, _, frac = t.replace(",", "").partition(".")
        return int(whole), frac
    return None


def number(text: str, lang: str) -> str:
    parsed = _to_number(text, lang)
    if parsed is None:
        return text
    whole, frac = parsed
    out = cardinal(whole, lang)
    if frac:
        b = base(lang)
        word = _DECIMAL_WORD.get(b, "point")
        digits = (" ".join(cardinal(int(d), lang) for d in frac) if b in _DIGIT_BY_DIGIT or frac.startswith("0")
                  else cardinal(int(frac), lang))
        out += f" {word} {digits}"
    return out


def _money(amount: str, code: str, lang: str) -> str:
    b = base(lang)
    parsed = _to_number(amount, lang)
    if parsed is None:
        return amount
    whole, frac = parsed
    names = _CURRENCY_NAMES.get(code, {}).get(b)
    if names is None:
        return f"{number(amount, lang)} {code}"
    one, many = names
    sep = "" if b == "ja" else " "
    out = f"{cardinal(whole, lang)}{sep}{one if whole == 1 else many}"
    cents = int((frac + "00")[:2]) if frac else 0
    if cents and code != "JPY":
        sub_one, sub_many = (("centavo", "centavos") if code == "BRL" and b in ("pt", "es")
                             else _SUBUNIT.get(b, ("cent", "cents")))
        joint = _AND.get(b, "")
        out += f" {joint} " if joint else sep
        out += f"{cardinal(cents, lang)}{sep}{sub_one if cents == 1 else sub_many}"
    return re.sub(r"\s{2,}", " ", out)


def _phone(m: re.Match[str], lang: str) -> str:
    raw = m.group(0)
    groups = re.findall(r"\d+", raw)
    sep = "、" if base(lang) == "ja" else ", "
    spoken = sep.join(" ".join(cardinal(int(d), lang) for d in g) for g in groups)
    return (f"{_PLUS.get(base(lang), 'plus')} " if raw.startswith("+") else "") + spoken


_NUM = r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_PHONE = re.compile(r"(?<![\w+.,/-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,8}){1,4}(?![\w-]|[.,]\d)")


def _is_phone(m: re.Match[str], lang: str) -> bool:
    raw = m.group(0)
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 7:
        return False
    if raw.startswith(("+", "(", "0")) or len(digits) >= 10:
        return not re.fullmatch(r"\d{1,3}(?:[ .]\d{3})+", raw)
    # three groups or more, not a thousands-grouped number ("1 000 000", "1.000.000") nor a range ("1990-1995")
    return len(re.findall(r"\d+", raw)) >= 3 and not re.fullmatch(r"\d{1,3}(?:[ .]\d{3})+", raw)


def _sub(pattern: str, text: str, fn: Callable[[re.Match[str]], str], flags: int = 0) -> str:
    return re.sub(pattern, fn, text, flags=flags)


def expand(text: str, lang: str) -> str:
    """Spell out the numbers in ``text`` as ``lang`` speaks them."""
    b = base(lang)
    text = text.translate(_NATIVE_DIGITS)
    text = re.sub(r"[０-９]", lambda m: chr(ord(m.group(0)) - 0xFEE0), text)  # full-width digits
    # dates: 05/03/2024, 5.3.2024 (day first), and Japanese 2024年5月3日
    if b == "ja":
        text = _sub(r"(\d{1,4})年", text, lambda m: cardinal(int(m.group(1)), lang) + "ねん")
        text = _sub(r"(\d{1,2})月(?:(\d{1,2})日)?", text, lambda m: (
            _JA_MONTHS.get(int(m.group(1)), cardinal(int(m.group(1)), lang) + "がつ")
            + (_JA_DAYS.get(int(m.group(2)), cardinal(int(m.group(2)), lang) + "にち") if m.group(2) else "")))
        text = _sub(r"(\d{1,2})[:時](\d{2})分?", text, lambda m: _ja_hour(int(m.group(1))) + _ja_minutes(int(m.group(2))))
        text = _sub(r"(\d{1,2})時", text, lambda m: _ja_hour(int(m.group(1))))
        text = _sub(r"第(\d+)", text, lambda m: ordinal(int(m.group(1)), lang))
        text = _sub(r"(\d+)(?:番目|位)", text, lambda m: cardinal(int(m.group(1)), lang) + m.group(0)[len(m.group(1)):])
    elif b in _MONTHS:
        months = _MONTHS[b].split()
        text = _sub(r"(?<![\d/.])(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?!\d|[/.]\d)", text,
                    lambda m: _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), lang, months, m.group(0)))
    text = _PHONE.sub(lambda m: _phone(m, lang) if _is_phone(m, lang) else m.group(0), text)
    # money: €5, 5 €, 5,50 €, R$ 10, ₹500, 1000円, US$ 3
    syms = "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
    text = _sub(rf"(?P<sym>{syms})\s?(?P<amt>{_NUM})", text, lambda m: _money(m.group("amt"), _SYMBOLS[m.group("sym")], lang))
    text = _sub(rf"(?P<amt>{_NUM})\s?(?P<sym>€|円|\$|£|₹)", text,
                lambda m: _money(m.group("amt"), _SYMBOLS[m.group("sym")], lang))
    # percentages
    pct = _PERCENT.get(b, "percent")
    text = _sub(rf"({_NUM})\s?[%٪]", text, lambda m: f"{number(m.group(1), lang)}{'' if b == 'ja' else ' '}{pct}")
    text = _sub(rf"[%٪]\s?({_NUM})", text, lambda m: f"{number(m.group(1), lang)} {pct}")
    # clock times: 14:30, 7:05, 14h30 (fr)
    text = _sub(r"(?<![\d:])(\d{1,2})(?::|h(?=\d\d))(\d{2})(?![\d:])", text,
                lambda m: _clock(int(m.group(1)), int(m.group(2)), lang, m.group(0)))
    # ordinals: 1º 1ª 1.º (es, pt, it), 1er 1re 2e 2ème (fr), "der 3. Mai"/"am 3." (de)
    if b in ("es", "pt", "it", "gl", "ca"):
        text = _sub(r"\b(\d+)\.?([ºª°])", text, lambda m: ordinal(int(m.group(1)), lang, feminine=m.group(2) == "ª"))
        text = _sub(r"\b(\d+)\.(er|a|o)\b", text, lambda m: (  # es: 1.er piso, 3.a vez
            ordinal(int(m.group(1)), lang, feminine=m.group(2) == "a")[:-1 if m.group(2) == "er" else None]))
    if b == "fr":
        text = _sub(r"\b(\d+)(ère|re|er|ème|e|è)\b", text,
                    lambda m: ordinal(int(m.group(1)), lang, feminine=m.group(2) in ("re", "ère")))
    if b == "de":
        months = "|".join(_MONTHS["de"].split())
        text = _sub(rf"\b(\d{{1,2}})\.\s(?=(?:{months})\b)", text, lambda m: _de_ordinal_day(int(m.group(1))) + " ")
        text = _sub(r"\b(der|die|das|den|dem|des|am|im|zum|zur|vom|beim) (\d{1,3})\.(?=\s)", text,
                    lambda m: f"{m.group(1)} {ordinal(int(m.group(2)), lang)}", flags=re.I)
    # ranges: 1990-1995, 10–14
    to = _RANGE_WORD.get(b, "-")
    text = _sub(rf"(?<![\w.,])({_NUM})\s?[-–]\s?({_NUM})(?![\w]|[.,]\d)", text,
                lambda m: f"{_plain(m.group(1), lang)} {to} {_plain(m.group(2), lang)}")
    # years and plain numbers
    text = _sub(rf"(?<![\w.,])({_NUM})(?![\w]|[.,]\d)", text, lambda m: _plain(m.group(1), lang))
    return text


def _de_ordinal_day(day: int) -> str:
    return ordinal(day, "de") + "n"  # "am dritten Mai"


def _date(day: int, month: int, yr: int, lang: str, months: list[str], raw: str) -> str:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return raw
    b = base(lang)
    name = months[month - 1]
    if b in ("es", "pt"):
        return f"{cardinal(day, lang)} de {name} de {year(yr, lang)}"
    if b == "fr":
        return f"{ordinal(1, lang) if day == 1 else cardinal(day, lang)} {name} {year(yr, lang)}"
    if b == "de":
        return f"{ordinal(day, lang)} {name} {year(yr, lang)}"
    return f"{cardinal(day, lang)} {name} {year(yr, lang)}"


def _clock(h: int, m: int, lang: str, raw: str) -> str:
    if h > 24 or m > 59:
        return raw
    b = base(lang)
    hw, mw = cardinal(h, lang), cardinal(m, lang)
    if b == "es":
        return f"{hw} en punto" if m == 0 else f"{hw} y {mw}"
    if b == "pt":
        return f"{hw} horas" if m == 0 else f"{hw} e {mw}"
    if b == "fr":
        return f"{hw} heure{'s' if h > 1 else ''}" + (f" {mw}" if m else "")
    if b == "de":
        return f"{hw} Uhr" + (f" {mw}" if m else "")
    if b == "it":
        return f"{hw} e {mw}" if m else f"le {hw}"
    if b == "ja":
        return _ja_hour(h) + (_ja_minutes(m) if m else "")
    if b == "ar":
        return hw + (f" و{mw} دقيقة" if m else "")
    if b == "hi":
        return f"{hw} बजे" if m == 0 else f"{hw} बजकर {mw} मिनट"
    return f"{hw} {mw}" if m else hw


def _plain(text: str, lang: str) -> str:
    parsed = _to_number(text, lang)
    if parsed is None:
        return text
    whole, frac = parsed
    plain_digits = text.isdigit()
    if plain_digits and len(text) > 1 and text.startswith("0"):
        return " ".join(cardinal(int(d), lang) for d in text)  # codes: 007
    if plain_digits and len(text) == 4 and 1100 <= whole <= 2099 and not frac:
        return year(whole, lang)
    return number(text, lang)
