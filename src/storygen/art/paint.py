"""Painting helpers: numpy gradients and glows, alpha sprites drawn supersampled, soft shadows, grain, vignette.
All whole-frame work is vectorised or done by Pillow in C; nothing loops over pixels in Python."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

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
    """A soft radial glow (Gaussian falloff) around (cx, cy), computed at quarter size."""
    w, h = img.size
    sw, sh = max(2, w // 4), max(2, h // 4)
    yy, xx = np.ogrid[0:sh, 0:sw]
    d2 = ((xx * 4 - cx) ** 2 + ((yy * 4 - cy) / flat) ** 2) / max(1.0, radius) ** 2
    alpha = (np.exp(-d2) * 255 * strength).clip(0, 255).astype(np.uint8)
    mask = Image.fromarray(alpha, "L").resize((w, h), Image.Resampling.BILINEAR)
    img.paste(color, (0, 0, w, h), mask)


def band(img: Image.Image, y: float, half: float, color, strength: float) -> None:
    """A horizontal haze band (fog on the horizon)."""
    w, h = img.size
    t = np.arange(h, dtype=np.float32)
    a = (np.exp(-(((t - y) / max(1.0, half)) ** 2)) * 255 * strength).astype(np.uint8)[:, None]
    mask = Image.fromarray(a, "L").resize((w, h), Image.Resampling.NEAREST)
    img.paste(color, (0, 0, w, h), mask)


class Sprite:
    """An RGBA drawing of one object, drawn at SS x its size; ``k`` is its height in sprite pixels."""

    def __init__(self, w: float, h: float):
        self.w, self.h = max(2, int(w * SS)), max(2, int(h * SS))
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
        out = self.img.resize((max(1, self.w // SS), max(1, self.h // SS)), Image.Resampling.LANCZOS)
        if angle:
            out = out.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        return out


def place(img: Image.Image, sprite: Image.Image, cx: float, base_y: float, *, shadow: tuple[float, float, float, float] | None = None,
          contact: float = 0.0, reflect: float = 0.0) -> tuple[int, int]:
    """Paste a sprite with its bottom centre at (cx, base_y). ``shadow`` = (dx, dy, blur, opacity): a soft drop
    shadow from the sprite's own alpha; ``contact``: opacity of a soft ellipse where it meets the ground;
    ``reflect``: opacity of a mirrored copy below (on water)."""
    sw, sh = sprite.size
    x, y = int(round(cx - sw / 2)), int(round(base_y - sh))
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
        pad = int(blur * 2.5)
        m = Image.new("L", (sw + 2 * pad, sh + 2 * pad), 0)
        m.paste(alpha.point(lambda v: int(v * opacity)), (pad, pad))
        m = m.filter(ImageFilter.GaussianBlur(blur))
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


def finish(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Vignette, a soft edge and film grain (tiled from a seeded noise tile)."""
    w, h = img.size
    sw, sh = max(2, w // 8), max(2, h // 8)
    yy, xx = np.ogrid[0:sh, 0:sw]
    vig = 1 - 0.45 * (((xx / sw - 0.5) * 1.1) ** 2 + ((yy / sh - 0.5) * 0.9) ** 2)
    v = Image.fromarray((vig * 255).astype(np.uint8), "L").resize((w, h), Image.Resampling.BILINEAR)
    img = ImageChops.multiply(img, Image.merge("RGB", (v, v, v)))
    img = img.filter(ImageFilter.GaussianBlur(0.5))
    tile = rng.normal(0, 2.2, (128, 128, 1)).astype(np.float32)
    reps = (h // 128 + 1, w // 128 + 1, 1)
    noise = np.tile(tile, reps)[:h, :w]
    arr = np.asarray(img, dtype=np.float32) + noise
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8), "RGB")
