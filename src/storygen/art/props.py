"""Objects drawn as vector sprites (Pillow polygons and ellipses with gradient shading): bottle, letter, house,
figure, boat, tree, lighthouse. Each takes its height in output pixels and returns an RGBA image whose bottom
centre stands on the ground."""

from __future__ import annotations

import numpy as np
from PIL import Image

from storygen.art.composition import Palette, mix, shade
from storygen.art.paint import Sprite

CREAM = (238, 228, 204)
INK = (70, 58, 52)


def bottle(size: float, pal: Palette, rng: np.random.Generator, *, angle: float) -> Image.Image:
    s = Sprite(size * 0.42, size)
    k, w = s.k, s.w
    c = w / 2
    glass = mix((46, 120, 90), pal.accent, 0.15)
    body_w, neck_w = k * 0.17, k * 0.065

    def outline(d):
        d.rounded_rectangle((c - body_w, k * 0.36, c + body_w, k * 0.995), radius=int(k * 0.06), fill=255)
        d.polygon([(c - body_w, k * 0.42), (c - neck_w, k * 0.2), (c + neck_w, k * 0.2), (c + body_w, k * 0.42)], fill=255)
        d.rectangle((c - neck_w, k * 0.06, c + neck_w, k * 0.22), fill=255)
        d.rounded_rectangle((c - neck_w * 1.3, k * 0.06, c + neck_w * 1.3, k * 0.1), radius=int(k * 0.01), fill=255)

    # the rolled message inside, then the tinted glass over it
    s.draw.rounded_rectangle((c - body_w * 0.55, k * 0.45, c + body_w * 0.35, k * 0.93), radius=int(k * 0.03), fill=CREAM + (255,))
    s.draw.line([(c - body_w * 0.1, k * 0.47), (c - body_w * 0.1, k * 0.91)], fill=shade(CREAM, 0.8) + (255,), width=max(1, int(k * 0.008)))
    s.shaded(outline, [(0, shade(glass, 0.45)), (0.3, shade(glass, 1.3)), (0.55, glass), (1, shade(glass, 0.35))], alpha=170)
    s.draw.rounded_rectangle((c - neck_w * 0.95, 0, c + neck_w * 0.95, k * 0.075), radius=int(k * 0.012), fill=(150, 105, 60, 255))
    s.layer(lambda d: d.rounded_rectangle((c - body_w * 0.72, k * 0.42, c - body_w * 0.5, k * 0.92), radius=int(k * 0.02),
                                         fill=(255, 255, 255, 120)))
    return s.done(angle)


def letter(size: float, pal: Palette, rng: np.random.Generator, *, angle: float) -> Image.Image:
    s = Sprite(size * 0.76, size)
    k, w = s.k, s.w
    fold = k * 0.12

    def sheet(d):
        d.polygon([(0, 0), (w - fold, 0), (w, fold), (w, k), (0, k)], fill=255)

    paper = mix(CREAM, pal.accent, 0.12)
    s.shaded(sheet, [(0, shade(paper, 1.04)), (1, shade(paper, 0.86))], horizontal=False)
    s.draw.polygon([(w - fold, 0), (w - fold, fold), (w, fold)], fill=shade(paper, 0.7) + (255,))
    lw = max(1, int(k * 0.007))
    y = k * 0.16
    while y < k * 0.86:
        x1 = w * 0.12 + w * 0.76 * float(rng.uniform(0.55, 1.0))
        s.draw.line([(w * 0.12, y), (x1, y)], fill=INK + (200,), width=lw)
        y += k * 0.055
    s.draw.ellipse((w * 0.64, k * 0.8, w * 0.8, k * 0.8 + w * 0.16), fill=(150, 30, 36, 255))  # wax seal
    return s.done(angle)


def house(size: float, pal: Palette, rng: np.random.Generator, *, lit: bool, snow: bool) -> Image.Image:
    s = Sprite(size * 1.15, size)
    k, w = s.k, s.w
    c = w / 2
    x0, x1, eave, ridge = c - k * 0.42, c + k * 0.42, k * 0.46, k * 0.08
    wall = mix((196, 170, 140), pal.far, 0.35)
    s.shaded(lambda d: d.rectangle((x0, eave, x1, k), fill=255), [(0, shade(wall, 1.1)), (1, shade(wall, 0.75))])
    s.draw.rectangle((c + k * 0.18, ridge + k * 0.04, c + k * 0.27, k * 0.3), fill=shade(pal.near, 1.4) + (255,))  # chimney
    roof = [(x0 - k * 0.07, eave + k * 0.02), (c, ridge), (x1 + k * 0.07, eave + k * 0.02)]
    s.shaded(lambda d: d.polygon(roof, fill=255), [(0, shade(pal.near, 1.7)), (1, shade(pal.near, 1.1))], horizontal=False)
    if snow:
        s.draw.polygon([(x0 - k * 0.07, eave), (c, ridge - k * 0.015), (x1 + k * 0.07, eave), (c, ridge + k * 0.08)], fill=(236, 240, 246, 255))
    glass = pal.accent if lit else mix(pal.sky_lo, (40, 50, 70), 0.4)
    for wx in (c - k * 0.28, c + k * 0.12):
        s.draw.rectangle((wx, k * 0.58, wx + k * 0.15, k * 0.74), fill=shade(wall, 0.55) + (255,))
        s.draw.rectangle((wx + k * 0.012, k * 0.592, wx + k * 0.138, k * 0.728), fill=glass + (255,))
        s.draw.line([(wx + k * 0.075, k * 0.59), (wx + k * 0.075, k * 0.73)], fill=shade(wall, 0.55) + (255,), width=max(1, int(k * 0.012)))
    s.draw.rectangle((c - k * 0.06, k * 0.68, c + k * 0.04, k), fill=shade(pal.near, 1.3) + (255,))  # door
    return s.done()


def figure(size: float, pal: Palette, rng: np.random.Generator, *, light_side: int) -> Image.Image:
    s = Sprite(size * 0.45, size)
    k, w = s.k, s.w
    c = w / 2

    def body(d, dx=0.0):
        d.ellipse((c - k * 0.065 + dx, k * 0.0, c + k * 0.065 + dx, k * 0.14), fill=255)
        d.polygon([(c - k * 0.12 + dx, k * 0.17), (c + k * 0.12 + dx, k * 0.17), (c + k * 0.17 + dx, k * 0.66),
                   (c - k * 0.17 + dx, k * 0.66)], fill=255)
        d.ellipse((c - k * 0.12 + dx, k * 0.13, c + k * 0.12 + dx, k * 0.24), fill=255)
        d.rectangle((c - k * 0.1 + dx, k * 0.64, c - k * 0.025 + dx, k * 0.99), fill=255)
        d.rectangle((c + k * 0.025 + dx, k * 0.64, c + k * 0.1 + dx, k * 0.99), fill=255)

    rim = mix(pal.accent, (255, 255, 255), 0.2)
    dark = shade(pal.near, 0.6)
    s.shaded(body, [(0, rim), (1, rim)])
    s.shaded(lambda d: body(d, -light_side * min(k * 0.014, 5.0)), [(0, shade(dark, 1.3)), (1, dark)], horizontal=False)
    return s.done()


def boat(size: float, pal: Palette, rng: np.random.Generator) -> Image.Image:
    s = Sprite(size * 1.1, size)
    k, w = s.k, s.w
    c = w / 2
    hull = [(c - k * 0.5, k * 0.76), (c + k * 0.52, k * 0.76), (c + k * 0.38, k * 0.98), (c - k * 0.36, k * 0.98)]
    s.shaded(lambda d: d.polygon(hull, fill=255), [(0, (150, 58, 44)), (1, (70, 26, 24))], horizontal=False)
    s.draw.rectangle((c - k * 0.5, k * 0.76, c + k * 0.52, k * 0.79), fill=(228, 214, 190, 255))
    s.draw.rectangle((c - k * 0.012, k * 0.04, c + k * 0.012, k * 0.77), fill=(80, 60, 46, 255))
    sail = [(c + k * 0.02, k * 0.06), (c + k * 0.02, k * 0.72), (c + k * 0.42, k * 0.72)]
    s.shaded(lambda d: d.polygon(sail, fill=255), [(0, (246, 238, 220)), (1, shade(mix(CREAM, pal.accent, 0.3), 0.85))])
    jib = [(c - k * 0.02, k * 0.12), (c - k * 0.02, k * 0.72), (c - k * 0.3, k * 0.72)]
    s.shaded(lambda d: d.polygon(jib, fill=255), [(0, shade(CREAM, 0.8)), (1, CREAM)])
    return s.done()


def tree(size: float, pal: Palette, rng: np.random.Generator, *, pine: bool, snow: bool, light_side: int) -> Image.Image:
    s = Sprite(size * 0.8, size)
    k, w = s.k, s.w
    c = w / 2
    leaf = mix((52, 96, 60), pal.near, 0.45)
    bark = mix((80, 58, 44), pal.near, 0.4)
    if pine:
        s.draw.rectangle((c - k * 0.03, k * 0.8, c + k * 0.03, k), fill=bark + (255,))
        for i in range(5):
            top, bot = k * (0.02 + i * 0.15), k * (0.3 + i * 0.13)
            half = k * (0.12 + i * 0.065)
            lit_tone, dark_tone = shade(leaf, 1.2) + (255,), shade(leaf, 0.7) + (255,)
            s.draw.polygon([(c, top), (c + half, bot), (c, bot)], fill=lit_tone if light_side > 0 else dark_tone)
            s.draw.polygon([(c, top), (c - half, bot), (c, bot)], fill=dark_tone if light_side > 0 else lit_tone)
            if snow:
                s.draw.polygon([(c, top), (c + half * 0.5, top + (bot - top) * 0.45), (c - half * 0.5, top + (bot - top) * 0.45)],
                               fill=(236, 240, 246, 255))
        return s.done()
    s.draw.polygon([(c - k * 0.06, k), (c + k * 0.06, k), (c + k * 0.025, k * 0.45), (c - k * 0.025, k * 0.45)], fill=bark + (255,))
    s.draw.line([(c, k * 0.62), (c + k * 0.16, k * 0.42)], fill=bark + (255,), width=int(k * 0.03))
    s.draw.line([(c, k * 0.68), (c - k * 0.15, k * 0.5)], fill=bark + (255,), width=int(k * 0.03))
    blobs = [(float(rng.uniform(-0.22, 0.22)), float(rng.uniform(0.12, 0.45)), float(rng.uniform(0.13, 0.2))) for _ in range(9)]
    for tone, dx in ((0.7, 0.0), (1.15, light_side * 0.03)):
        col = shade(leaf, tone) + (255,)
        for bx, by, r in blobs:
            rr = r * (1.0 if tone < 1 else 0.72)
            cx, cy = c + (bx + dx) * k, (by - (0 if tone < 1 else 0.025)) * k
            s.draw.ellipse((cx - rr * k, cy - rr * k, cx + rr * k, cy + rr * k), fill=col)
    if snow:
        for bx, by, r in blobs[:4]:
            cx, cy = c + bx * k, (by - r * 0.6) * k
            s.draw.ellipse((cx - r * 0.6 * k, cy - r * 0.25 * k, cx + r * 0.6 * k, cy + r * 0.25 * k), fill=(236, 240, 246, 255))
    return s.done()


def lighthouse(size: float, pal: Palette, rng: np.random.Generator, *, lit: bool) -> Image.Image:
    s = Sprite(size * 0.36, size)
    k, w = s.k, s.w
    c = w / 2
    tower = [(c - k * 0.08, k * 0.22), (c + k * 0.08, k * 0.22), (c + k * 0.13, k * 0.97), (c - k * 0.13, k * 0.97)]
    white, red = mix((232, 226, 214), pal.sky_lo, 0.15), (166, 44, 44)

    s.shaded(lambda d: d.polygon(tower, fill=255), [(0, shade(white, 0.6)), (0.35, shade(white, 1.08)), (1, shade(white, 0.45))])

    def red_bands(d):
        for i in range(4):
            y0 = k * (0.3 + i * 0.18)
            d.rectangle((0, y0, w, y0 + k * 0.08), fill=255)
        d.polygon([(0, 0), (c - k * 0.08 - 1, 0), (c - k * 0.13 - 1, k), (0, k)], fill=0)
        d.polygon([(w, 0), (c + k * 0.08 + 1, 0), (c + k * 0.13 + 1, k), (w, k)], fill=0)

    s.shaded(red_bands, [(0, shade(red, 0.55)), (0.35, shade(red, 1.1)), (1, shade(red, 0.45))])
    s.draw.rectangle((c - k * 0.12, k * 0.19, c + k * 0.12, k * 0.23), fill=(40, 36, 40, 255))  # gallery
    lamp = pal.accent if lit else mix(pal.sky_lo, (220, 230, 235), 0.5)
    s.draw.rectangle((c - k * 0.065, k * 0.09, c + k * 0.065, k * 0.19), fill=lamp + (255,))
    s.draw.line([(c, k * 0.09), (c, k * 0.19)], fill=(40, 36, 40, 255), width=max(1, int(k * 0.01)))
    s.draw.pieslice((c - k * 0.085, k * 0.01, c + k * 0.085, k * 0.17), 180, 360, fill=(40, 36, 40, 255))
    s.draw.ellipse((c - k * 0.2, k * 0.93, c + k * 0.2, k * 1.05), fill=shade(pal.near, 0.8) + (255,))  # rocks
    return s.done()
