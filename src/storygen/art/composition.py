"""A scene's composition: layout, horizon, time of day, hero object, palette and camera move.

Each choice follows the scene's own words first; where the words say nothing, the scene's index picks it, so that
neighbouring scenes never share a layout (the layout cycles with the index) nor, unless their words say so, a time of
day or the hero's side of the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storygen.art.lexicon import SceneWords, read_scene

LAYOUTS = ("wide", "close", "low", "high")  # cycled by index; "interior" when the scene names a window
HORIZON = {"wide": (0.55, 0.62), "close": (0.40, 0.47), "low": (0.70, 0.77), "high": (0.27, 0.34), "interior": (0.40, 0.46)}
_DARK_MOODS = ("eerie", "tense", "sad")
_TIME_CYCLE = {"dark": ("night", "dusk", "night", "dawn"), "light": ("dusk", "day", "dawn", "night")}
# per time of day: sky top, sky at the horizon, and how much light the land gets
_TIME_SKY = {
    "dawn": ((43, 58, 103), (244, 163, 140), 0.95),
    "day": ((63, 124, 196), (191, 224, 242), 1.15),
    "dusk": ((42, 27, 74), (240, 138, 75), 0.85),
    "night": ((16, 22, 52), (52, 62, 116), 0.68),
}
SMALL = ("bottle", "letter")  # objects that sit in the foreground (or on the window sill)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def shade(c, f: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, round(x * f)))) for x in c)  # type: ignore[return-value]


@dataclass
class Palette:
    sky_hi: tuple[int, int, int]
    sky_lo: tuple[int, int, int]
    far: tuple[int, int, int]
    near: tuple[int, int, int]
    accent: tuple[int, int, int]
    light: float


@dataclass
class Composition:
    layout: str
    horizon: float
    time: str
    side: int  # +1: the hero stands right of centre, -1: left; the sun or moon takes the other side
    hero: str | None
    words: SceneWords
    palette: Palette
    camera: str
    drawn: list[str] = field(default_factory=list)


def time_of_day(sw: SceneWords, index: int, mood: str) -> str:
    if sw.time:
        return sw.time
    cycle = _TIME_CYCLE["dark" if mood in _DARK_MOODS else "light"]
    return cycle[index % len(cycle)]


def palette(mood_palette: list[str], time: str) -> Palette:
    base = [_rgb(c) for c in mood_palette[:5]]
    top, low, light = _TIME_SKY[time]
    sky_hi, sky_lo = mix(base[0], top, 0.55), mix(base[1], low, 0.5)
    far = shade(mix(base[2], sky_lo, 0.3), light)
    near = shade(mix(base[3], sky_lo, 0.2), min(1.0, light + 0.1))
    return Palette(sky_hi, sky_lo, far, near, base[4], light)


def camera_for(comp_layout: str, hero: str | None, sw: SceneWords, side: int) -> str:
    """The Ken Burns move that suits the composition: push in on a close-up or a road, pull back from a window,
    tilt up a tall subject, tilt down onto ground seen from above, else pan toward the hero."""
    if comp_layout == "close" or "road" in sw.objects:
        return "zoom_in"
    if comp_layout == "interior":
        return "zoom_out"
    if hero in ("lighthouse", "tree") or comp_layout == "low":
        return "pan_up"
    if comp_layout == "high":
        return "pan_down"
    return "pan_right" if side > 0 else "pan_left"


def camera_for_text(text: str, index: int) -> str:
    """The camera move for a scene's words and index (for a planner that wants the art's choice)."""
    sw = read_scene(text)
    layout = "interior" if "window" in sw.objects else LAYOUTS[index % len(LAYOUTS)]
    hero = next((o for o in sw.objects if o not in ("window", "road")), None)
    return camera_for(layout, hero, sw, 1 if index % 2 == 0 else -1)


def compose(text: str, backdrop_text: str, mood: str, mood_palette: list[str], *, index: int, rng) -> Composition:
    sw = read_scene(text, backdrop_text)
    layout = "interior" if "window" in sw.objects else LAYOUTS[index % len(LAYOUTS)]
    lo, hi = HORIZON[layout]
    time = time_of_day(sw, index, mood)
    side = 1 if index % 2 == 0 else -1
    hero = next((o for o in sw.objects if o not in ("window", "road")), None)
    return Composition(layout=layout, horizon=float(rng.uniform(lo, hi)), time=time, side=side, hero=hero, words=sw,
                       palette=palette(mood_palette, time), camera=camera_for(layout, hero, sw, side))
