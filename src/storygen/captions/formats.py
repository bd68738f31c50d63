"""Caption files from word timings: words.json, SRT (word or phrase cues), WebVTT and styled ASS.

ASS styles (``style["style"]``):
  * ``karaoke``: the whole phrase on screen, the word being spoken in ``highlight_color``. One Dialogue
    per word slot with inline colour overrides, so libass needs no \\k timing maths and never drifts.
  * ``pop``: words appear one by one with a short scale-up (``\\t``) as they are spoken.
  * ``boxed``: the phrase on a semi-opaque box (BorderStyle 3), the spoken word highlighted.
Text stays inside a safe area for the TikTok / Shorts / Reels overlays: out of the bottom ~20 % and the
right ~12 % of the frame.

Other languages (``language``, a BCP-47 code; detected from the words when not given): Chinese and Japanese
words are joined without spaces, and in them and Thai a caption word wider than a line is cut where
``linebreak`` allows (never before closing punctuation), its time shared out by width; right-to-left text
(Arabic, Hebrew) gets an automatic paragraph direction, so libass lays it out right to left and the highlight
sits on the spoken word (any text beyond Latin-1 gets ``Encoding -1``, which makes libass shape it fully); the
style's font becomes a packaged one that draws every character (``media.fonts.font_for``) unless it names a
font storygen does not package.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from storygen.captions import linebreak as lb
from storygen.models import WordTiming
from storygen.workspace import write_text

SAFE_BOTTOM = 0.20  # share of the height kept free at the bottom (captions, buttons, progress bar)
SAFE_RIGHT = 0.12  # like/comment/share column
SAFE_LEFT = 0.06
SAFE_TOP = 0.10


def font_dir() -> Path | None:
    """Folder holding the packaged Fjalla One TTF (pass it to libass as fontsdir)."""
    try:
        import font_fjallaone

        return Path(font_fjallaone.font_directory)
    except ImportError:
        return None


# ---------------------------------------------------------------- words.json
def write_words_json(words: list[WordTiming], path: Path, *, extra: dict[str, Any] | None = None) -> Path:
    from storygen.captions.align import alignment_report

    doc = {"words": [w.model_dump(mode="json") for w in words], "alignment": alignment_report(words)}
    if extra:
        doc.update(extra)
    return write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def read_words_json(path: Path) -> list[WordTiming]:
    """The word timings written by ``write_words_json``."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return [WordTiming.model_validate(w) for w in (doc["words"] if isinstance(doc, dict) else doc)]


# ---------------------------------------------------------------- phrases
_BREAK_AFTER = (".", "!", "?", "…", ",", ";", ":", "—", "–", "。", "、", "！", "？", "，", "；", "：", "؟", "،", "؛", "।")


def _core(w: str) -> str:
    return w.strip("\"'“”‘’()[]«»")


def _is_cap(w: str) -> bool:
    c = _core(w)
    return bool(c) and c[0].isupper()


def _ends_phrase(w: str) -> bool:
    return w.rstrip("\"'”’)]»」』）").endswith(_BREAK_AFTER)


def caption_language(words: list[WordTiming], language: str | None = None) -> str:
    """``language`` when given, else the language detected from the words themselves."""
    if language:
        return language
    from storygen.text.language import detect_language

    return detect_language(" ".join(w.word for w in words))


def _glue_closing(words: list[WordTiming]) -> list[WordTiming]:
    """Closing punctuation at the start of a word ("”她抬头") moved onto the word before it: no line starts with it."""
    out: list[WordTiming] = []
    for w in words:
        text = w.word
        lead = len(text) - len(text.lstrip("".join(lb.CLOSING)))
        if out and 0 < lead < len(text):
            out[-1] = out[-1].model_copy(update={"word": out[-1].word + text[:lead]})
            w = w.model_copy(update={"word": text[lead:]})
        out.append(w)
    return out


def _split_wide(words: list[WordTiming], max_chars: int, language: str) -> list[WordTiming]:
    """In languages written without spaces, a caption word wider than a line (a whole clause up to "、") cut where a
    line may break; each piece gets a share of the word's time by its width."""
    out: list[WordTiming] = []
    for w in _glue_closing(words):
        pieces = lb.wrap_balanced(w.word, max_chars, language) if lb.width(w.word) > max_chars else [w.word]
        if len(pieces) < 2:
            out.append(w)
            continue
        total, done = sum(lb.width(p) for p in pieces), 0
        for p in pieces:
            a = w.start + (w.end - w.start) * done / total
            done += lb.width(p)
            out.append(w.model_copy(update={"word": p, "start": a, "end": w.start + (w.end - w.start) * done / total}))
    return out


def orphan_slack(max_chars: int) -> int:
    """Display columns a line may run over to keep a phrase's last word from standing alone: a sixth of the width
    (captions.max_chars is set for the font size). At the defaults, 18 + 3 columns of Fjalla One at 92 px are ~800
    px, inside the 873 px between the safe margins (22 reached 888)."""
    return max(0, int(max_chars) // 6)


def phrases(words: list[WordTiming], max_words: int = 3, max_chars: int = 18,
            language: str | None = None) -> list[list[WordTiming]]:
    """Group words into caption lines: break after punctuation, at long pauses and when a line is full,
    but never inside a capitalised multi-word name ("New York", "Mary Anne Smith"). A line's length is its display
    width (a CJK character counts two); see the module notes for languages written without spaces."""
    max_words = max(1, int(max_words))
    language = caption_language(words, language)
    if lb.no_spaces(language):
        words = _split_wide(words, max_chars, language)
    sep = lb.joiner(language)
    out: list[list[WordTiming]] = []
    cur: list[WordTiming] = []

    def chars(ws: list[WordTiming]) -> int:
        return lb.width(sep.join(w.word for w in ws))

    for i, w in enumerate(words):
        if cur:
            prev = cur[-1]
            # "New York", "Mary Anne Smith": consecutive capitalised words stay on one line
            in_name = _is_cap(prev.word) and _is_cap(w.word) and not _ends_phrase(prev.word)
            full = len(cur) >= max_words or chars(cur + [w]) > max_chars
            pause = w.start - prev.end > 0.45
            if _ends_phrase(prev.word) or pause or (full and not in_name) or len(cur) >= max_words + 2:
                if full and not (_ends_phrase(prev.word) or pause) and _ends_phrase(w.word):
                    # the phrase's last word would stand alone ("faro." under "escaleras del"): it joins the line
                    # when that stays near the width, else it takes the line's last word with it
                    slack = 0 if lb.no_spaces(language) else orphan_slack(max_chars)  # CJK's wide columns: no room
                    if len(cur) <= max_words and chars(cur + [w]) <= max_chars + slack:
                        cur.append(w)
                        continue
                    if len(cur) >= 2 and chars(cur[-1:] + [w]) <= max_chars \
                            and not (_is_cap(cur[-2].word) and _is_cap(cur[-1].word) and not _ends_phrase(cur[-2].word)):
                        out.append(cur[:-1])
                        cur = cur[-1:] + [w]
                        continue
                out.append(cur)
                cur = []
        cur.append(w)
    if cur:
        out.append(cur)
    return out


# ---------------------------------------------------------------- SRT / VTT
def _ts(t: float, sep: str = ",") -> str:
    ms = int(round(max(0.0, t) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cues(words: list[WordTiming], mode: str, max_words: int, max_chars: int,
          language: str | None = None) -> list[tuple[float, float, str]]:
    language = caption_language(words, language)
    if mode == "word":
        groups = [[w] for w in words]
    elif mode == "phrase":
        groups = phrases(words, max_words, max_chars, language)
    else:
        raise ValueError(f"unknown caption mode {mode!r} (word | phrase)")
    cues = []
    for k, g in enumerate(groups):
        start = g[0].start
        end = g[-1].end
        nxt = groups[k + 1][0].start if k + 1 < len(groups) else None
        # hold a cue until the next one (up to 0.5 s) so captions don't flicker between words
        if nxt is not None:
            end = max(end, min(nxt, end + 0.5))
        else:
            end = max(end, start + 0.3)
        end = max(end, start + 0.05)
        if nxt is not None:
            end = min(end, max(nxt, start + 0.001))  # cues never overlap: a player would show the two at once
        cues.append((start, end, lb.joiner(language).join(w.word for w in g)))
    return cues


def write_srt(words: list[WordTiming], path: Path, mode: str = "word", *, max_words: int = 3, max_chars: int = 18,
              language: str | None = None) -> Path:
    lines = []
    for n, (a, b, text) in enumerate(_cues(words, mode, max_words, max_chars, language), 1):
        lines += [str(n), f"{_ts(a)} --> {_ts(b)}", text, ""]
    return write_text(path, "\n".join(lines))


def write_vtt(words: list[WordTiming], path: Path, mode: str = "phrase", *, max_words: int = 3, max_chars: int = 18,
              language: str | None = None) -> Path:
    """WebVTT: phrase cues, each word timed with ``<hh:mm:ss.mmm>`` karaoke tags."""
    lines = ["WEBVTT", ""]
    language = caption_language(words, language)
    groups = phrases(words, max_words, max_chars, language) if mode == "phrase" else [[w] for w in words]
    cues = _cues(words, mode, max_words, max_chars, language)
    for n, ((a, b, _t), g) in enumerate(zip(cues, groups), 1):
        parts = []
        for k, w in enumerate(g):
            txt = _vtt_escape(w.word)
            parts.append(txt if k == 0 else f"<{_ts(w.start, '.')}>{txt}")
        lines += [str(n), f"{_ts(a, '.')} --> {_ts(b, '.')}", lb.joiner(language).join(parts), ""]
    return write_text(path, "\n".join(lines))


def _vtt_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- ASS
def _ass_color(hex_color: str, alpha: int = 0) -> str:
    """#RRGGBB -> &HAABBGGRR (ASS is BGR with inverted alpha)."""
    h = hex_color.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"colour {hex_color!r} is not #RRGGBB")
    r, g, b = h[0:2], h[2:4], h[4:6]
    return f"&H{alpha:02X}{b}{g}{r}".upper()


def _ass_ts(t: float) -> str:
    cs = int(round(max(0.0, t) * 100))
    h, cs = divmod(cs, 360_000)
    m, cs = divmod(cs, 6000)
    s, cs = divmod(cs, 100)
    return f"{h:d}:{m:02d}:{s:02d}.{cs:02d}"


def _ass_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("{", "(").replace("}", ")").replace("\n", " ")


def ass_header(style: dict[str, Any], width: int, height: int, *, encoding: int = 1) -> str:
    """The script header. With ``encoding`` -1 libass finds each line's direction and shapes complex scripts fully:
    Arabic letters join and read right to left, Devanagari conjuncts and Thai tone marks sit where they belong
    (with 1 they fall apart into dotted circles or vanish)."""
    font = style.get("font", "Fjalla One")
    size = int(style.get("size", 92) * height / 1920)
    primary = _ass_color(style.get("primary_color", "#FFFFFF"))
    outline_c = _ass_color(style.get("outline_color", "#000000"))
    outline = float(style.get("outline", 6)) * height / 1920
    back = _ass_color(style.get("box_color", "#000000"), alpha=0x60)
    kind = style.get("style", "karaoke")
    border_style = 3 if kind == "boxed" else 1
    shadow = 0 if kind == "boxed" else 2
    ml, mr = int(SAFE_LEFT * width), int(SAFE_RIGHT * width)
    # alignment 5 = middle centre; position with \pos from ``position`` (share of the height)
    return (
        "[Script Info]\n"
        "; made by storygen\n"
        "ScriptType: v4.00+\n"
        f"PlayResX: {width}\nPlayResY: {height}\n"
        "WrapStyle: 0\nScaledBorderAndShadow: yes\nYCbCr Matrix: TV.709\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding\n"
        f"Style: Caption,{font},{size},{primary},{primary},{outline_c},{_ass_color('#000000', 0x80)},"
        f"0,0,0,0,100,100,1,0,1,{outline if border_style == 1 else outline * 0.4:.1f},{shadow},5,{ml},{mr},0,{encoding}\n"
        # the box: its own layer under the text, so highlight runs don't draw overlapping boxes
        f"Style: Box,{font},{size},{_ass_color('#000000', 0xFF)},{primary},{back},{back},"
        f"0,0,0,0,100,100,1,0,3,{max(8.0, outline * 2.5):.1f},0,5,{ml},{mr},0,{encoding}\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )


def caption_anchor(style: dict[str, Any], width: int, height: int) -> tuple[int, int]:
    """Centre of the caption block inside the platform-safe area."""
    pos = float(style.get("position", 0.62))
    size = int(style.get("size", 92) * height / 1920)
    lo, hi = SAFE_TOP * height + size, (1 - SAFE_BOTTOM) * height - size  # room for two lines
    y = min(max(pos * height, lo), hi)
    x = (SAFE_LEFT * width + (1 - SAFE_RIGHT) * width) / 2
    return int(round(x)), int(round(y))


def caption_family(words: list[WordTiming], language: str, font: str | None) -> str:
    """The ASS font name for the words (``storygen.media.fonts.caption_family_for``)."""
    from storygen.media.fonts import caption_family_for

    return caption_family_for(" ".join(w.word for w in words), language, font)


def write_ass(words: list[WordTiming], path: Path, style: dict[str, Any], width: int = 1080, height: int = 1920,
              *, language: str | None = None) -> Path:
    kind = style.get("style", "karaoke")
    if kind not in ("karaoke", "pop", "boxed"):
        raise ValueError(f"unknown caption style {kind!r} (karaoke | pop | boxed)")
    language = caption_language(words, language)
    spoken = "".join(w.word for w in words)
    rtl = lb.is_rtl(spoken)
    style = {**style, "font": caption_family(words, language, style.get("font", "Fjalla One"))}
    sep = lb.joiner(language)
    lead = "\u200f" if rtl else ""  # a right-to-left mark: the line is right to left even when it opens with "NASA"
    hi = _ass_color(style.get("highlight_color", "#FFD23F"))
    base = _ass_color(style.get("primary_color", "#FFFFFF"))
    x, y = caption_anchor(style, width, height)
    pos = f"\\pos({x},{y})"
    groups = phrases(words, int(style.get("max_words", 3)), int(style.get("max_chars", 18)), language)
    events: list[str] = []
    for gi, g in enumerate(groups):
        g_start = g[0].start
        nxt = groups[gi + 1][0].start if gi + 1 < len(groups) else None
        g_end = g[-1].end
        g_end = max(g_end, min(nxt, g_end + 0.5)) if nxt is not None else max(g_end + 0.3, g_start + 0.4)
        texts = [_ass_escape(w.word) for w in g]
        if kind == "pop":
            for k, w in enumerate(g):
                a = w.start
                b = g[k + 1].start if k + 1 < len(g) else g_end
                if b <= a:
                    continue
                shown = []
                for j in range(k + 1):
                    if j < k:
                        shown.append(texts[j])
                    else:  # the new word pops in: 70% -> 108% -> 100%
                        shown.append("{\\fscx70\\fscy70\\t(0,80,\\fscx108\\fscy108)\\t(80,140,\\fscx100\\fscy100)" +
                                     f"\\1c{hi}}}{texts[j]}{{\\1c{base}}}")
                events.append(_dialogue(a, b, "{" + pos + "}" + lead + sep.join(shown)))
        else:
            # one event per word slot: the phrase with the current word highlighted
            slots = []
            if g[0].start > g_start:
                slots.append((g_start, g[0].start, -1))
            for k, w in enumerate(g):
                a = w.start
                b = g[k + 1].start if k + 1 < len(g) else g_end
                slots.append((a, b, k))
            for a, b, k in slots:
                if b - a < 0.005:
                    continue
                body = sep.join(f"{{\\1c{hi}}}{t}{{\\1c{base}}}" if j == k else t for j, t in enumerate(texts))
                events.append(_dialogue(a, b, "{" + pos + "}" + lead + body, layer=1))
            if kind == "boxed":
                events.append(_dialogue(slots[0][0], slots[-1][1], "{" + pos + "}" + lead + sep.join(texts), style="Box"))
    encoding = 1 if all(ord(c) < 0x100 for c in spoken) else -1
    return write_text(path, ass_header(style, width, height, encoding=encoding) + "".join(events))


def read_ass(path: Path) -> tuple[str, str]:
    """(the Caption style's font name, all the dialogue text without override tags) of an ASS file."""
    family, texts = "", []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("Style: Caption,"):
            family = line.split(",")[1].strip()
        elif line.startswith("Dialogue:"):
            texts.append(re.sub(r"\{[^}]*\}", "", line.split(",", 9)[9]).replace("\\N", " "))
    return family, " ".join(texts)


def _dialogue(a: float, b: float, text: str, *, layer: int = 1, style: str = "Caption") -> str:
    return f"Dialogue: {layer if style == 'Caption' else 0},{_ass_ts(a)},{_ass_ts(b)},{style},,0,0,0,,{text}\n"
