"""The story's language: a BCP-47 code checked against the languages storygen knows, and detected offline from
an idea's text when none is set.

Detection is deliberately simple and predictable: the writing system first (Kana -> ja, Hangul -> ko, Han -> zh,
Arabic -> ar, ...), counted over letters, so an English idea with a few Japanese names stays English; then, for
Latin script, a vote of common function words (es, pt, fr, de, it, en). Anything unsure is English.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from storygen.errors import InputError


@dataclass(frozen=True)
class Language:
    code: str  # base code ("pt" for pt-BR)
    name: str  # English name, for prompts
    native: str  # its own name
    regions: tuple[str, ...]  # ISO 3166 codes of the audience the prompts aim at
    rate: float  # spoken units per second at a narrator's pace
    by_chars: bool = False  # True: words are not separated by spaces; lengths count characters
    espeak: str = ""  # espeak-ng voice name
    tokens_per_unit: float = 1.45  # writer tokens per word (or character), for max_tokens budgets


LANGUAGES: dict[str, Language] = {l.code: l for l in (
    Language("en", "English", "English", ("US", "CA", "AU"), 2.5, espeak="en-us"),
    Language("es", "Spanish", "español", ("ES", "MX", "AR"), 2.7, espeak="es", tokens_per_unit=2.0),
    Language("pt", "Portuguese", "português", ("BR", "PT", "AO"), 2.6, espeak="pt", tokens_per_unit=2.0),
    Language("fr", "French", "français", ("FR", "CA", "BE"), 2.7, espeak="fr", tokens_per_unit=2.0),
    Language("de", "German", "Deutsch", ("DE", "AT", "CH"), 2.2, espeak="de", tokens_per_unit=2.2),
    Language("it", "Italian", "italiano", ("IT", "CH", "SM"), 2.6, espeak="it", tokens_per_unit=2.0),
    Language("nl", "Dutch", "Nederlands", ("NL", "BE", "SR"), 2.4, espeak="nl", tokens_per_unit=2.0),
    Language("ru", "Russian", "русский", ("RU", "KZ", "BY"), 2.1, espeak="ru", tokens_per_unit=3.0),
    Language("uk", "Ukrainian", "українська", ("UA",), 2.1, espeak="uk", tokens_per_unit=3.5),
    Language("pl", "Polish", "polski", ("PL",), 2.1, espeak="pl", tokens_per_unit=3.0),
    Language("tr", "Turkish", "Türkçe", ("TR", "CY", "DE"), 2.0, espeak="tr", tokens_per_unit=3.0),
    Language("ar", "Arabic", "العربية", ("EG", "SA", "AE"), 2.0, espeak="ar", tokens_per_unit=3.5),
    Language("he", "Hebrew", "עברית", ("IL",), 2.2, espeak="he", tokens_per_unit=3.5),
    Language("fa", "Persian", "فارسی", ("IR", "AF", "TJ"), 2.1, espeak="fa", tokens_per_unit=3.5),
    Language("hi", "Hindi", "हिन्दी", ("IN",), 2.6, espeak="hi", tokens_per_unit=4.0),
    Language("bn", "Bengali", "বাংলা", ("BD", "IN"), 2.4, espeak="bn", tokens_per_unit=4.5),
    Language("th", "Thai", "ไทย", ("TH",), 11.0, by_chars=True, espeak="th", tokens_per_unit=1.2),
    Language("ja", "Japanese", "日本語", ("JP",), 7.0, by_chars=True, espeak="ja", tokens_per_unit=1.3),
    Language("zh", "Chinese", "中文", ("CN", "TW", "SG"), 4.5, by_chars=True, espeak="cmn", tokens_per_unit=1.3),
    Language("ko", "Korean", "한국어", ("KR",), 2.3, espeak="ko", tokens_per_unit=3.0),
    Language("vi", "Vietnamese", "Tiếng Việt", ("VN",), 3.0, espeak="vi", tokens_per_unit=2.0),
    Language("id", "Indonesian", "Bahasa Indonesia", ("ID",), 2.4, espeak="id", tokens_per_unit=2.0),
)}

_REGION_VOICES = {("pt", "BR"): "pt-br", ("en", "GB"): "en-gb-x-rp", ("es", "MX"): "es-419", ("es", "419"): "es-419",
                  ("zh", "HK"): "yue"}
_CODE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|\d{3}))?$")


def known_codes() -> str:
    return ", ".join(sorted(LANGUAGES))


def parse_language(code: str) -> str:
    """A BCP-47 code in its canonical spelling ("pt_br" -> "pt-BR", "ES" -> "es"); InputError for one storygen
    does not know, listing those it does."""
    raw = (code or "").strip()
    m = _CODE.match(raw)
    base = m.group(1).lower() if m else ""
    if base == "iw":
        base = "he"
    if base not in LANGUAGES:
        raise InputError(f"Unknown language '{raw}'.",
                         f"use a BCP-47 code storygen knows: {known_codes()} (a region may follow, e.g. pt-BR, es-MX).")
    region = (m.group(3) or "").upper() if m else ""
    if base == "zh" and not region and m and (m.group(2) or "").lower() == "hant":
        return "zh-Hant"  # traditional characters with no region named (numbers are written in them)
    return f"{base}-{region}" if region else base


def base(code: str) -> str:
    """'pt-BR' -> 'pt'."""
    return (code or "en").split("-")[0].split("_")[0].lower()


def info(code: str) -> Language:
    return LANGUAGES.get(base(code), LANGUAGES["en"])


def espeak_voice(code: str) -> str:
    b, _, region = (code or "en").partition("-")
    return _REGION_VOICES.get((b.lower(), region.upper()), info(code).espeak)


# what viewers search for in each language ("#shorts" is the platforms' own tag, the same everywhere)
_STORY_TAGS = {
    "en": ("#storytime", "#story"), "es": ("#historias", "#cuentos"), "pt": ("#historias", "#contos"),
    "fr": ("#histoire", "#conte"), "de": ("#geschichte", "#geschichten"), "it": ("#storie", "#racconti"),
    "nl": ("#verhaal", "#verhalen"), "ja": ("#物語", "#朗読"), "zh": ("#故事", "#短篇故事"), "ko": ("#이야기", "#단편"),
    "ar": ("#قصص", "#قصة"), "hi": ("#कहानी", "#कहानियाँ"), "ru": ("#истории", "#рассказ"), "tr": ("#hikaye", "#hikayeler"),
    "pl": ("#historia", "#opowiadanie"), "id": ("#cerita", "#kisah"), "vi": ("#truyện", "#câuchuyện"),
    "th": ("#เรื่องเล่า", "#นิทาน"), "he": ("#סיפור", "#סיפורים"), "fa": ("#داستان", "#قصه"), "uk": ("#історії", "#оповідання"),
}


def story_hashtags(code: str) -> list[str]:
    """The platform tag and the language's own "story" tags, for a video's description."""
    return ["#shorts", *_STORY_TAGS.get(base(code), ())]


def speakable_words(words: list[str], language: str) -> list[str]:
    """The words as espeak-ng can read them, one for one: Japanese kanji in their kana reading
    (``storygen.text.kana``; espeak-ng reads kana only and would spell kanji out in English)."""
    if base(language) != "ja":
        return list(words)
    from storygen.text import kana

    if any(kana.has_kanji(w) for w in words) and not kana.can_read_kanji():
        raise InputError("espeak-ng reads Japanese kana only, and the kanji reader (pykakasi) is not installed.",
                         "pip install 'storygen[lang-cjk]', or configure voice.provider=elevenlabs "
                         "(eleven_multilingual_v2) or a Japanese Piper voice (voice.voice).")
    return [kana.reading(w) for w in words]


REGION_NAMES = {
    "US": "the US", "CA": "Canada", "AU": "Australia", "GB": "the UK", "ES": "Spain", "MX": "Mexico",
    "AR": "Argentina", "CO": "Colombia", "BR": "Brazil", "PT": "Portugal", "AO": "Angola", "FR": "France",
    "BE": "Belgium", "DE": "Germany", "AT": "Austria", "CH": "Switzerland", "IT": "Italy", "SM": "San Marino",
    "NL": "the Netherlands", "SR": "Suriname", "RU": "Russia", "KZ": "Kazakhstan", "BY": "Belarus", "UA": "Ukraine",
    "PL": "Poland", "TR": "Turkey", "CY": "Cyprus", "EG": "Egypt", "SA": "Saudi Arabia",
    "AE": "the United Arab Emirates", "MA": "Morocco", "IL": "Israel", "IR": "Iran", "AF": "Afghanistan",
    "TJ": "Tajikistan", "IN": "India", "BD": "Bangladesh", "TH": "Thailand", "JP": "Japan", "CN": "China",
    "TW": "Taiwan", "SG": "Singapore", "HK": "Hong Kong", "KR": "South Korea", "VN": "Vietnam", "ID": "Indonesia",
}


def region_names(codes: tuple[str, ...] | list[str]) -> str:
    """("US", "CA", "AU") -> "the US, Canada and Australia"."""
    names = [REGION_NAMES.get(c, c) for c in codes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def regions(code: str) -> tuple[str, ...]:
    """The audience regions for a story in this language (its own region first when the code names one)."""
    lang = info(code)
    _, _, region = (code or "").partition("-")
    region = region.upper()
    if region and region.isalpha():
        return (region, *[r for r in lang.regions if r != region])[:max(3, len(lang.regions))]
    return lang.regions


# ---------------------------------------------------------------- detection
def _script(ch: str) -> str | None:
    cp = ord(ch)
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9D:
        return "kana"
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return "ko"
    if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF:
        return "han"
    if 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x077F or 0xFB50 <= cp <= 0xFDFF or 0xFE70 <= cp <= 0xFEFF:
        return "arabic"
    if 0x0590 <= cp <= 0x05FF:
        return "he"
    if 0x0900 <= cp <= 0x097F:
        return "hi"
    if 0x0980 <= cp <= 0x09FF:
        return "bn"
    if 0x0E00 <= cp <= 0x0E7F:
        return "th"
    if 0x0400 <= cp <= 0x04FF:
        return "cyrillic"
    if ch.isalpha() and "LATIN" in unicodedata.name(ch, ""):
        return "latin"
    return None


_STOP = {
    "en": "the and of to a in is was he she it his her that with for on as at by this they you i my not but had be "
          "from who what when one an are were have there their into",
    "es": "el la los las de del y que en un una es por con para se su al lo como más pero sus le ya o este sí porque "
          "esta entre cuando muy sin sobre también me hasta hay donde quien desde nos durante todos uno les ni contra "
          "era fue había ella él",
    "pt": "o a os as de do da dos das e que em um uma é para com não por mais se na no ao como mas foi ele ela seu "
          "sua ou quando muito nos já também só pelo pela até isso entre depois sem mesmo era você",
    "fr": "le la les de des du et un une est en que qui dans pour pas sur au aux avec il elle ce ne se plus par son sa "
          "ses mais comme ou on nous vous ils elles était été cette leur très",
    "de": "der die das und ist nicht ein eine zu den von mit sich des auf für im dem es sie er ich auch an als noch "
          "wie aus aber nach bei einer um war nur vor zur wird sind hat dass",
    "it": "il lo la i gli le di e che è un una per non in con si da del della dei al alla ma come più sono era anche "
          "nel nella questo quando ha lui lei molto gli",
}
_STOP_SETS = {k: frozenset(v.split()) for k, v in _STOP.items()}
_LATIN_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str) -> str:
    """The language of ``text`` as a base code; "en" when unsure. Offline and deterministic."""
    counts: dict[str, int] = {}
    for ch in text or "":
        s = _script(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    letters = sum(counts.values())
    if not letters:
        return "en"
    latin = counts.get("latin", 0)
    # a non-Latin script decides only when it holds most letters: English with Japanese names stays English
    others = {k: v for k, v in counts.items() if k != "latin"}
    if others and sum(others.values()) > latin:
        kana, han = counts.get("kana", 0), counts.get("han", 0)
        if kana and kana * 10 >= kana + han and kana + han >= max(others.values()):
            return "ja"
        top = max(others, key=lambda k: others[k])
        return {"han": "zh", "arabic": "fa" if _persian(text) else "ar", "cyrillic": "uk" if _ukrainian(text) else "ru",
                "kana": "ja"}.get(top, top)
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    votes = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOP_SETS.items()}
    best = max(votes, key=lambda k: (votes[k], k == "en"))
    # a clear lead is needed to leave English: two function words, and more than English has
    if best != "en" and votes[best] >= 2 and votes[best] > votes["en"] * 1.5:
        return best
    return "en"


def _persian(text: str) -> bool:
    return sum(text.count(c) for c in "پچژگی") > len(text) * 0.02


def _ukrainian(text: str) -> bool:
    return sum(text.count(c) for c in "іїєґІЇЄҐ") > 0


def resolve_language(configured: str | None, text: str = "") -> str:
    """The story's language: the configured code (validated) or, when empty, the one detected in ``text``."""
    if configured and str(configured).strip():
        return parse_language(str(configured))
    return detect_language(text)


# ---------------------------------------------------------------- length
def count_units(text: str, code: str = "en") -> int:
    """Spoken length units: words, or for languages written without spaces (ja, zh, th) letters and digits."""
    if info(code).by_chars:
        return sum(1 for ch in text if unicodedata.category(ch)[0] in ("L", "N"))
    return sum(1 for tok in text.split() if any(ch.isalnum() for ch in tok))


def unit_name(code: str, n: int = 2) -> str:
    return ("character" if info(code).by_chars else "word") + ("" if n == 1 else "s")


def units_for(english_words: int, code: str) -> int:
    """An English word target as the same spoken duration in ``code``'s units."""
    if base(code) == "en":
        return int(english_words)
    seconds = english_words / LANGUAGES["en"].rate
    return max(1, int(round(seconds * info(code).rate)))
