"""The thumbnail: the strongest keyframe, cover-cropped to 1080x1920, darkened, the title in large type.

The title is set in the captions' font (``media.fonts``), broken into lines by the language's rules
(``captions.linebreak``), and shaped and ordered by Pillow's raqm layout, so Arabic joins and reads right to left."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from storygen.captions import linebreak as lb
from storygen.errors import InputError, MediaError
from storygen.media.fonts import pil_font
from storygen.workspace import atomic_path


def _open_rgb(image):
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    try:
        with Image.open(image) as im:
            im.load()
            return im.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise InputError(f"'{image}' is not a readable image.", "pass a PNG or JPEG keyframe.") from e


def cover(img, width: int, height: int):
    """Scale ``img`` to cover ``width`` x ``height`` and crop the centre."""
    from PIL import Image

    s = max(width / img.width, height / img.height)
    w, h = max(width, round(img.width * s)), max(height, round(img.height * s))
    img = img.resize((w, h), Image.Resampling.LANCZOS)
    left, top = (w - width) // 2, (h - height) // 2
    return img.crop((left, top, left + width, top + height))


def _clean_title(title: str) -> str:
    # drop control and format characters (keeps emoji, accents and RTL letters); collapse whitespace
    t = "".join(ch for ch in str(title) if unicodedata.category(ch)[0] != "C" or ch == " ")
    return " ".join(t.split()) or "Untitled"


def _renderable(text: str, font_path: Path, family: str | None = None) -> str:
    """Drop characters the font has no glyph for (they would print as boxes); keep the rest.

    A glyph counts as missing when it renders exactly like a surely-missing code point (.notdef).
    If nothing readable would be left, the text is returned unchanged (boxes beat an empty title).
    """
    font = pil_font(font_path, 48, family)
    notdef = bytes(font.getmask("\U0010fffd"))
    keep = {}
    for ch in set(text):
        if ch.isspace():
            keep[ch] = True
            continue
        try:
            keep[ch] = bytes(font.getmask(ch)) != notdef
        except (OSError, ValueError):
            keep[ch] = False
    out = " ".join("".join(ch for ch in text if keep[ch]).split())
    return out if any(ch.isalnum() for ch in out) else text


def _wrap(draw, text: str, font, max_w: int, language: str | None = None) -> list[str]:
    return lb.wrap(text, max_w, language, measure=lambda s: draw.textlength(s, font=font))


def _fit(draw, text: str, font_path: Path, max_w: int, max_h: int, max_lines: int = 5, *,
         family: str | None = None, language: str | None = None):
    size = 190
    while True:
        font = pil_font(font_path, size, family)
        lines = _wrap(draw, text, font, max_w, language)
        lh = int(size * 1.12)
        widest = max(draw.textlength(line, font=font) for line in lines)
        if (len(lines) <= max_lines and widest <= max_w and lh * len(lines) <= max_h) or size <= 40:
            return font, lines, lh
        size -= 10


def _shaped(text: str) -> str:
    """``text`` ready to draw. Pillow's raqm layout shapes and orders right-to-left text itself; without raqm,
    Arabic is reshaped and reordered with ``arabic-reshaper`` and ``python-bidi`` when they are installed."""
    from PIL import features

    if not lb.is_rtl(text) or features.check("raqm"):
        return text
    try:
        import arabic_reshaper
        from bidi.algorithm import get_display
    except ImportError as e:
        raise MediaError("This Pillow has no raqm layout, so it cannot set a right-to-left title.",
                         "install libraqm and libfribidi (apt install libraqm0), or pip install arabic-reshaper python-bidi") from e
    return get_display(arabic_reshaper.reshape(text))


def make_thumbnail(image, title: str, out: Path, font_path: Path, width: int = 1080, height: int = 1920, *,
                   family: str | None = None, language: str | None = None) -> Path:
    """Write a JPEG thumbnail (``width`` x ``height``) with ``title`` set large over a darkened ``image``, in the
    face ``family`` of ``font_path`` (a collection holds several), broken into lines by ``language``'s rules."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    if not Path(font_path).is_file():
        raise MediaError(f"Thumbnail font '{font_path}' is missing.", "pip install font-fjallaone==0.1.7")
    img = cover(_open_rgb(image), width, height)
    # darkening gradient: strong at the bottom (where the title sits), light at the top
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    shade = 1.0 - (0.78 * np.clip((y - 0.35) / 0.65, 0, 1) ** 1.3 + 0.25 * np.clip((0.15 - y) / 0.15, 0, 1))
    arr = np.asarray(img, dtype=np.float32) * shade
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))

    text = _renderable(_clean_title(title), Path(font_path), family)
    draw = ImageDraw.Draw(img)
    margin = int(width * 0.08)
    max_w, max_h = width - 2 * margin, int(height * 0.36)
    try:
        font, lines, lh = _fit(draw, text.upper(), Path(font_path), max_w, max_h, family=family, language=language)
        text_lines = [_shaped(line) for line in lines]
    except OSError as e:
        raise MediaError(f"Could not load the thumbnail font '{font_path}' ({e}).", "reinstall font-fjallaone.") from e
    block_h = lh * len(text_lines)
    bottom = int(height * 0.74)  # keep clear of the platforms' bottom UI
    top = max(int(height * 0.1), bottom - block_h)
    stroke = max(3, font.size // 16)

    # shadow layer: the text in black, blurred, offset
    shadow = Image.new("L", img.size, 0)
    sd = ImageDraw.Draw(shadow)
    for i, line in enumerate(text_lines):
        x = (width - draw.textlength(line, font=font)) / 2
        sd.text((x + stroke, top + i * lh + stroke * 1.5), line, font=font, fill=200, stroke_width=stroke, stroke_fill=200)
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(2, font.size // 14)))
    img.paste(Image.new("RGB", img.size, (0, 0, 0)), (0, 0), shadow)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(text_lines):
        x = (width - draw.textlength(line, font=font)) / 2
        draw.text((x, top + i * lh), line, font=font, fill=(255, 255, 255), stroke_width=stroke, stroke_fill=(10, 10, 10))
    out = Path(out)
    with atomic_path(out) as tmp:
        img.save(tmp, format="JPEG", quality=90, optimize=True, progressive=True)
    return out


def image_strength(image) -> float:
    """A score for how striking an image is: contrast + sharpness + colourfulness (each roughly 0-1)."""
    import numpy as np
    from PIL import Image

    img = _open_rgb(image)
    img.thumbnail((384, 384), Image.Resampling.BILINEAR)
    a = np.asarray(img, dtype=np.float32) / 255.0
    lum = 0.2126 * a[..., 0] + 0.7152 * a[..., 1] + 0.0722 * a[..., 2]
    contrast = float(lum.std()) / 0.3
    lap = (-4 * lum[1:-1, 1:-1] + lum[:-2, 1:-1] + lum[2:, 1:-1] + lum[1:-1, :-2] + lum[1:-1, 2:])
    sharp = float(np.sqrt(lap.var())) / 0.08
    rg = a[..., 0] - a[..., 1]
    yb = 0.5 * (a[..., 0] + a[..., 1]) - a[..., 2]
    colour = float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())) / 0.4  # Hasler-Suesstrunk
    # mid-tone exposure bonus: very dark or blown-out frames make poor covers
    exposure = 1.0 - min(1.0, abs(float(lum.mean()) - 0.45) / 0.45)
    return min(contrast, 1.5) + min(sharp, 1.5) + min(colour, 1.5) + 0.5 * exposure


def pick_strongest(images: list[Path]) -> Path:
    """The image with the highest ``image_strength`` (the first on ties). Unreadable images are skipped."""
    if not images:
        raise InputError("No images to choose a thumbnail from.", "make sure the keyframes stage produced images.")
    best, best_score = None, -1.0
    for p in images:
        try:
            s = image_strength(p)
        except InputError:
            continue
        if s > best_score:
            best, best_score = p, s
    if best is None:
        raise InputError("None of the keyframes could be read for the thumbnail.", "re-run the keyframes stage.")
    return Path(best)
