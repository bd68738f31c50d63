"""Numbers, dates, money, times, ordinals and phone numbers spoken the way a language says them (not English).

Words come from ``num2words`` (Japanese in its kana reading, which every voice can read); Hindi, which
num2words lacks, has a small speller here, and Chinese one in ``numbers_zh``. A number before a common counted
noun takes its gender (doscientas personas, duas casas, eine Stunde), and a German ordinal its case ending
(am dritten Mai). The patterns know each language's separators: "1.000,50" is a
thousand and a half in German, "3,5" is three and a half in Spanish.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

from storygen.text.language import base
from storygen.text.numbers_zh import ZH_DIGITS, spell_zh, zh_digits

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
    if b == "zh":
        return spell_zh(n)
    try:
        out = num2words(n, lang=_n2w(lang))
    except (NotImplementedError, KeyError, TypeError, ValueError, OverflowError):
        return str(n)
    if b == "pt":
        out = out.replace(",", "")  # pt_BR writes "mil, novecentos ..."; nobody pauses there
    if b == "es":
        out = re.sub(r"veintiuno(?= mil\b)", "veintiún", re.sub(r"\buno(?= mil\b)", "un", out))  # veintiún mil
    if b == "ar":
        out = out.replace(" و ", " و")  # "و" is written joined to the next word: وعشرون
    return out


# ---------------------------------------------------------------- agreement with the counted noun
# A short list of common counted nouns (singular and plural), not a dictionary: a number just before one of
# them takes its gender ("200 personas" -> doscientas personas, "21 años" -> veintiún años, "2 casas" -> duas
# casas, "21 heures" -> vingt et une heures, "1 Stunde" -> eine Stunde). Other nouns keep num2words' form.
_FEMININE = {
    "es": "persona personas casa casas vez veces hora horas semana semanas noche noches mujer mujeres niña niñas "
          "chica chicas página páginas libra libras peseta pesetas rupia rupias moneda monedas calle calles ciudad "
          "ciudades cosa cosas palabra palabras vida vidas puerta puertas carta cartas historia historias milla "
          "millas tonelada toneladas botella botellas hermana hermanas hija hijas familia familias pregunta "
          "preguntas isla islas estrella estrellas mesa mesas manzana manzanas hoja hojas vaca vacas canción "
          "canciones",
    "pt": "pessoa pessoas casa casas vez vezes hora horas semana semanas noite noites mulher mulheres menina meninas "
          "página páginas libra libras rupia rupias moeda moedas rua ruas cidade cidades coisa coisas palavra "
          "palavras vida vidas porta portas carta cartas história histórias milha milhas tonelada toneladas garrafa "
          "garrafas irmã irmãs filha filhas família famílias pergunta perguntas ilha ilhas estrela estrelas mesa "
          "mesas maçã maçãs folha folhas vaca vacas canção canções",
    "fr": "personne personnes fois heure heures semaine semaines nuit nuits femme femmes fille filles page pages "
          "livre livres roupie roupies pièce pièces rue rues ville villes chose choses vie vies porte portes lettre "
          "lettres histoire histoires tonne tonnes bouteille bouteilles sœur sœurs famille familles question "
          "questions île îles étoile étoiles table tables pomme pommes minute minutes seconde secondes année années",
    "de": "Stunde Minute Sekunde Woche Person Frau Nacht Tasse Flasche Seite Stadt Sache Katze Tochter Schwester "
          "Frage Rupie Million Milliarde Tür Straße",
}
_MASCULINE = {  # only where the masculine form differs from the bare number: es "un", de "ein" (also neuter)
    "es": "año años día días mes meses minuto minutos segundo segundos hombre hombres niño niños chico chicos "
          "perro perros gato gatos libro libros kilómetro kilómetros metro metros kilo kilos euro euros dólar "
          "dólares peso pesos yen yenes real reales céntimo céntimos centavo centavos amigo amigos hermano "
          "hermanos hijo hijos siglo siglos punto puntos paso pasos",
    "de": "Euro Dollar Cent Tag Jahr Monat Mann Kind Hund Buch Mal Pfund Yen Real Haus Auto Meter Kilometer Kilo "
          "Glas Stück Bruder Sohn Freund Uhr",  # "1 Uhr" is the time: ein Uhr
}
_GENDER = {b: {**{w: "m" for w in _MASCULINE.get(b, "").split()}, **{w: "f" for w in _FEMININE.get(b, "").split()}}
           for b in ("es", "pt", "fr", "de")}
_LARGE = re.compile(r"^(.*\b(?:millón|millones|billón|billones|milhão|milhões|bilhão|bilhões|millions?|milliards?)\b)?(.*)$")


def gender_of(noun: str, lang: str) -> str | None:
    """'f', 'm' or None (not in the short list) for a counted noun."""
    return _GENDER.get(base(lang), {}).get(noun)


def counted(n: int, lang: str, gender: str | None) -> str:
    """``n`` as said before a noun of ``gender`` ('f'/'m'); the plain cardinal when None."""
    out, b = cardinal(n, lang), base(lang)
    if gender is None:
        return out
    if b == "de":
        return ("eine" if gender == "f" else "ein") if n == 1 else out
    head, tail = _LARGE.match(out).groups()  # millions are nouns of their own: doscientos millones de ...
    head = head or ""
    if b == "es":
        if gender == "f":
            tail = re.sub(r"uno$", "una", re.sub(r"ientos\b", "ientas", tail))
        else:
            tail = re.sub(r"veintiuno$", "veintiún", re.sub(r"(?<!veinti)uno$", "un", tail))
    elif b == "pt" and gender == "f":
        tail = re.sub(r"\bum\b", "uma", re.sub(r"\bdois\b", "duas", re.sub(r"entos\b", "entas", tail)))
    elif b == "fr" and gender == "f":
        tail = re.sub(r"\bun$", "une", tail)
    return head + tail


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
    tens, unit = divmod(h, 10)
    head = cardinal(tens * 10, "ja") if tens else ""
    return head + ({4: "よ", 7: "しち", 9: "く"}.get(unit, cardinal(unit, "ja") if unit else "") + "じ")  # じゅうよじ


_JA_MINUTE = {0: "ぜろふん", 1: "いっぷん", 2: "にふん", 3: "さんぷん", 4: "よんぷん", 5: "ごふん", 6: "ろっぷん",
              7: "ななふん", 8: "はっぷん", 9: "きゅうふん"}


def _ja_minutes(m: int, half: bool = True) -> str:
    if m == 30 and half:
        return "はん"
    tens, unit = divmod(m, 10)
    if unit == 0 and tens:
        return (cardinal(tens, "ja") if tens > 1 else "") + "じゅっぷん"  # にじゅっぷん
    return (cardinal(tens * 10, "ja") if tens else "") + _JA_MINUTE[unit]


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
    out = f"{counted(whole, lang, gender_of(one, lang))}{sep}{one if whole == 1 else many}"
    cents = int((frac + "00")[:2]) if frac else 0
    if cents and code != "JPY":
        sub_one, sub_many = (("centavo", "centavos") if code == "BRL" and b in ("pt", "es")
                             else _SUBUNIT.get(b, ("cent", "cents")))
        joint = _AND.get(b, "")
        out += f" {joint} " if joint else sep
        out += f"{counted(cents, lang, gender_of(sub_one, lang))}{sep}{sub_one if cents == 1 else sub_many}"
    return re.sub(r"\s{2,}", " ", out)


def _phone(m: re.Match[str], lang: str) -> str:
    raw = m.group(0)
    groups = re.findall(r"\d+", raw)
    b = base(lang)
    sep = {"ja": "、", "zh": "，", "ar": "، "}.get(b, ", ")
    join = "" if b == "zh" else " "

    def group(g: str) -> str:
        if b == "fr" and len(g) == 2 and not g.startswith("0"):
            return cardinal(int(g), lang)  # French reads pairs: 06 12 34 -> zéro six, douze, trente-quatre
        return join.join(cardinal(int(d), lang) for d in g)

    spoken = sep.join(group(g) for g in groups)
    return (f"{_PLUS.get(base(lang), 'plus')} " if raw.startswith("+") else "") + spoken


_NUM = r"\d{1,3}(?:[.,\u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_PHONE = re.compile(r"(?<![\w+.,/-])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{1,5}|(?:\(\d{1,4}\)[\s.-]?)?\d{2,5})"
                    r"(?:[\s.-]\d{2,8}){1,4}(?![\w-]|[.,]\d)")  # +33 6 12 34 56 78: one digit after a country code


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
    if b == "zh":
        return _expand_zh(text, traditional(lang))
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
        text = _sub(r"(\d+)分(?!の)", text, lambda m: _ja_minutes(int(m.group(1)), half=False))
        text = _sub(r"(?<![\d.,])(\d+)人", text, lambda m: {1: "ひとり", 2: "ふたり", 4: "よにん"}.get(
            int(m.group(1)), cardinal(int(m.group(1)), lang) + "にん"))
        # a number written before a counter or other kana/kanji ("3人", "5つ" stays for the voice's own reading)
        text = _sub(rf"(?<![\d.,])({_NUM})(?=[\u3040-\u30ff\u4e00-\u9fff])(?![つ円])", text, lambda m: number(m.group(1), lang))
    elif b in _MONTHS:
        months = _MONTHS[b].split()
        text = _sub(r"(?<![\d/.])(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?!\d|[/.]\d)", text,
                    lambda m: _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), lang, months, m.group(0),
                                    m.string[:m.start()]))
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
    if b == "de":  # 14.30 Uhr; "14:30 Uhr" says its Uhr once
        text = _sub(r"(?<![\d.:])(\d{1,2})[.:](\d{2})\s?Uhr\b", text,
                    lambda m: _clock(int(m.group(1)), int(m.group(2)), lang, m.group(0)))
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
        text = _sub(rf"\b(\d{{1,2}})\.\s(?=(?:{months})\b)", text,
                    lambda m: _de_ordinal(int(m.group(1)), m.string[:m.start()], month=True) + " ")
        text = _sub(rf"\b({'|'.join(_DE_ARTICLES)}) (\d{{1,3}})\.(?=\s)", text, lambda m: m.group(1) + " " + _de_ordinal(
            int(m.group(2)), m.string[:m.start(2)], month=False), flags=re.IGNORECASE)
    if b == "hi":  # 5वाँ, 5वीं, 5वें
        text = _sub(r"(\d+)\s?(वाँ|वां|वीं|वें)", text, lambda m: _hi_ordinal(int(m.group(1)), m.group(2)))
    if b in _GENDER:  # "200 personas" -> doscientas personas
        text = _sub(r"(?<![\w.,])(\d{1,3}(?:[.\u00a0\u202f]\d{3})*|\d+)(\s+)([^\W\d_]+)", text,
                    lambda m: _counted_match(m, lang))
    # ranges: 1990-1995, 10–14
    to = _RANGE_WORD.get(b, "-")
    text = _sub(rf"(?<![\w.,])({_NUM})\s?[-–]\s?({_NUM})(?![\w]|[.,]\d)", text,
                lambda m: f"{_plain(m.group(1), lang)} {to} {_plain(m.group(2), lang)}")
    # years and plain numbers
    text = _sub(rf"(?<![\w.,])({_NUM})(?![\w]|[.,]\d)", text, lambda m: _plain(m.group(1), lang))
    return text


_ZH_CURRENCY = {"CNY": "元", "JPY": "日元", "USD": "美元", "EUR": "欧元", "GBP": "英镑", "INR": "卢比", "BRL": "雷亚尔"}
_ZH_MEASURE = "个只本次天位名块元岁张条件台辆点周個塊歲張條臺輛點週"  # "2个" -> 两个 (but 2月 二月, 2号 二号, 第2 第二)


def _zh_number(text: str) -> str:
    parsed = _to_number(text, "zh")
    if parsed is None:
        return text
    whole, frac = parsed
    return spell_zh(whole) + (f"点{zh_digits(frac)}" if frac else "")


def _zh_money(amount: str, code: str) -> str:
    parsed = _to_number(amount, "zh")
    if parsed is None:
        return amount
    whole, frac = parsed
    if code != "CNY":
        return _zh_number(amount) + _ZH_CURRENCY[code]
    jiao, fen = (int(d) for d in (frac + "00")[:2])
    out = ("两" if whole == 2 else spell_zh(whole)) + "元"
    if jiao:
        out += ZH_DIGITS[jiao] + "角"
    if fen:
        out += ("零" if not jiao else "") + ZH_DIGITS[fen] + "分"
    return out


def _zh_mobile_groups(raw: str) -> list[str]:
    digits = re.sub(r"\D", "", raw)
    return [digits[:3], digits[3:7], digits[7:]]  # 138 1234 5678


_TRADITIONAL = str.maketrans("万亿两点负块欧镑卢亚", "萬億兩點負塊歐鎊盧亞")  # the simplified characters the speller writes


def traditional(lang: str) -> bool:
    """zh-Hant, zh-TW, zh-HK, zh-MO: Chinese written in traditional characters."""
    parts = [p.lower() for p in re.split(r"[-_]", lang)]
    return parts[0] == "zh" and ("hant" in parts or bool({"tw", "hk", "mo"} & set(parts)))


def _expand_zh(text: str, trad: bool = False) -> str:
    """Chinese: 1998年 一九九八年, 5月3日 五月三日, 14:30 十四点三十分, 15% 百分之十五, ¥500 五百元, 第3 第三.
    ``trad``: the words written are in traditional characters (十四點三十分, 兩萬), the rest of the text untouched."""
    def _sub(pattern: str, text: str, fn: Callable[[re.Match[str]], str]) -> str:
        return re.sub(pattern, (lambda m: fn(m).translate(_TRADITIONAL)) if trad else fn, text)

    num = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
    text = _sub(r"(?<!\d)(\d{4})(?=\s?年)", text, lambda m: zh_digits(m.group(1)))  # years digit by digit
    text = _sub(r"(?<![\d:])(\d{1,2}):(\d{2})(?![\d:])", text,
                lambda m: _clock(int(m.group(1)), int(m.group(2)), "zh", m.group(0)))
    text = _sub(r"(?<!\d)(?:\+86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)", text,  # mobile numbers: 138 1234 5678
                lambda m: ("加" + zh_digits("86") + " " if m.group(0).startswith("+") else "")
                + "，".join(zh_digits(g) for g in _zh_mobile_groups(m.group(0).removeprefix("+86"))))
    text = _PHONE.sub(lambda m: _phone(m, "zh") if _is_phone(m, "zh") else m.group(0), text)
    symbols = {**_SYMBOLS, "¥": "CNY", "￥": "CNY", "元": "CNY"}
    text = _sub(rf"(¥|￥|US\$|\$|€|£|₹|R\$)\s?({num})", text, lambda m: _zh_money(m.group(2), symbols[m.group(1)]))
    text = _sub(rf"({num})\s?(元|块)", text, lambda m: _zh_money(m.group(1), "CNY").replace("元", m.group(2)))
    text = _sub(rf"({num})\s?[%％]", text, lambda m: "百分之" + _zh_number(m.group(1)))
    text = _sub(rf"({num})\s?[-–~～]\s?({num})", text, lambda m: f"{_zh_number(m.group(1))}到{_zh_number(m.group(2))}")
    text = _sub(rf"(?<![\d.第])2(?=[{_ZH_MEASURE}])", text, lambda m: "两")
    text = _sub(r"(\d{1,4}[年月日号號])\s?[-–~～]\s?(?=\d)", text, lambda m: m.group(1) + "到")  # 3月-5月 三月到五月
    # -3度 负三度; not a range between dates or times (3月-5月, 5月3日-7日), which reads 到 in speech
    text = _sub(rf"(?<![0-9A-Za-z.年月日号號时時点點分秒周週〇一二三四五六七八九十百千万萬亿億两兩零])[-−]({num})", text,
                lambda m: "负" + _zh_number(m.group(1)))
    return _sub(rf"({num})", text, lambda m: _zh_number(m.group(1)) if not m.group(1).startswith("0") or "." in m.group(1)
                else zh_digits(m.group(1)))


# German ordinals take the ending of their case: "der dritte Mai", "am/vom/zum dritten Mai", "in der dritten
# Woche"; with nothing before it a date is nominative: "Berlin, dritter Mai".
_DE_ARTICLES = ("der", "die", "das", "den", "dem", "des", "am", "im", "zum", "zur", "vom", "beim", "ans", "ins")
_DE_PREPOSITIONS = frozenset(("ab", "an", "auf", "aus", "bei", "bis", "für", "gegen", "hinter", "in", "mit", "nach",
                              "neben", "seit", "über", "um", "unter", "von", "vor", "zu", "zwischen"))


def _de_ordinal(n: int, before: str, month: bool) -> str:
    stem = ordinal(n, "de")[:-1]  # dritte -> dritt
    words = re.findall(r"\w+", before[-40:]) if re.search(r"\w\s+$", before) else []
    prev = words[-1].lower() if words else ""
    if prev in ("der", "die", "das") and not (len(words) > 1 and words[-2].lower() in _DE_PREPOSITIONS):
        return stem + "e"
    if prev or not month:
        return stem + "en"
    return stem + "er"


def _hi_ordinal(n: int, suffix: str) -> str:
    word = _HI_ORD.get(n, _hindi(n) + "वाँ")  # masculine; feminine -ī, oblique -e
    if suffix in ("वीं", "वें"):
        return word[:-1] + ("ी" if suffix == "वीं" else "े") if word.endswith("ा") else word[:-3] + suffix
    return word


def _counted_match(m: re.Match[str], lang: str) -> str:
    gender = gender_of(m.group(3), lang)
    parsed = _to_number(m.group(1), lang)
    if gender is None or parsed is None or parsed[1]:
        return m.group(0)
    return counted(parsed[0], lang, gender) + m.group(2) + m.group(3)


def _date(day: int, month: int, yr: int, lang: str, months: list[str], raw: str, before: str = "") -> str:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return raw
    b = base(lang)
    name = months[month - 1]
    if b in ("es", "pt"):
        return f"{cardinal(day, lang)} de {name} de {year(yr, lang)}"
    if b == "fr":
        return f"{ordinal(1, lang) if day == 1 else cardinal(day, lang)} {name} {year(yr, lang)}"
    if b == "de":
        return f"{_de_ordinal(day, before, month=True)} {name} {year(yr, lang)}"
    return f"{cardinal(day, lang)} {name} {year(yr, lang)}"


def _clock(h: int, m: int, lang: str, raw: str) -> str:
    if h > 24 or m > 59:
        return raw
    b = base(lang)
    hw, mw = counted(h, lang, "f" if b in ("es", "pt", "fr") else None), cardinal(m, lang)  # la una, duas, une heure
    if b == "es":
        return f"{hw} en punto" if m == 0 else f"{hw} y {mw}"
    if b == "pt":
        return f"{hw} hora{'s' if h != 1 else ''}" if m == 0 else f"{hw} e {mw}"
    if b == "fr":
        return f"{hw} heure{'s' if h > 1 else ''}" + (f" {mw}" if m else "")
    if b == "de":
        return f"{'ein' if h == 1 else hw} Uhr" + (f" {mw}" if m else "")
    if b == "it":
        return f"{hw} e {mw}" if m else f"le {hw}"
    if b == "ja":
        return _ja_hour(h) + (_ja_minutes(m) if m else "")
    if b == "ar":
        return _ar_clock(h, m)
    if b == "zh":
        return ("两" if h == 2 else hw) + "点" + (f"{'零' if m < 10 else ''}{mw}分" if m else "")
    if b == "hi":
        return f"{hw} बजे" if m == 0 else f"{hw} बजकर {mw} मिनट"
    return f"{hw} {mw}" if m else hw


# Arabic tells the hour by its feminine ordinal (الساعة السابعة) and quarter, third and half by name; other
# minutes are counted with the feminine numbers دقيقة takes (خمس دقائق, خمس وعشرون دقيقة).
_AR_HOURS = ("الثانية عشرة", "الواحدة", "الثانية", "الثالثة", "الرابعة", "الخامسة", "السادسة", "السابعة", "الثامنة",
             "التاسعة", "العاشرة", "الحادية عشرة")
_AR_MINUTE_NAMES = {15: "والربع", 20: "والثلث", 30: "والنصف"}
_AR_FEM = ("", "إحدى", "اثنتان", "ثلاث", "أربع", "خمس", "ست", "سبع", "ثماني", "تسع")
_AR_TENS = ("", "", "عشرون", "ثلاثون", "أربعون", "خمسون")


def _ar_clock(h: int, m: int) -> str:
    hour = _AR_HOURS[h % 12]
    if not m:
        return hour
    if m in _AR_MINUTE_NAMES:
        return f"{hour} {_AR_MINUTE_NAMES[m]}"
    tens, unit = divmod(m, 10)
    if m <= 2:
        words = ("دقيقة", "دقيقتان")[m - 1]
    elif m <= 10:
        words = f"{_AR_FEM[m] if m < 10 else 'عشر'} دقائق"
    elif m < 20:
        words = f"{'اثنتا' if m == 12 else _AR_FEM[unit]} عشرة دقيقة"
    else:
        words = (f"{_AR_FEM[unit]} و" if unit else "") + f"{_AR_TENS[tens]} دقيقة"
    return f"{hour} و{words}"


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
