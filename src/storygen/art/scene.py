"""Paint one keyframe from a scene's words: sky and light for its time of day, a backdrop for its setting (sea,
hills, forest, city, desert, snow), then the objects it names, placed by its layout, each with a soft shadow.

``draw_scene`` returns the image with ``info["storygen_drawn"]`` (what was drawn, by name), ``info["storygen_layout"]``,
``info["storygen_time"]`` and ``info["storygen_camera"]`` (the Ken Burns move that suits the composition).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from storygen.art import props
from storygen.art.composition import SMALL, Composition, compose, mix, shade
from storygen.art.paint import (
    band,
    blur_soft,
    fill,
    finish,
    glow,
    hgradient,
    place,
    vgradient,
)

# object height as a share of the frame height when it stands at the bottom edge (depth 1)
SCALE = {"lighthouse": 0.62, "house": 0.32, "tree": 0.55, "figure": 0.3, "boat": 0.24, "bottle": 0.2, "letter": 0.17}
_STANDING = ("house", "tree", "figure")
_SAND = (214, 190, 150)


def _ridge(rng: np.random.Generator, w: int, base: float, amp: float, rough: int, n: int = 96) -> list[tuple[float, float]]:
    x = np.linspace(0, 1, n)
    y = np.full(n, base)
    for k in range(1, rough + 1):
        y += (amp / k) * np.sin(2 * np.pi * k * rng.uniform(0.6, 1.6) * x + rng.uniform(0, 2 * np.pi))
    return list(zip((x * w).tolist(), y.tolist()))


class _Painter:
    def __init__(self, comp: Composition, width: int, height: int, rng: np.random.Generator):
        self.c, self.W, self.H, self.rng = comp, width, height, rng
        self.hz = comp.horizon * height
        self.p = comp.palette
        self.sea = "sea" in comp.words.settings
        self.lit = comp.time in ("dusk", "night")
        self.shore_y: float | None = None
        self.img = Image.new("RGB", (width, height))
        self.draw = ImageDraw.Draw(self.img)

    def note(self, name: str) -> None:
        if name not in self.c.drawn:
            self.c.drawn.append(name)

    # -- sky ---------------------------------------------------------------------------------------------------
    def sky(self) -> None:
        c, p, W, H = self.c, self.p, self.W, self.H
        self.img.paste(vgradient((W, H), [(0, p.sky_hi), (max(0.05, c.horizon), p.sky_lo), (1, p.sky_lo)]))
        night = c.time == "night"
        space = "space" in c.words.settings
        if night or space:
            n = int(260 * W * H / (1080 * 1920)) + 20
            xs, ys = self.rng.uniform(0, W, n), self.rng.uniform(0, self.hz * 0.95, n)
            rs = self.rng.choice([0.6, 0.9, 1.4, 2.2], n, p=[0.5, 0.3, 0.15, 0.05]) * W / 1080
            br = self.rng.uniform(140, 255, n)
            for x, y, r, b in zip(xs, ys, rs, br):
                self.draw.ellipse((x - r, y - r, x + r, y + r), fill=(int(b), int(b), int(b * 0.95)))
            self.note("night_sky")
        else:
            self._clouds()
        # the sun or the moon, on the side away from the hero
        cx = W * (0.5 - c.side * float(self.rng.uniform(0.18, 0.3)))
        if night or space:
            r = W * 0.055
            cy = min(self.hz - r * 2, H * float(self.rng.uniform(0.1, 0.2)))
            glow(self.img, cx, cy, r * 3.5, (220, 225, 235), 0.35)
            moon = Image.new("RGBA", (int(4 * r) + 2, int(4 * r) + 2), (0, 0, 0, 0))
            md = ImageDraw.Draw(moon)
            md.ellipse((0, 0, 4 * r, 4 * r), fill=(236, 234, 220, 255))
            if c.layout != "close" and not c.words.moon:  # a crescent: the disc cut by a transparent one
                o = 4 * r * 0.42 * c.side
                md.ellipse((o, -0.5 * r, 4 * r + o, 3.5 * r), fill=(0, 0, 0, 0))
            moon = moon.resize((int(2 * r) + 1, int(2 * r) + 1), Image.Resampling.LANCZOS)
            self.img.paste(moon, (int(cx - r), int(cy - r)), moon)
            self.note("moon")
            if space:
                pr = W * 0.16
                px, py = W * 0.5 + c.side * W * 0.22, self.hz * 0.45
                self.draw.ellipse((px - pr, py - pr, px + pr, py + pr), fill=mix(p.accent, p.far, 0.5))
                self.draw.ellipse((px - pr * 1.7, py - pr * 0.25, px + pr * 1.7, py + pr * 0.25), outline=p.accent, width=int(W * 0.008))
                self.note("planet")
        else:
            low = c.time in ("dawn", "dusk")
            r = W * (0.1 if low else 0.045)
            cy = self.hz - r * 0.35 if low else min(self.hz - r * 3, H * 0.12)
            sun = mix(p.accent, (255, 240, 200), 0.4)
            glow(self.img, cx, cy, r * (4.5 if low else 5), sun, 0.6 if low else 0.45)
            self.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=sun)
            self.note("sun")
        self.sun_x = cx

    def _clouds(self) -> None:
        W, H = self.W, self.H
        sw, sh = max(2, W // 4), max(2, H // 4)
        m = Image.new("L", (sw, sh), 0)
        d = ImageDraw.Draw(m)
        for _ in range(int(self.rng.integers(3, 7))):
            cx, cy = self.rng.uniform(0, sw), self.rng.uniform(0.05, 0.85) * self.hz / 4
            for _ in range(4):
                rx, ry = self.rng.uniform(0.06, 0.16) * sw, self.rng.uniform(0.006, 0.015) * sh
                ox = self.rng.uniform(-0.1, 0.1) * sw
                d.ellipse((cx + ox - rx, cy - ry, cx + ox + rx, cy + ry), fill=int(self.rng.uniform(90, 170)))
        rows = max(2, int(self.hz / 4))
        m = m.crop((0, 0, sw, rows)).filter(ImageFilter.GaussianBlur(3)).resize((W, rows * 4), Image.Resampling.BILINEAR)
        self.img.paste(mix(self.p.sky_lo, (255, 255, 255), 0.45), (0, 0, W, rows * 4), m)

    # -- land and water ----------------------------------------------------------------------------------------
    def land(self) -> None:
        c, p, W, H, hz = self.c, self.p, self.W, self.H, self.hz
        sets = c.words.settings
        if "city" in sets:
            self._skyline(hz)
        if self.sea:
            self._headland()
            self._water()
        else:
            desert = "desert" in sets
            layers = 3
            for i in range(layers):
                depth = i / (layers - 1)
                base = hz + H * (-0.05 + 0.05 * i) * (1.4 if c.layout == "high" else 1.0)
                pts = _ridge(self.rng, W, base, H * (0.035 if not desert else 0.02) * (1.3 - depth * 0.5), 5 if not desert else 2)
                col = mix(mix(p.far, p.sky_lo, 0.45 * (1 - depth)), p.near, depth * 0.85)
                if desert:
                    col = mix(col, shade(_SAND, p.light), 0.55 - 0.2 * depth)
                if "snow" in sets:
                    col = mix(col, shade((226, 234, 244), 0.55 + 0.45 * p.light), 0.65 - 0.15 * depth)
                self.draw.polygon(pts + [(W, H), (0, H)], fill=col)
                if "snow" in sets and i < 2:  # caps on the peaks only
                    ys = [y for _, y in pts]
                    line = min(ys) + (max(ys) - min(ys)) * 0.45
                    cap = pts + [(x, min(max(y, line), y + H * 0.05)) for x, y in reversed(pts)]
                    self.draw.polygon(cap, fill=mix((236, 240, 248), p.sky_lo, 0.2))
                if "forest" in sets and i >= 1:
                    self._pines(pts, H * (0.035 + 0.025 * i), shade(col, 0.85))
                if i == 0:
                    band(self.img, hz - H * 0.02, H * 0.04, p.sky_lo, 0.35)
            self.note("dunes" if desert else "hills")
            self._ground_detail(pts, col)
            if "snow" in sets:
                self.note("snow")
        for s in ("forest", "city"):
            if s in sets:
                self.note(s)

    def _ground_detail(self, pts, col) -> None:
        """Tufts and stones across the nearest land, larger toward the viewer (perspective)."""
        W, H = self.W, self.H
        top = max(y for _, y in pts)
        n = int(110 * W / 1080)
        ts = self.rng.uniform(0, 1, n) ** 0.7
        for t in ts:
            x, y = float(self.rng.uniform(0, W)), top + (H - top) * float(t)
            size = H * (0.004 + 0.02 * float(t))
            tone = shade(col, 1.25 if self.rng.random() < 0.5 else 0.8)
            if self.rng.random() < 0.7:
                for lean in (-0.5, 0.0, 0.5):
                    self.draw.line([(x, y), (x + lean * size, y - size)], fill=tone, width=max(1, int(size * 0.12)))
            else:
                self.draw.ellipse((x - size, y - size * 0.45, x + size, y), fill=tone)

    def _skyline(self, base: float) -> None:
        p, W, H = self.p, self.W, self.H
        x = -W * 0.02
        col = mix(p.far, p.sky_lo, 0.25)
        scale = 1.5 if self.c.layout == "low" else 1.0
        win_w = max(1.0, W * 0.007)
        while x < W:
            bw = W * float(self.rng.uniform(0.05, 0.11))
            bh = H * float(self.rng.uniform(0.04, 0.16)) * scale
            self.draw.rectangle((x, base - bh, x + bw, base + 2), fill=shade(col, float(self.rng.uniform(0.75, 1.0))))
            if self.lit:
                for wy in np.arange(base - bh + win_w * 2, base - win_w * 2, win_w * 2.6):
                    for wx in np.arange(x + win_w, x + bw - win_w, win_w * 2.2):
                        if self.rng.random() < 0.3:
                            self.draw.rectangle((wx, wy, wx + win_w, wy + win_w * 1.3), fill=p.accent)
            x += bw + W * float(self.rng.uniform(0, 0.015))

    def _pines(self, pts, height: float, col) -> None:
        xs = np.array([x for x, _ in pts])
        ys = np.array([y for _, y in pts])
        x = -self.W * 0.02
        while x < self.W * 1.02:
            y = float(np.interp(x, xs, ys)) + height * 0.15
            h = height * float(self.rng.uniform(0.7, 1.3))
            self.draw.polygon([(x, y - h), (x + h * 0.22, y), (x - h * 0.22, y)], fill=col)
            x += h * float(self.rng.uniform(0.18, 0.32))

    def _headland(self) -> None:
        """A far, dark strip of coast on one side of the sea (where a lighthouse stands)."""
        p, W, H, hz = self.p, self.W, self.H, self.hz
        side = self.c.side if "lighthouse" in self.c.words.objects else -self.c.side
        reach = float(self.rng.uniform(0.25, 0.45))
        xs = np.linspace(0, reach, 40)
        ys = hz - H * 0.03 * np.sqrt(np.clip(1 - xs / reach, 0, 1)) * float(self.rng.uniform(0.8, 1.5))
        pts = [((1 - x) * W if side > 0 else x * W, y) for x, y in zip(xs, ys)]
        self.draw.polygon(pts + [(pts[-1][0], hz + 2), (pts[0][0], hz + 2)], fill=mix(p.far, p.sky_lo, 0.3))
        self.headland_x = W if side > 0 else 0.0

    def _water(self) -> None:
        p, W, H, hz = self.p, self.W, self.H, self.hz
        top, bottom = mix(mix(p.sky_lo, p.far, 0.25), (255, 255, 255), 0.05), shade(mix(p.near, p.far, 0.3), 0.9)
        self.img.paste(vgradient((W, H - int(hz)), [(0, top), (0.25, mix(top, bottom, 0.5)), (1, bottom)]), (0, int(hz)))
        # ripples and the glitter path under the sun or moon
        m = Image.new("L", (W, H - int(hz)), 0)
        d = ImageDraw.Draw(m)
        n = int(300 * W / 1080)
        ts = self.rng.uniform(0, 1, n) ** 1.6
        for t in ts:
            y = t * (H - hz)
            near_path = self.rng.random() < 0.6
            x = self.sun_x + self.rng.normal(0, W * (0.03 + 0.12 * t)) if near_path else self.rng.uniform(0, W)
            half = W * (0.004 + 0.03 * t) * float(self.rng.uniform(0.5, 1.5))
            d.line([(x - half, y), (x + half, y)], fill=int(self.rng.uniform(60, 200) if near_path else 45),
                   width=max(1, int(H * 0.0015 * (1 + 3 * t))))
        self.img.paste(mix(p.accent, (255, 255, 255), 0.35), (0, int(hz)), m)
        band(self.img, hz, self.H * 0.012, p.sky_lo, 0.5)
        self.note("sea")

    def shore(self) -> None:
        """A band of sand in the foreground of a sea scene: where things named by the scene can lie or stand."""
        c, p, W, H, hz = self.c, self.p, self.W, self.H, self.hz
        f = {"wide": 0.6, "close": 0.5, "low": 0.5, "high": 0.55, "interior": 0.6}[c.layout]
        base = hz + (H - hz) * f
        x = np.linspace(0, W, 80)
        y = base + H * 0.012 * np.sin(x / W * 2 * np.pi * float(self.rng.uniform(1, 2.5)) + float(self.rng.uniform(0, 6)))
        y = y - (x / W - 0.5) * c.side * H * 0.05
        pts = list(zip(x.tolist(), y.tolist()))
        sand = shade(mix(_SAND, p.far, 0.35), p.light)
        self.draw.polygon(pts + [(W, H), (0, H)], fill=sand)
        self.draw.line(pts, fill=mix(sand, (255, 255, 255), 0.6), width=max(1, int(H * 0.004)))
        self.shore_y = float(y.mean())
        self.note("shore")

    def road(self) -> None:
        c, p, W, H = self.c, self.p, self.W, self.H
        top = (self.shore_y or self.hz) + 2
        vx = W * (0.5 + c.side * 0.12)
        bx, half = W * (0.5 - c.side * 0.08), W * 0.42
        poly = [(vx - W * 0.012, top), (vx + W * 0.012, top), (bx + half, H), (bx - half, H)]
        asphalt = shade(mix((70, 70, 76), p.near, 0.4), p.light)
        self.draw.polygon(poly, fill=asphalt)
        line = mix((235, 220, 160), p.accent, 0.3)
        for i in range(9):
            t0, t1 = (i / 9) ** 2, ((i + 0.5) / 9) ** 2
            y0, y1 = top + (H - top) * t0, top + (H - top) * t1
            x0, x1 = vx + (bx - vx) * t0, vx + (bx - vx) * t1
            w0, w1 = W * (0.001 + 0.012 * t0), W * (0.001 + 0.012 * t1)
            self.draw.polygon([(x0 - w0, y0), (x0 + w0, y0), (x1 + w1, y1), (x1 - w1, y1)], fill=line)
        self.note("road")

    # -- objects -----------------------------------------------------------------------------------------------
    def objects(self) -> None:
        c = self.c
        outside = [o for o in c.words.objects if o not in ("window", "road") and not (c.layout == "interior" and (o in SMALL or o == "figure"))]
        slots = []
        for i, obj in enumerate(outside):
            slots.append((obj, *self._slot(obj, i, hero=(obj == c.hero))))
        for obj, dp, x, size in sorted(slots, key=lambda s: s[1]):
            self._put(obj, x, self.hz + dp * (self.H - self.hz), size, hero=(obj == c.hero))

    def _slot(self, obj: str, i: int, *, hero: bool) -> tuple[float, float, float]:
        """(depth 0 = horizon .. 1 = bottom edge, x centre, height in px) for the i-th named object."""
        c, W, H = self.c, self.W, self.H
        side = c.side if i % 2 == 0 else -c.side
        spread = 0.2 + 0.06 * (i // 2)
        if hero and c.layout == "close":
            dp, x, grow = 0.93, 0.5 + c.side * 0.06, 2.1
        else:
            dp = {"wide": 0.55, "close": 0.4, "low": 0.5, "high": 0.72, "interior": 0.35}[c.layout] * (1.0 if hero else 0.8 ** (i + 1))
            x, grow = 0.5 + side * spread, 1.0
        shore_dp = ((self.shore_y or self.hz) - self.hz) / max(1.0, self.H - self.hz)
        if obj == "boat" and self.sea:
            dp = min(dp, shore_dp * 0.75) if self.shore_y else dp * 0.8
        elif obj == "lighthouse" and self.sea and not (hero and c.layout == "close"):
            dp, x = 0.02, (0.84 if self.headland_x > 0 else 0.16)
            grow = 0.55 * (1.4 if hero else 1.0)
        elif obj in SMALL and not (hero and c.layout == "close"):
            dp, x = max(dp, 0.86 - 0.05 * i), 0.5 + side * 0.24
        elif self.shore_y and obj in _STANDING:
            dp = max(dp, shore_dp + 0.08)
        size = H * SCALE[obj] * (0.3 + 1.0 * dp) * grow
        if c.layout == "low":
            size *= 1.25
        if obj == "lighthouse":
            size = max(size, H * 0.2)
        return dp, W * x, min(size, H * 0.82)

    def _put(self, obj: str, x: float, base: float, size: float, *, hero: bool) -> None:
        c, p, rng = self.c, self.p, self.rng
        light = -c.side
        snow = "snow" in c.words.settings
        away = c.side * size
        standing = {"shadow": (away * 0.05, size * 0.01, max(1.0, size * 0.02), 0.3), "contact": 0.45}
        if obj == "bottle":
            lying = c.layout != "interior"
            spr = props.bottle(size, p, rng, angle=(c.side * float(rng.uniform(62, 80)) if lying else 0.0))
            place(self.img, spr, x, base, shadow=(away * 0.06, size * 0.05, max(1.0, size * 0.04), 0.45))
        elif obj == "letter":
            spr = props.letter(size, p, rng, angle=-c.side * float(rng.uniform(6, 18)))
            place(self.img, spr, x, base, shadow=(away * 0.05, size * 0.04, max(1.0, size * 0.035), 0.4))
        elif obj == "house":
            place(self.img, props.house(size, p, rng, lit=self.lit, snow=snow), x, base, **standing)
        elif obj == "figure":
            place(self.img, props.figure(size, p, rng, light_side=light), x, base, **standing)
        elif obj == "tree":
            place(self.img, props.tree(size, p, rng, pine=c.words.pine, snow=snow, light_side=light), x, base, **standing)
        elif obj == "boat":
            place(self.img, props.boat(size, p, rng), x, base, reflect=0.35 if self.sea else 0.0,
                  contact=0.0 if self.sea else 0.4)
        elif obj == "lighthouse":
            spr = props.lighthouse(size, p, rng, lit=self.lit)
            if self.lit:
                self._beam(x, base - size * 0.86, size)
            place(self.img, spr, x, base, contact=0.3)
        self.note(obj)

    def _beam(self, x: float, y: float, size: float) -> None:
        W, H = self.W, self.H
        sw, sh = max(2, W // 4), max(2, H // 4)
        m = Image.new("L", (sw, sh), 0)
        direction = -1 if x > W / 2 else 1
        ang = math.radians(float(self.rng.uniform(4, 14)))
        far = W * 1.2
        ex, spread = x + direction * far, far * math.tan(ang)
        ImageDraw.Draw(m).polygon([(x / 4, y / 4), (ex / 4, (y - spread * 0.2) / 4), (ex / 4, (y + spread) / 4)], fill=110)
        m = m.filter(ImageFilter.GaussianBlur(4)).resize((W, H), Image.Resampling.BILINEAR)
        self.img.paste(mix(self.p.accent, (255, 255, 255), 0.4), (0, 0, W, H), m)
        glow(self.img, x, y, size * 0.12, self.p.accent, 0.8)

    def foreground(self) -> None:
        """A close-up with nothing named: dark rocks and grass across the bottom of the frame."""
        p, W, H = self.p, self.W, self.H
        pts = _ridge(self.rng, W, H * 0.86, H * 0.04, 3)
        col = shade(p.near, 0.7)
        self.draw.polygon(pts + [(W, H), (0, H)], fill=col)
        for _ in range(int(90 * W / 1080)):
            gx = float(self.rng.uniform(0, W))
            gy = float(np.interp(gx, [q[0] for q in pts], [q[1] for q in pts])) + H * 0.01
            gh = H * float(self.rng.uniform(0.02, 0.07))
            lean = W * float(self.rng.uniform(-0.02, 0.02))
            self.draw.line([(gx, gy), (gx + lean, gy - gh)], fill=shade(col, 1.3), width=max(1, int(W * 0.003)))
        self.note("foreground")

    def interior(self) -> None:
        """The room around a window: wall, frame, sill and curtain; small named objects stand on the sill and a
        named figure stands inside."""
        c, p, W, H, rng = self.c, self.p, self.W, self.H, self.rng
        x0, x1 = W * (0.16 + 0.04 * c.side), W * (0.84 + 0.04 * c.side)
        y0, y1 = H * 0.1, H * 0.6
        wall = shade(mix((92, 74, 66), p.near, 0.45), 0.6 + 0.4 * p.light)
        fill(self.img, vgradient((W, H), [(0, shade(wall, 0.8)), (0.5, wall), (1, shade(wall, 0.55))]),
             lambda d: (d.rectangle((0, 0, W, H), fill=255), d.rounded_rectangle((x0, y0, x1, y1), radius=int(W * 0.03), fill=0)))
        glow(self.img, (x0 + x1) / 2, y1, W * 0.45, p.sky_lo, 0.22, flat=0.6)
        wood = shade(mix((150, 112, 80), p.far, 0.3), 0.7 + 0.3 * p.light)
        t = max(2, int(W * 0.022))
        self.draw.rounded_rectangle((x0, y0, x1, y1), radius=int(W * 0.03), outline=wood, width=t)
        mx, my = (x0 + x1) / 2, y0 + (y1 - y0) * 0.42
        self.draw.rectangle((mx - t / 2, y0, mx + t / 2, y1), fill=wood)
        self.draw.rectangle((x0, my - t / 2, x1, my + t / 2), fill=wood)
        sill = (x0 - W * 0.05, y1 - t * 0.3, x1 + W * 0.05, y1 + H * 0.025)
        place(self.img, Image.new("RGBA", (int(sill[2] - sill[0]), int(sill[3] - sill[1])), shade(wood, 1.2) + (255,)),
              (sill[0] + sill[2]) / 2, sill[3], shadow=(0, H * 0.015, H * 0.01, 0.5))
        # a curtain on the side away from the hero
        cw = W * 0.2
        cx0 = 0 if c.side > 0 else W - cw
        folds = [(i / 8, shade(mix((140, 60, 60), p.accent, 0.25), 0.55 + 0.35 * (i % 2))) for i in range(9)]
        fill(self.img, hgradient((int(cw), int(H * 0.75)), folds),
             lambda d: d.polygon([(0, 0), (cw, 0), (cw * (0.55 if c.side > 0 else 1), H * 0.75), (0 if c.side > 0 else cw * 0.45, H * 0.75)], fill=255),
             box=(int(cx0), 0, int(cx0 + cw), int(H * 0.75)))
        self.note("window")
        small = [o for o in c.words.objects if o in SMALL]
        for i, obj in enumerate(small):
            x = (x0 + x1) / 2 + (i - (len(small) - 1) / 2) * W * 0.22 + c.side * W * 0.05
            self._put(obj, x, y1 + H * 0.004, H * SCALE[obj] * 0.9, hero=obj == c.hero)
        if "figure" in c.words.objects:
            place(self.img, props.figure(H * 0.62, p, rng, light_side=-c.side), W * (0.5 - c.side * 0.32), H * 1.04)
            self.note("figure")


def draw_scene(text: str, backdrop_text: str, mood: str, mood_palette: list[str], *, index: int, width: int, height: int,
               seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    comp = compose(text, backdrop_text, mood, mood_palette, index=index, rng=rng)
    pt = _Painter(comp, width, height, rng)
    pt.headland_x = 0.0
    pt.sky()
    pt.land()
    grounded = [o for o in comp.words.objects if o not in ("boat", "lighthouse", "window")]
    if pt.sea and (comp.layout in ("wide", "close", "high") or grounded or "road" in comp.words.objects):
        pt.shore()
    if "road" in comp.words.objects:
        pt.road()
    if comp.layout == "close":
        pt.img = blur_soft(pt.img, 10)
        pt.draw = ImageDraw.Draw(pt.img)
        if not comp.hero:
            pt.foreground()
    pt.objects()
    if comp.layout == "interior":
        pt.interior()
    out = finish(pt.img, rng, comp.horizon)
    out.info.update({"storygen_drawn": list(comp.drawn), "storygen_layout": comp.layout, "storygen_time": comp.time,
                     "storygen_camera": comp.camera})
    return out
