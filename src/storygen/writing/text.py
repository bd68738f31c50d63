"""Plain-text helpers for spoken scripts: word counts, sentences, deterministic clean-up, audio tags."""

from __future__ import annotations

import re
import unicodedata

from storygen.text.sentences import split_sentences

# ElevenLabs v3 audio tags the reviser may add; anything else in square brackets is a stage direction.
AUDIO_TAGS = (
    "whispers", "sighs", "laughs", "laughs softly", "chuckles", "exhales", "gasps", "excited", "curious",
    "sarcastic", "crying", "nervous", "sad", "calm", "serious", "mischievously", "pause", "short pause",
)


_TAG_RE = re.compile(r"\[\s*([A-Za-z][A-Za-z ]{0,30}?)\s*\]")


def strip_audio_tags(text: str) -> str:
    """Remove ``[whispers]``-style tags (for captions and voices that would read them aloud)."""
    out = _TAG_RE.sub(" ", text)
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = re.sub(r" +([,.!?;:])", r"\1", out)
    return "\n".join(line.strip() for line in out.splitlines()).strip()


def count_words(text: str) -> int:
    """Spoken words: whitespace-separated tokens holding a letter or digit; audio tags don't count."""
    return sum(1 for tok in strip_audio_tags(text).split() if any(ch.isalnum() for ch in tok))


def paragraphs(text: str) -> list[str]:
    """Paragraphs: blocks separated by line breaks (models write one paragraph per line or blank-line blocks)."""
    return [p.strip() for p in re.split(r"\n+", text.strip()) if p.strip()]


# ----------------------------------------------------------------------------- clean-up

_DIRECTION_WORDS = re.compile(
    r"\b(music|sound|sfx|fx|pause|beat|cut to|fade|scene|narrator|voice ?over|v\.?o\.?|camera|whisper\w*|sigh\w*|"
    r"laugh\w*|silence|dramatic|intro|outro|upbeat|soft(ly)?|angle|close[- ]up|shot|b-roll|on screen|on-screen|"
    r"transition|zoom|sting|swell\w*|ambient|background|tone|footsteps|thunder|rain)\b",
    re.I,
)
_LABEL_RE = re.compile(
    r"^\s*(?:\*\*|__)?(hook|narrator|narration|voice ?over|voice-over|vo|script|story|intro|outro|ending|conclusion|"
    r"opening|closing|scene \d+|part \d+|act \w+|body|cta|call to action)(?:\*\*|__)?\s*(?:\([^)]*\))?\s*[:\-–—]\s*",
    re.I,
)
_MARKUP_RE = re.compile(r"</?(?:idea|theme|script|story|narration|br|p|i|b|em|strong|u|s|speak|break|prosody|emphasis)"
                     r"(?:\s[^<>\n]{0,80})?\s*/?>", re.I)
_TITLE_RE = re.compile(r"^\s*(?:\*\*|__)?(title|word count|words|length|duration|tone|theme)(?:\*\*|__)?\s*[:\-–—]", re.I)


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    if cp in (0x200D, 0xFE0F, 0xFE0E, 0x20E3):
        return True
    if 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x1F1E6 <= cp <= 0x1F1FF or 0x2B00 <= cp <= 0x2BFF:
        return True
    return unicodedata.category(ch) == "So"


def remove_emoji(text: str) -> str:
    return "".join(ch for ch in text if not _is_emoji(ch))


def _paren(m: re.Match[str]) -> str:
    inner = m.group(1).strip()
    if re.fullmatch(r"\d{3}", inner) and re.match(r"\s?\d{3}[\s.-]\d{4}\b", m.string[m.end():]):
        return m.group(0)  # a phone area code: (555) 123-4567
    if not inner or _DIRECTION_WORDS.search(inner):
        return " "
    return f", {inner},"


def clean_script(text: str, *, keep_audio_tags: bool = False) -> str:
    """Make model output speakable: no markdown, titles, labels, stage directions, emoji or hashtags.

    Deterministic; paragraphs are kept (separated by one blank line).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"```[a-zA-Z]*", "", text)
    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            lines.append("")
            continue
        if _TITLE_RE.match(line) or re.fullmatch(r"(?:\*\*|__)?(the end|fin|end)[.!]?(?:\*\*|__)?", line, re.I):
            continue
        if re.fullmatch(r"[-*_=~#]{3,}", line):  # horizontal rules
            continue
        if re.fullmatch(r"\(.*\)|\[.*\]", line):  # a whole line of direction
            continue
        line = re.sub(r"^#{1,6}\s*", "", line)
        if raw.lstrip().startswith("#") and len(line.split()) <= 8 and not re.search(r"[.!?]$", line):
            continue  # a markdown heading
        line = re.sub(r"^(?:[-*•+]\s+|\d+[.)]\s+)", "", line)  # bullets, numbered lists
        line = re.sub(r"^>\s*", "", line)
        line = _LABEL_RE.sub("", line)
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"\[([^\]]+)\]\((?:https?://|www\.)[^)]*\)", r"\1", text)  # markdown links
    text = re.sub(r"https?://\S+|www\.\S+", "", text)
    if keep_audio_tags:
        allowed = set(AUDIO_TAGS)
        text = re.sub(r"\[([^\]\n]{0,60})\]", lambda m: m.group(0) if m.group(1).strip().lower() in allowed else " ", text)
    else:
        text = re.sub(r"\[[^\]\n]{0,200}\]", " ", text)
    text = re.sub(r"\(([^()\n]{0,200})\)", _paren, text)
    text = re.sub(r"(\*\*|__|\*|~~|`)", "", text)
    text = re.sub(r"(?<![\w&])_(\w[^_\n]*)_(?!\w)", r"\1", text)
    text = _MARKUP_RE.sub(" ", text)  # <script>, <theme> echoed back from the prompt; HTML/SSML markup
    text = re.sub(r"(?<!\w)#(?!\d+\b)\w[\w-]*", "", text)  # hashtags (not "#7": a number)
    text = re.sub(r"(?<![\w.])@\w+", "", text)  # handles
    text = remove_emoji(text)
    # tidy spacing and punctuation the removals left behind
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([,.!?;:])", r"\1", text)
    text = re.sub(r",\s*([,.!?;:])", r"\1", text)
    text = re.sub(r"^[ ,;:]+", "", text, flags=re.M)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    # a first line without end punctuation and only a few words is a title ("**The Last Letter**")
    head, sep, rest = text.partition("\n")
    if sep and rest.strip() and len(head.split()) <= 10 and not re.search(r"[.!?…:,;\"'”’。！？؟।」』）»、，]$", head.strip()):
        text = rest.strip()
    if len(text) > 2 and text[0] in "\"“" and text[-1] in "\"”" and text.count('"') + text.count("“") + text.count("”") == 2:
        text = text[1:-1].strip()
    return close_quotes(drop_signoff(drop_refusals(text)))


_SIGNOFF_RE = re.compile(  # whole sentences only (anchored at both ends): in-story lines must survive
    r"^(?:(?:and )?(?:that'?s|this is|that was) (?:the end(?: of (?:the|my|this) story)?|all(?: for (?:now|today))?"
    r"|my story|the story)"
    r"|the end|fin"
    r"|i (?:hope|trust) you (?:enjoyed|liked|loved) (?:it|this|the (?:story|video)|my story|watching|listening)"
    r"|thanks?(?: you)?(?: so much)? for (?:watching|listening|reading)(?: (?:this|the|my) (?:story|video))?"
    r"|(?:don'?t forget to |be sure to )?(?:like|subscribe|follow)(?: (?:and|&) (?:subscribe|follow|share))?"
    r"(?: (?:me|us))? for (?:more(?: stories)?|part (?:\w+))"
    r"|(?:let me know|tell me) (?:what you think )?(?:in the comments|below))\W*$",
    re.I,
)


def drop_signoff(text: str) -> str:
    """Remove a closing the narration should not speak: "That's the end of the story. I hope you enjoyed it.",
    "Thanks for watching", "Like and subscribe for more". Only whole sentences at the very end go; the rest
    of the text is returned untouched."""
    cut = len(text)
    for sent in reversed(split_sentences(text)):
        if not _SIGNOFF_RE.search(sent.strip(" \"'“”‘’")):
            break
        at = text.rfind(sent, 0, cut)
        if at < 0:
            break
        cut = at
    return text[:cut].rstrip() if cut < len(text) else text


_REFUSAL_RE = re.compile(
    r"^(?:I(?:'m| am) sorry,? but I (?:can(?:no|')?t|am unable to|won'?t) (?:assist|help) with (?:that|this)(?: request)?"
    r"|As an AI(?: language model)?\b.*)\W*$", re.I)


def drop_refusals(text: str) -> str:
    """Remove assistant refusals a model sometimes writes into the story ("I'm sorry, but I can't assist with that
    request.", "As an AI language model, ..."): whole sentences in those exact forms only."""
    sents = [s for s in split_sentences(text) if _REFUSAL_RE.search(s.strip(" \"'“”"))]
    for sent in sents:
        text = text.replace(sent, "", 1)
    if sents:
        text = re.sub(r"[ \t]+\n", "\n", re.sub(r"[ \t]{2,}", " ", text))
        text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text


def close_quotes(text: str) -> str:
    """Straight double quotes, per paragraph: a paragraph wrapped whole in quotes is unwrapped (narration, not
    dialogue); one left open gets its closing quote at the end; a lone stray quote at the end goes."""
    out = []
    for i, b in enumerate(re.split(r"(\n\s*\n)", text)):
        if i % 2 == 0:
            n = b.count('"')
            if n == 2 and b.startswith('"') and b.endswith('"'):
                b = b[1:-1].strip()
            elif n % 2 == 1:
                b = b[:-1].rstrip() if b.endswith('"') else b + '"'
        out.append(b)
    return "".join(out)


def dedupe_sentences(text: str, min_words: int = 4, near: float = 0.96) -> str:
    """Drop sentences that repeat an earlier one (a small model caught in a loop, or re-telling its draft):
    word for word, or nearly (``near``: the share of matching words, for sentences of 8 words or more). At 0.96
    a re-telling that drops or adds a word in a sentence of 13+ words goes; a sentence with one word changed
    ("Night 1 ...", "Night 2 ...") is a variation and stays unless it is 25+ words long."""
    from difflib import SequenceMatcher

    seen: set[str] = set()
    long_seen: list[list[str]] = []
    out = []
    for para in paragraphs(text):
        kept = []
        for s in split_sentences(para):
            key = re.sub(r"[^\w ]|_", "", s.lower()).strip()
            words = key.split()
            if len(words) >= min_words and key in seen:
                continue
            if len(words) >= 8 and any(SequenceMatcher(None, words, w, autojunk=False).ratio() >= near
                                       for w in long_seen):
                continue
            seen.add(key)
            if len(words) >= 8:
                long_seen.append(words)
            kept.append(s)
        if kept:
            out.append(" ".join(kept))
    return join_paragraphs(out)


def join_paragraphs(paras: list[str]) -> str:
    return "\n\n".join(p.strip() for p in paras if p.strip())
