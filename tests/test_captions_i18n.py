"""Captions and thumbnails in any script: the packaged font chosen for a language draws every caption character
(checked on the font's own cmap with fontTools, not with the code under test), lines break by the language's
rules, and real final cuts of an Arabic and a Japanese story show the captions where they belong: right to left
with the highlight on the spoken word, and Japanese inside the frame."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fontTools.ttLib import TTFont
from PIL import Image

from storygen.captions import linebreak as lb
from storygen.captions.formats import (SAFE_LEFT, orphan_slack, SAFE_RIGHT, caption_anchor, phrases, read_ass, write_ass, write_srt,
                                       write_vtt)
from storygen.config import DEFAULTS
from storygen.errors import MediaError
from storygen.media import fonts
from storygen.media.ffmpeg import ffmpeg_exe
from storygen.media.render import RenderJob, Segment, render
from storygen.media.thumbnail import make_thumbnail
from storygen.models import WordTiming
from storygen.text.words import script_words

TEXTS = {
    "ja": "むかしむかし、うみのそばに、ちいさなとうだいがありました。灯台守の花は「手紙」を見つけて、"
          "じぶんのなまえがかいてあるのにおどろきました。ちょっとまって、とささやいた。",
    "zh": "灯塔看守人在瓶子里发现了一封信。信上写着她自己的名字：“你好，我一直在等你。”她抬头望向大海。",
    "ar": "من كتب الرسالة؟ وجدت حارسة المنارة زجاجة على الشاطئ. كان في داخلها رسالة تحمل اسمها، "
          "وكان الحبر قديما لكن الخط كان خطها.",
    "hi": "एक लड़की को समुद्र तट पर एक पत्र मिलता है। उसमें उसका अपना नाम लिखा था, और स्याही बहुत पुरानी थी।",
    "th": "กาลครั้งหนึ่งนานมาแล้ว ผู้เฝ้าประภาคารพบขวดบนชายหาด ข้างในมีจดหมายที่เขียนชื่อของเธอเองไว้อย่างชัดเจน",
    "es": "¿Quién escribió la carta? La guardiana del faro encontró una botella en la playa. "
          "Dentro había una carta con su propio nombre, y la tinta era vieja.",
}
FAMILIES = {"ja": "Noto Sans CJK JP", "zh": "Noto Sans CJK SC", "ar": "Noto Sans Arabic", "hi": "Noto Sans Devanagari",
            "th": "Noto Sans Thai", "es": "Fjalla One"}
STYLE = dict(DEFAULTS["captions"])


def _words(text: str, step: float = 0.5) -> list[WordTiming]:
    return [WordTiming(word=w, start=0.3 + step * i, end=0.3 + step * i + step * 0.9)
            for i, w in enumerate(script_words(text))]


def _cmap(family: str) -> set[int]:
    face = next(f for f in fonts.installed_faces() if f.family == family)
    return set(TTFont(face.path, fontNumber=face.index).getBestCmap())


def _drawn(text: str) -> set[str]:
    """Characters a font must draw: all but spaces and invisible format characters (such as the RLM)."""
    import unicodedata

    return {c for c in text if not c.isspace() and unicodedata.category(c) != "Cf"}


@pytest.mark.parametrize("lang", list(TEXTS))
def test_the_chosen_font_draws_every_caption_character(tmp_path: Path, lang: str):
    ass = write_ass(_words(TEXTS[lang]), tmp_path / "c.ass", STYLE, language=lang)
    family, shown = read_ass(ass)
    assert family == FAMILIES[lang]
    chosen = fonts.font_for(shown, lang, preferred=family)
    assert chosen.family == family and (chosen.fonts_dir / chosen.path.name).is_file()
    cmap = _cmap(family)
    tofu = sorted(c for c in _drawn(shown) if ord(c) not in cmap)
    assert not tofu, f"{family} has no glyph for {tofu}"
    # Encoding -1: libass shapes Arabic, Devanagari and Thai fully only then (joining, conjuncts, tone marks)
    assert (",-1\n" in ass.read_text()) == (lang != "es")


def test_no_packaged_font_names_the_extra(monkeypatch):
    latin_only = tuple(f for f in fonts.installed_faces() if f.family == "Fjalla One")
    monkeypatch.setattr(fonts, "installed_faces", lambda: latin_only)
    with pytest.raises(MediaError) as e:
        fonts.font_for(TEXTS["ja"], "ja")
    assert "Hiragana" in str(e.value) and "storygen[lang-cjk]" in e.value.fix
    with pytest.raises(MediaError) as e:
        fonts.font_for(TEXTS["ar"], "ar")
    assert "storygen[lang-arabic]" in e.value.fix
    assert fonts.font_for(TEXTS["es"], "es").family == "Fjalla One"


@pytest.mark.parametrize("lang", list(TEXTS))
def test_line_breaks_follow_the_language(tmp_path: Path, lang: str):
    words = _words(TEXTS[lang])
    groups = phrases(words, 3, 18, lang)
    pieces = [w for g in groups for w in g]
    assert "".join(w.word for w in pieces) == "".join(w.word for w in words)  # nothing lost, nothing added
    assert [w.start for w in pieces] == sorted(w.start for w in pieces)
    for g in groups:
        line = lb.joiner(lang).join(w.word for w in g)
        assert line[0] not in lb.CLOSING and line[-1] not in lb.OPENING, line
        # a phrase's last word may run a line 3 columns over rather than stand alone (not in wide CJK columns)
        slack = orphan_slack(18) if not lb.no_spaces(lang) and g[-1].word[-1] in ",.;:!?" else 0
        assert lb.width(line) <= 18 + slack or len(g) == 1, line
        assert lb.clusters(line)[0][0] == line[0] and not line[0].isspace()  # never a mark alone at a line start
        if lang == "th":
            assert line[0] not in lb.THAI_FOLLOWING and line[-1] not in lb.THAI_LEADING, line
    if lang in ("ja", "zh"):
        assert max(lb.width(w.word) for w in words) > 18  # the script words are clauses: they had to be cut
        srt = write_srt(words, tmp_path / "p.srt", "phrase", language=lang).read_text(encoding="utf-8")
        cues = [b.split("\n", 2)[2] for b in srt.strip().split("\n\n")]
        assert cues == [lb.joiner(lang).join(w.word for w in g) for g in groups] and not any(" " in c for c in cues)
        vtt = write_vtt(words, tmp_path / "c.vtt", language=lang).read_text(encoding="utf-8")
        assert [re.sub(r"<[^>]+>", "", b.split("\n", 2)[2]) for b in vtt.strip().split("\n\n")[1:]] == cues
    if lang == "th":
        assert len(pieces) > len(words)  # the long space-free Thai phrase was cut between clusters


def test_kinsoku_and_thai_clusters():
    for lines in (lb.wrap("あいうえお、かきくけこ。「さしすせ」そ", 10, "ja"), lb.wrap("ちょっとまってっ", 6, "ja")):
        assert "".join(lines) in ("あいうえお、かきくけこ。「さしすせ」そ", "ちょっとまってっ")
        assert all(line[0] not in lb.CLOSING and line[-1] not in lb.OPENING for line in lines), lines
    assert lb.clusters("ที่นี่") == ["ที่", "นี่"]
    lines = lb.wrap("เขาไปโรงเรียน", 4, "th")
    assert all(line[-1] not in lb.THAI_LEADING for line in lines) and "".join(lines) == "เขาไปโรงเรียน"
    assert lb.wrap("NASA2024ですね", 4, "ja")[0] == "NASA2024"  # Latin and digits are never cut
    assert lb.wrap("The quick brown fox", 10, "en") == ["The quick", "brown fox"]


# ---------------------------------------------------------------- real final cuts
W, H = 540, 960


def _voice(path: Path, seconds: float) -> Path:
    sr = 22050
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.2 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32), sr)
    return path


def _frame(video: Path, t: float) -> np.ndarray:
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(H, W, 3).astype(int)


def _ink(img: np.ndarray):
    yellow = (img[..., 0] > 190) & (img[..., 1] > 160) & (img[..., 2] < 130)
    white = (img > 215).all(axis=-1)
    return yellow, white


def _final_cut(tmp_path: Path, lang: str, n_words: int = 4) -> tuple[Path, list[WordTiming]]:
    words = _words(TEXTS[lang], step=0.8)[:n_words]
    ass = write_ass(words, tmp_path / "captions.ass", {**STYLE, "size": 130}, width=W, height=H, language=lang)
    family, shown = read_ass(ass)
    font = fonts.font_for(shown, lang, preferred=family)  # as the final stage picks it
    assert font.family == family
    still = tmp_path / "still.png"
    Image.new("RGB", (W, H), (32, 64, 96)).save(still)
    seconds = words[-1].end + 0.6
    job = RenderJob(segments=[Segment("kenburns", still, seconds, {})], voice_wav=_voice(tmp_path / "v.wav", seconds),
                    ass_path=ass, fonts_dir=font.fonts_dir, out_path=tmp_path / "final.mp4", music=None,
                    width=W, height=H, preset="turbo", threads=2)
    return render(job).path, words


def test_arabic_final_cut_reads_right_to_left(tmp_path: Path):
    video, words = _final_cut(tmp_path, "ar")
    x_anchor, y_anchor = caption_anchor({**STYLE, "size": 130}, W, H)
    centres = []
    for k in (0, 1):  # while word k is spoken
        yellow, white = _ink(_frame(video, (words[k].start + words[k].end) / 2))
        assert yellow.sum() > 100 and white.sum() > 300, "caption glyphs missing from the frame"
        ys, xs = np.nonzero(yellow | white)
        assert abs(np.median(ys) - y_anchor) < 60
        centres.append(np.median(np.nonzero(yellow)[1]))
        if k == 0:  # the first spoken word is the rightmost one
            assert centres[0] > np.median(np.nonzero(white)[1]) + 20
    assert centres[1] < centres[0] - 20  # the highlight moves leftwards with the speech


def test_japanese_final_cut_stays_in_the_frame(tmp_path: Path):
    video, words = _final_cut(tmp_path, "ja", n_words=2)  # "むかしむかし、" and a 26-character clause, cut
    seen = 0
    for t in np.linspace(words[0].start + 0.1, words[-1].end - 0.1, 5):
        yellow, white = _ink(_frame(video, float(t)))
        ink = yellow | white
        if ink.sum() < 150:
            continue
        seen += 1
        assert yellow.sum() > 100, "the spoken piece is not highlighted"
        xs = np.nonzero(ink)[1]
        assert xs.min() >= SAFE_LEFT * W - 12 and xs.max() <= (1 - SAFE_RIGHT) * W + 12, (xs.min(), xs.max())
    assert seen >= 4


def _word_widths(cols: np.ndarray) -> tuple[int, int]:
    """Widths of the ink left and right of the widest gap (the space between two words) in a column profile."""
    xs = np.nonzero(cols)[0]
    best, run_start = (0, 0), None
    for x in range(xs.min(), xs.max() + 1):
        if not cols[x] and run_start is None:
            run_start = x
        elif cols[x] and run_start is not None:
            best = max(best, (x - run_start, run_start))
            run_start = None
    gap, start = best
    return start - xs.min(), xs.max() - (start + gap)


def test_thumbnail_titles_in_arabic_and_japanese(tmp_path: Path):
    src = Image.new("RGB", (600, 900), (90, 90, 90))
    ar = fonts.font_for("المنارة في", "ar")
    out = make_thumbnail(src, "المنارة في", tmp_path / "ar.jpg", ar.path, family=ar.family, language="ar")
    white = (np.asarray(Image.open(out).convert("RGB")) > 235).all(axis=-1)
    rows = np.nonzero(white.any(axis=1))[0]
    assert white.sum() > 2000 and rows.max() - rows.min() < 300  # one line
    left, right = _word_widths(white.any(axis=0))
    assert right > 1.5 * left  # "المنارة", the first word, sits on the right of "في"
    title = "きりのなかのとうだいと、びんのなかのてがみ"
    ja = fonts.font_for(title, "ja")
    assert ja.path.suffix == ".ttc" and ja.family == "Noto Sans CJK JP"
    out = make_thumbnail(src, title, tmp_path / "ja.jpg", ja.path, family=ja.family, language="ja")
    white = (np.asarray(Image.open(out).convert("RGB")) > 235).all(axis=-1)
    rows = np.nonzero(white.any(axis=1))[0]
    xs = np.nonzero(white)[1]
    assert white.sum() > 2000 and xs.min() > 1080 * 0.08 - 20 and xs.max() < 1080 * 0.92 + 20
    assert rows.max() - rows.min() > 150  # wrapped onto more than one line


def test_cjk_and_thai_lines_break_between_phrases_not_inside_words(monkeypatch):
    """With BudouX, a Japanese line never ends inside a word or a verb ending ("拾い|ました" was a QA finding);
    a phrase wider than a line still breaks; without BudouX the character rules still hold."""
    text = "自分の名前が書かれた手紙が入っていました。浜辺で古い瓶を拾いました。"
    lines = lb.wrap(text, 16, "ja")
    assert "".join(lines) == text
    bounds = set(np.cumsum([len(p) for p in lb.phrases(text, "ja")]).tolist())
    assert all(b in bounds for b in np.cumsum([len(x) for x in lines])[:-1].tolist()), lines
    assert not any(x.startswith(("ました", "た手紙")) for x in lines)
    assert lb.wrap("すごくすごくすごくながいことばだよ", 8, "ja")  # a phrase wider than a line is broken, not lost
    assert all(lb.width(x) <= 8 for x in lb.wrap("すごくすごくすごくながいことばだよ", 8, "ja"))
    th = "กาลครั้งหนึ่งนานมาแล้ว ผู้เฝ้าประภาคารพบขวดบนชายหาด"
    assert all(b in set(np.cumsum([len(p) for p in lb.phrases(th, "th")]).tolist())
               for b in np.cumsum([len(x) for x in lb.segments(th, "th")])[:-1].tolist())
    monkeypatch.setattr(lb, "_phrase_parser", lambda _lang: None)
    assert lb.phrases(text, "ja") is None
    fallback = lb.wrap(text, 16, "ja")
    assert "".join(fallback) == text and fallback != lines


def test_a_clause_cut_into_lines_is_cut_evenly_and_a_number_stays_with_its_measure_word():
    """QA: "老漁夫在碼頭發現一 / 個瓶子。" filled the first line and split 一個; "負三 / 度，" split a temperature."""
    for text, lang in (("老漁夫在碼頭發現一個瓶子。", "zh-TW"), ("那天晚上氣溫是負三度，", "zh-TW"),
                       ("老渔夫在码头发现一个瓶子。", "zh"), ("おじいさんは海辺で小さな瓶を拾いました。", "ja")):
        lines = lb.wrap_balanced(text, 18, lang)
        assert "".join(lines) == text and len(lines) == len(lb.wrap(text, 18, lang)), lines
        widths = [lb.width(x) for x in lines]
        assert max(widths) <= 18 and max(widths) - min(widths) <= 4, lines
        for a, b in zip(lines, lines[1:]):
            assert a[-1] not in lb.CJK_NUMERALS, lines
    assert lb.wrap_balanced("老漁夫在碼頭發現一個瓶子。", 18, "zh-TW") == ["老漁夫在碼頭", "發現一個瓶子。"]
    assert lb.wrap_balanced("Short enough.", 18, "en") == ["Short enough."]
