"""Painting helpers: numpy gradients and glows, alpha sprites drawn supersampled, soft shadows, grain, vignette.
All whole-frame work is vectorised or done by Pillow in C; nothing loops over pixels in Python."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

MIN_MEAN = 40.0  # mean brightness (0-255) a finished frame is lifted to
SS = 2  # sprites are drawn at twice their size and scaled down: smooth (anti-aliased) edges


def column(stops: list[tuple[float, tuple[int, int, int]]], n: int) -> np.ndarray:
    """An (n, 3) colour ramp through (position 0..1, colour) stops."""
    pos = np.array([p for p, _ in stops], np.float32)
    cols = np.array([c for _, c in stops], np.float32)
    t = np.linspace(0, 1, n, dtype=np.float32)
    return np.stack([np.interp(t, pos, cols[:, k]) for k in range(3)], axis=1)


def vgradient(size: tuple[int, int], stops) -> Image.Image:
    w, h = size
    col = column(stops, max(1, h)).astype(np.uint8)[:, None, :]
    return Image.fromarray(col, "RGB").resize((max(1, w), max(1, h)), Image.Resampling.NEAREST)


def hgradient(size: tuple[int, int], stops) -> Image.Image:
    w, h = size
    row = column(stops, max(1, w)).astype(np.uint8)[None, :, :]
    return Image.fromarray(row, "RGB").resize((max(1, w), max(1, h)), Image.Resampling.NEAREST)


def fill(img: Image.Image, shape: Image.Image, mask_fn, box: tuple[int, int, int, int] | None = None) -> None:
    """Paste ``shape`` (an image the size of ``box`` or of ``img``) through a mask drawn by ``mask_fn(ImageDraw)``."""
    x0, y0, x1, y1 = box or (0, 0, *img.size)
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    mask_fn(ImageDraw.Draw(mask))
    img.paste(shape, (x0, y0), mask)


def glow(img: Image.Image, cx: float, cy: float, radius: float, color, strength: float, *, flat: float = 1.0) -> None:
    """A soft radial glow (Gaussian falloff) around (cx, cy), computed at quarter size inside its own box."""
    w, h = img.size
    reach = radius * 2.6
    x0, x1 = max(0, int(cx - reach)), min(w, int(cx + reach) + 1)
    y0, y1 = max(0, int(cy - reach * flat)), min(h, int(cy + reach * flat) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    bw, bh = max(2, (x1 - x0) // 4), max(2, (y1 - y0) // 4)
    yy = np.linspace(y0, y1, bh, dtype=np.float32)[:, None]
    xx = np.linspace(x0, x1, bw, dtype=np.float32)[None, :]
    d2 = ((xx - cx) ** 2 + ((yy - cy) / flat) ** 2) / max(1.0, radius) ** 2
    alpha = (np.exp(-d2) * 255 * strength).clip(0, 255).astype(np.uint8)
    mask = Image.fromarray(alpha, "L").resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)
    img.paste(color, (x0, y0, x1, y1), mask)


def band(img: Image.Image, y: float, half: float, color, strength: float) -> None:
    """A horizontal haze band (fog on the horizon)."""
    w, h = img.size
    y0, y1 = max(0, int(y - 2.5 * half)), min(h, int(y + 2.5 * half) + 1)
    if y1 - y0 < 1:
        return
    t = np.arange(y0, y1, dtype=np.float32)
    a = (np.exp(-(((t - y) / max(1.0, half)) ** 2)) * 255 * strength).astype(np.uint8)[:, None]
    mask = Image.fromarray(a, "L").resize((w, y1 - y0), Image.Resampling.NEAREST)
    img.paste(color, (0, y0, w, y1), mask)


class Sprite:
    """An RGBA drawing of one object, drawn at SS x its size; ``k`` is its height in sprite pixels."""

    def __init__(self, w: float, h: float):
        self.ss = SS if h <= 500 else max(1.0, SS * 500 / h)  # big sprites: less supersampling, same cost cap
        self.w, self.h = max(2, int(w * self.ss)), max(2, int(h * self.ss))
        self.k = self.h
        self.img = Image.new("RGBA", (self.w, self.h), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.img)

    def shaded(self, mask_fn, stops, *, horizontal: bool = True, alpha: int = 255) -> None:
        """Fill a shape with a gradient (cylinder shading when horizontal)."""
        grad = (hgradient if horizontal else vgradient)((self.w, self.h), stops).convert("RGBA")
        mask = Image.new("L", (self.w, self.h), 0)
        mask_fn(ImageDraw.Draw(mask))
        if alpha < 255:
            mask = mask.point(lambda v: v * alpha // 255)
        layer = Image.new("RGBA", (self.w, self.h), (0, 0, 0, 0))
        layer.paste(grad, (0, 0), mask)
        self.img.alpha_composite(layer)

    def layer(self, draw_fn) -> None:
        """Draw translucent shapes blended over what is there (ImageDraw alone would replace the pixels)."""
        layer = Image.new("RGBA", (self.w, self.h), (0, 0, 0, 0))
        draw_fn(ImageDraw.Draw(layer))
        self.img.alpha_composite(layer)

    def done(self, angle: float = 0.0) -> Image.Image:
        out = self.img.resize((max(1, round(self.w / self.ss)), max(1, round(self.h / self.ss))), Image.Resampling.LANCZOS)
        if angle:
            out = out.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        return out


def place(img: Image.Image, sprite: Image.Image, cx: float, base_y: float, *, shadow: tuple[float, float, float, float] | None = None,
          contact: float = 0.0, reflect: float = 0.0) -> tuple[int, int]:
    """Paste a sprite with its bottom centre at (cx, base_y). ``shadow`` = (dx, dy, blur, opacity): a soft drop
    shadow from the sprite's own alpha; ``contact``: opacity of a soft ellipse where it meets the ground;
    ``reflect``: opacity of a mirrored copy below (on water)."""
    sw, sh = sprite.size
    x, y = round(cx - sw / 2), round(base_y - sh)
    alpha = sprite.getchannel("A")
    if contact:
        rw, rh = sw * 0.55, max(2.0, sh * 0.05)
        pad = int(rh * 3)
        box = (int(cx - rw - pad), int(base_y - rh - pad), int(cx + rw + pad), int(base_y + rh + pad))
        m = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
        ImageDraw.Draw(m).ellipse((pad, pad, pad + 2 * rw, pad + 2 * rh), fill=int(255 * contact))
        img.paste((0, 0, 0), box, m.filter(ImageFilter.GaussianBlur(rh)))
    if shadow:
        dx, dy, blur, opacity = shadow
        pad = int(blur * 2.5) + 4
        q = 4 if blur >= 8 else 1
        m = Image.new("L", ((sw + 2 * pad) // q + 1, (sh + 2 * pad) // q + 1), 0)
        m.paste(alpha.resize((max(1, sw // q), max(1, sh // q)), Image.Resampling.BILINEAR).point(lambda v: int(v * opacity)),
                (pad // q, pad // q))
        m = m.filter(ImageFilter.GaussianBlur(blur / q))
        if q > 1:
            m = m.resize((m.width * q, m.height * q), Image.Resampling.BILINEAR)
        img.paste((0, 0, 0), (int(x + dx - pad), int(y + dy - pad)), m)
    if reflect:
        flipped = sprite.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        fa = flipped.getchannel("A").point(lambda v: int(v * reflect))
        img.paste(flipped.convert("RGB").filter(ImageFilter.GaussianBlur(2)), (x, y + sh), fa)
    img.paste(sprite, (x, y), alpha)
    return x, y


def blur_soft(img: Image.Image, radius: float) -> Image.Image:
    """A cheap strong blur (depth of field): down, blur, up."""
    w, h = img.size
    small = img.resize((max(2, w // 4), max(2, h // 4)), Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(radius / 4))
    return small.resize((w, h), Image.Resampling.BICUBIC)


def finish(img: Image.Image, rng: np.random.Generator, horizon: float) -> Image.Image:
    """Vignette, the land darkening toward the bottom of the frame, and film grain (tiled from a seeded tile)."""
    w, h = img.size
    sw, sh = max(2, w // 8), max(2, h // 8)
    yy, xx = np.ogrid[0:sh, 0:sw]
    yn, xn = yy / sh, xx / sw
    vig = 1 - 0.45 * (((xn - 0.5) * 1.1) ** 2 + ((yn - 0.5) * 0.9) ** 2)
    vig = vig * (1 - 0.28 * np.clip((yn - horizon) / max(0.05, 1 - horizon), 0, 1) ** 1.3)
    v = Image.fromarray((vig * 255).astype(np.uint8), "L").resize((w, h), Image.Resampling.BILINEAR)
    img = ImageChops.multiply(img, Image.merge("RGB", (v, v, v)))
    tile = Image.fromarray((128 + rng.normal(0, 2.5, (128, 128))).clip(0, 255).astype(np.uint8), "L")
    grain = Image.new("L", (w, h))
    for ty in range(0, h, 128):
        for tx in range(0, w, 128):
            grain.paste(tile, (tx, ty))
    img = ImageChops.add(img, Image.merge("RGB", (grain, grain, grain)), 1.0, -128)
    # keep the darkest night readable (and above the vision gate's "too dark" line): lift shadows by gamma
    mean = float(np.asarray(img.convert("L").resize((max(1, w // 16), max(1, h // 16)))).mean())
    if 0 < mean < MIN_MEAN:
        gamma = math.log(MIN_MEAN / 255) / math.log(mean / 255)
        lut = [round(255 * (i / 255) ** gamma) for i in range(256)]
        img = img.point(lut * 3)
    return img
