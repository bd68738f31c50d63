"""Procedural keyframes: layered landscape art whose palette follows the scene's mood and whose motifs
(sea, lighthouse, forest, city, night sky, snow, desert, space) follow the scene's words.

Deterministic for a seed, numpy-vectorised, about 0.3 s per 1080x1920 frame. It is art, not a
picture of the prompt: the README says so, and the heuristic judge never claims otherwise.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from storygen.art.moods import palette_for, pick_motifs
from storygen.models import Scene, StyleBible

VERSION = "procedural-1"


def _rgb(hex_color: str) -> np.ndarray:
    h = hex_color.lstrip("#")
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)


def _mix(a: np.ndarray, b: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    return a + (b - a) * t


class ProceduralImages:
    name = "procedural"
    version = VERSION

    def __init__(self, settings: dict | None = None, cfg: object | None = None):
        self.settings = settings or {}

    def generate(self, scene: Scene, style: StyleBible, *, width: int, height: int, seed: int) -> Image.Image:
        return render_landscape(scene.prompt + " " + scene.text, scene.palette or palette_for(scene.mood),
                                width=width, height=height, seed=seed)


def _ridge(rng: np.random.Generator, w: int, base: float, amp: float, roughness: int) -> np.ndarray:
    x = np.linspace(0, 1, w, dtype=np.float32)
    y = np.full(w, base, dtype=np.float32)
    for k in range(1, roughness + 1):
        y += (amp / k) * np.sin(2 * np.pi * (k * rng.uniform(0.6, 1.6)) * x + rng.uniform(0, 2 * np.pi))
    return y


def render_landscape(text: str, palette: list[str], *, width: int, height: int, seed: int) -> Image.Image:
    """Paint at half size (the art is soft gradients and silhouettes) and upscale: 4x less numpy work."""
    small = _paint(text, palette, width=max(8, width // 2), height=max(8, height // 2), seed=seed)
    return small.resize((width, height), Image.Resampling.BICUBIC)


def _paint(text: str, palette: list[str], *, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    motifs = pick_motifs(text)
    pal = [_rgb(c) for c in (palette + palette_for("wistful"))[:5]]
    sky_hi, sky_lo, far, near, accent = pal
    night = "night" in motifs or "space" in motifs
    h, w = height, width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yn, xn = yy / h, xx / w
    horizon = rng.uniform(0.52, 0.66)

    # sky: vertical gradient with a soft curve
    t = np.clip(yn / horizon, 0, 1)[..., None] ** 1.4
    img = _mix(sky_hi, sky_lo, t)

    # celestial body with glow
    cx, cy = rng.uniform(0.25, 0.75), rng.uniform(0.18, horizon - 0.15)
    r = rng.uniform(0.05, 0.09) * (1.0 if not night else 0.7)
    d = np.sqrt(((xn - cx) * w / h) ** 2 + (yn - cy) ** 2)
    body = (accent if not night else np.array([235, 235, 220], np.float32))
    glow = np.exp(-((d / (r * 3.2)) ** 2))[..., None]
    img = _mix(img, body, glow * 0.55)
    img = _mix(img, body, (d < r)[..., None].astype(np.float32) * 0.95)

    # stars
    if night:
        n = int(w * h / 2500)
        sx, sy = rng.integers(0, w, n), rng.integers(0, int(h * horizon), n)
        bright = rng.uniform(120, 255, n)[:, None]
        img[sy, sx] = np.maximum(img[sy, sx], bright)

    # mountain / hill layers, far to near, with atmospheric perspective
    layers = 4 if "desert" not in motifs else 3
    for i in range(layers):
        depth = i / max(1, layers - 1)
        base = horizon - 0.10 + 0.07 * i
        ridge = _ridge(rng, w, base, 0.05 * (1.2 - depth * 0.5), 5 if "desert" not in motifs else 2)
        mask = (yn >= ridge[None, :]).astype(np.float32)
        col = _mix(_mix(far, sky_lo, 0.55 * (1 - depth)), near, depth)
        if "snow" in motifs and i < 2:
            cap = ((yn >= ridge[None, :]) & (yn < ridge[None, :] + 0.02)).astype(np.float32)
            img = _mix(img, np.array([235, 240, 248], np.float32), cap[..., None] * 0.8)
            mask = mask * (1 - cap)
        if "forest" in motifs and i >= 1:
            # tree tops: a saw-tooth along the ridge
            teeth = (np.abs(((xx / (w / (30 + 12 * i))) % 1.0) - 0.5) * 0.03 * (1 + depth))
            tmask = (yn >= (ridge[None, :] - 0.035 + teeth)).astype(np.float32)
            mask = np.maximum(mask, tmask)
        if "city" in motifs and i == layers - 2:
            mask = np.maximum(mask, _skyline(rng, xn, yn, base - 0.06))
        img = _mix(img, col, mask[..., None])

    # water with reflections
    if "sea" in motifs:
        wl = horizon + 0.04
        wmask = (yn >= wl).astype(np.float32)
        depth = np.clip((yn - wl) / (1 - wl), 0, 1)
        water = _mix(sky_lo * 0.8, near * 0.9, depth[..., None])
        ripple = 0.5 + 0.5 * np.sin(yy * 0.35 + np.sin(xx * 0.02 + rng.uniform(0, 6)) * 3)
        refl = np.exp(-((xn - cx) / 0.06) ** 2) * (ripple > 0.7) * (1 - depth) * 0.7
        water = _mix(water, body, refl[..., None])
        img = _mix(img, water, wmask[..., None])
        if "lighthouse" in motifs:
            img = _lighthouse(img, xn, yn, w, h, wl, accent, rng)

    # fog band, grain and vignette
    fog = np.exp(-(((yn - horizon) / 0.05) ** 2))[..., None] * 0.25
    img = _mix(img, sky_lo, fog)
    img += rng.normal(0, 2.0, img.shape).astype(np.float32)
    vig = 1 - 0.45 * (((xn - 0.5) * 1.1) ** 2 + ((yn - 0.5) * 0.9) ** 2)
    img *= vig[..., None]
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    return out.filter(ImageFilter.GaussianBlur(0.4))


def _skyline(rng: np.random.Generator, xn: np.ndarray, yn: np.ndarray, base: float) -> np.ndarray:
    w = xn.shape[1]
    heights = np.zeros(w, np.float32) + 2.0
    x = 0
    while x < w:
        bw = int(rng.uniform(0.04, 0.1) * w)
        heights[x : x + bw] = base - rng.uniform(0.0, 0.14)
        x += bw + int(rng.uniform(0, 0.01) * w)
    return (yn >= heights[None, :]).astype(np.float32)


def _lighthouse(img, xn, yn, w, h, wl, accent, rng):
    lx = rng.choice([0.22, 0.78])
    top, bottom = wl - 0.22, wl + 0.01
    half = 0.018 + (yn - top) / (bottom - top) * 0.012
    tower = ((np.abs(xn - lx) * w / h < half) & (yn > top) & (yn < bottom)).astype(np.float32)
    stripes = ((((yn - top) / 0.035).astype(int) % 2) == 0).astype(np.float32)
    col_a, col_b = np.array([230, 225, 215], np.float32), np.array([150, 40, 40], np.float32)
    tcol = _mix(col_b, col_a, stripes[..., None])
    img = _mix(img, tcol, tower[..., None])
    lamp_y = top - 0.012
    d = np.sqrt(((xn - lx) * w / h) ** 2 + (yn - lamp_y) ** 2)
    img = _mix(img, accent, (np.exp(-((d / 0.03) ** 2)) * 0.9)[..., None])
    # beam sweeping toward the sea
    ang = np.arctan2(yn - lamp_y, (xn - lx) * w / h)
    beam_dir = 0.12 if lx < 0.5 else np.pi - 0.12
    beam = np.exp(-((ang - beam_dir) / 0.05) ** 2) * (d > 0.02) * np.exp(-d / 0.6) * 0.5
    return _mix(img, accent, beam[..., None])
