import json

import numpy as np
import pytest

from storygen.captions.formats import (SAFE_BOTTOM, SAFE_RIGHT, caption_anchor, font_dir, phrases, write_ass,
                                       write_srt, write_vtt, write_words_json)
from storygen.config import DEFAULTS
from storygen.media.ffmpeg import run_ffmpeg
from storygen.models import WordTiming

TEXT = "Then she moved to New York City, and the lights of Times Square never stopped. Mary Anne Smith smiled."


def _words():
    return [WordTiming(word=w, start=0.3 * i, end=0.3 * i + 0.25) for i, w in enumerate(TEXT.split())]


def test_phrases_break_at_punctuation_never_inside_a_name():
    groups = [[w.word for w in g] for g in phrases(_words(), 3, 18)]
    flat = [w for g in groups for w in g]
    assert flat == TEXT.split()
    for g in groups:
        for name in (["New", "York", "City,"], ["Times", "Square"], ["Mary", "Anne", "Smith"]):
            if name[0] in g:
                assert all(n in g for n in name), groups
        # punctuation only at the end of a phrase
        assert not any(w.endswith((",", ".")) for w in g[:-1]), groups


def test_srt_word_and_phrase_and_vtt(tmp_path):
    w = _words()
    srt = write_srt(w, tmp_path / "w.srt", mode="word").read_text()
    blocks = srt.strip().split("\n\n")
    assert len(blocks) == len(w)
    assert blocks[0].splitlines() == ["1", "00:00:00,000 --> 00:00:00,300", "Then"]
    ph = write_srt(w, tmp_path / "p.srt", mode="phrase").read_text()
    assert "New York City," in ph
    vtt = write_vtt(w, tmp_path / "c.vtt").read_text()
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:00.000 --> " in vtt and "<00:00:00.300>she" in vtt


def test_words_json_reports_alignment(tmp_path):
    w = _words()
    w[2] = w[2].model_copy(update={"matched": False, "confidence": 0.25})
    doc = json.loads(write_words_json(w, tmp_path / "words.json").read_text())
    assert len(doc["words"]) == len(w) and doc["words"][2]["matched"] is False
    assert doc["alignment"]["unmatched_words"] == 1


@pytest.mark.parametrize("kind", ["karaoke", "pop", "boxed"])
def test_ass_styles_burn_in_with_the_packaged_font(tmp_path, kind):
    style = dict(DEFAULTS["captions"], style=kind)
    ass = write_ass(_words(), tmp_path / f"{kind}.ass", style)
    text = ass.read_text()
    assert "PlayResX: 1080" in text and "Fjalla One" in text
    assert "\\1c&H003FD2FF" in text  # highlight #FFD23F in ASS BGR
    if kind == "pop":
        assert "\\t(" in text
    if kind == "boxed":
        assert ",Box," in text and ",3," in text
    fd = font_dir()
    assert fd is not None and any(fd.glob("*.ttf"))
    png = tmp_path / f"{kind}.png"
    # t=1.35 s: the word "York" (index 4) is being spoken
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=0x204060:s=1080x1920:d=2", "-vf", f"ass={ass}:fontsdir={fd}",
                "-ss", "1.35", "-frames:v", "1", png])
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    yellow = (img[..., 0] > 200) & (img[..., 1] > 170) & (img[..., 2] < 120)
    white = (img > 230).all(axis=-1)
    assert yellow.sum() > 300, "highlighted word not drawn"
    if kind != "pop":
        assert white.sum() > 300, "phrase not drawn"
    ys, xs = np.nonzero(yellow | white)
    assert ys.max() < (1 - SAFE_BOTTOM) * 1920 and xs.max() < (1 - SAFE_RIGHT) * 1080  # platform-safe area
    x, y = caption_anchor(style, 1080, 1920)
    assert abs(np.median(ys) - y) < 80


def test_a_phrases_last_word_does_not_stand_alone_and_every_line_fits_the_safe_area():
    from PIL import ImageFont

    from storygen.captions.formats import SAFE_LEFT
    from storygen.media.fonts import installed_faces

    text = ("Cada noche, durante treinta años, Elías subía las escaleras del faro. Dentro había una carta, "
            "fechada aquel invierno. Inside was a letter, dated 1987, addressed to him. Nobody remembered.")
    ws = [WordTiming(word=w, start=i * 0.4, end=i * 0.4 + 0.35) for i, w in enumerate(text.split())]
    lines = [" ".join(w.word for w in g) for g in phrases(ws, DEFAULTS["captions"]["max_words"],
                                                            DEFAULTS["captions"]["max_chars"], "es")]
    assert "durante treinta años," in lines and "escaleras del faro." in lines  # joined, 1-3 columns over
    assert "Nobody remembered." in lines
    assert "Dentro había" in lines and "una carta," in lines  # too wide to join: the line's last word goes along
    alone = [line for line in lines if " " not in line and line[-1] in ",.;:!?"]
    assert alone == [], lines
    face = next(f for f in installed_faces() if f.family == DEFAULTS["captions"]["font"])
    font = ImageFont.truetype(str(face.path), DEFAULTS["captions"]["size"])
    room = 1080 * (1 - SAFE_LEFT - SAFE_RIGHT) - 2 * DEFAULTS["captions"]["outline"]
    assert max(font.getlength(line) for line in lines) <= room, lines
