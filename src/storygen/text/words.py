"""The script's words as captions show them, and a normal form for matching them to what was heard.

``script_words`` is the single source of truth for caption words: every voice provider returns one
timing per entry, in order, and the aligner maps recognised speech back onto these entries.
"""

from __future__ import annotations

import re
import unicodedata

from storygen.text.numbers import cardinal, ordinal, year

# ElevenLabs v3 style audio tags: [whispers], [laughs], [sighs] ... never shown, never spoken as words
AUDIO_TAG = re.compile(r"\[[^\[\]\n]{1,40}\]")
_WS = re.compile(r"\s+")
# dashes that separate words ("wait—no", "then -- silence") are word breaks, hyphens are not
_DASH_BREAK = re.compile(r"\s*(?:—|–|--+)\s*")
# after a CJK comma or sentence end (with its closing bracket) that is followed by more text
_CJK_BREAK = re.compile(r"(?<=[、。！？，；：」』）”’])(?=[^\s、。！？，；：」』）”’])")


def speakable_text(script: str) -> str:
    """The script as it goes to a TTS engine that has no audio tags: tags removed, spacing tidied."""
    text = AUDIO_TAG.sub(" ", script)
    text = unicodedata.normalize("NFC", text)
    return _WS.sub(" ", text).strip()


def _has_letter_or_digit(tok: str) -> bool:
    return any(unicodedata.category(c)[0] in ("L", "N") for c in tok)


def script_words(script: str) -> list[str]:
    """Words as shown in captions: audio tags stripped, punctuation kept attached to its word.

    A token with no letter or digit (a lone "—", "...", an emoji) is not a word: it is glued to the
    previous word when it is punctuation, and dropped when it is a symbol/emoji.
    """
    text = speakable_text(script)
    text = _DASH_BREAK.sub("— ", text)
    text = _CJK_BREAK.sub(" ", text)  # Chinese and Japanese have no spaces: a caption word is a phrase up to 、。
    words: list[str] = []
    for tok in text.split(" "):
        if not tok:
            continue
        if _has_letter_or_digit(tok):
            words.append(tok)
        elif words and all(unicodedata.category(c)[0] == "P" for c in tok):
            words[-1] += tok
    return words


# ---------------------------------------------------------------- normal form for matching
def number_words(n: int) -> str:
    """A number as caption-matching words, space-separated ("twenty four"): the writer's speller, unhyphenated."""
    return cardinal(n).replace("-", " ")


def _year_words(n: int) -> str:
    return year(n).replace("-", " ")


_CONTRACTIONS = [
    (re.compile(r"^(can)'?t$"), r"\1 not"),
    (re.compile(r"^won'?t$"), "will not"),
    (re.compile(r"^shan'?t$"), "shall not"),
    (re.compile(r"^(.+)n't$"), r"\1 not"),
    (re.compile(r"^(.+)'re$"), r"\1 are"),
    (re.compile(r"^(.+)'ll$"), r"\1 will"),
    (re.compile(r"^(.+)'ve$"), r"\1 have"),
    (re.compile(r"^(i)'m$"), r"\1 am"),
    (re.compile(r"^(.+)'d$"), r"\1 would"),
]
_NUM = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th|s|%)?$")


def normalise_word(w: str) -> str:
    """A caption word (or an ASR word) in its matching form: casefolded, punctuation stripped,
    numbers spelt out, contractions expanded. May hold several space-separated tokens
    ("30" -> "thirty", "1999" -> "nineteen ninety nine", "don't" -> "do not"); "" for no word."""
    w = unicodedata.normalize("NFKC", w).casefold().replace("’", "'").replace("‘", "'")
    w = w.strip("\"'“”«»()[]{}<>.,!?;:…—–-*_~/\\|")
    if w.startswith("$"):
        core = normalise_word(w[1:])
        return (core + " dollars").strip() if core else ""
    m = _NUM.match(w)
    if m:
        whole, frac, suffix = m.group(1).replace(",", ""), m.group(2), m.group(3)
        n = int(whole)
        if n > 999_999_999:
            return whole
        text = _year_words(n) if (1100 <= n <= 2099 and "," not in m.group(1) and not frac and n % 1000 >= 10) or (
            suffix == "s" and 1100 <= n <= 2099) else number_words(n)
        if frac:
            text += " point " + " ".join(cardinal(int(d)) for d in frac)
        if suffix in ("st", "nd", "rd", "th"):
            text = ordinal(n).replace("-", " ")
        elif suffix == "s":
            text = text[:-1] + "ies" if text.endswith("y") else text + "s"
        elif suffix == "%":
            text += " percent"
        return text
    for pat, rep in _CONTRACTIONS:
        if pat.match(w):
            w = pat.sub(rep, w)
            break
    w = w.replace("'s", "s").replace("'", "")
    w = w.replace("&", " and ").replace("-", " ").replace("—", " ").replace("–", " ")
    out = []
    for tok in w.split():
        tok = "".join(c for c in tok if unicodedata.category(c)[0] in ("L", "N"))
        if tok:
            out.append(tok)
    return " ".join(out)
