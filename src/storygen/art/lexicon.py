"""What a scene's words ask the procedural art to draw: objects, settings and the time of day (plain word lists)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# drawable objects, in the names recorded in ``image.info["storygen_drawn"]``
OBJECTS: dict[str, tuple[str, ...]] = {
    "bottle": ("bottle", "bottles", "flask", "jar"),
    "letter": ("letter", "letters", "note", "notes", "message", "messages", "paper", "papers", "page", "pages",
               "envelope", "ticket", "card", "postcard", "diary", "journal", "map", "scroll"),
    "house": ("house", "houses", "home", "cottage", "cabin", "hut", "farmhouse", "homestead", "barn"),
    "figure": ("man", "men", "woman", "women", "keeper", "girl", "boy", "child", "children", "person", "people",
               "stranger", "father", "mother", "dad", "mom", "family", "friend", "sailor", "fisherman", "astronaut",
               "cook", "cooks", "traveler", "traveller", "soldier", "king", "queen", "wife", "husband", "son", "daughter",
               "grandmother", "grandfather", "figure", "knight", "hunter", "widow"),
    "boat": ("boat", "boats", "ship", "ships", "rowboat", "sailboat", "canoe", "ferry", "yacht", "vessel", "raft"),
    "tree": ("tree", "trees", "oak", "pine", "pines", "willow", "birch", "maple", "elm", "orchard"),
    "window": ("window", "windows", "windowsill", "pane"),
    "road": ("road", "roads", "street", "streets", "path", "lane", "highway", "trail", "avenue", "driveway"),
    "lighthouse": ("lighthouse", "lighthouses", "beacon"),
}

SETTINGS: dict[str, tuple[str, ...]] = {
    "sea": ("sea", "seas", "ocean", "wave", "waves", "shore", "beach", "tide", "harbor", "harbour", "reef", "bay",
            "coast", "island", "lake", "river", "surf", "cove"),
    "forest": ("forest", "forests", "woods", "jungle", "wilderness"),
    "city": ("city", "town", "street", "streets", "building", "buildings", "downtown", "neon", "rooftop", "station",
             "subway", "skyline", "apartment", "office"),
    "desert": ("desert", "sand", "dune", "dunes", "canyon"),
    "snow": ("snow", "winter", "ice", "frozen", "blizzard", "frost", "snowed"),
    "space": ("space", "planet", "galaxy", "orbit", "rocket", "cosmos"),
}
# an object that only exists in a setting brings the setting with it
IMPLIED_SETTING = {"boat": "sea", "lighthouse": "sea"}

TIMES: dict[str, tuple[str, ...]] = {
    "night": ("night", "nights", "midnight", "nightfall", "moon", "moonlight", "moonlit", "star", "stars", "starlight",
              "starry", "darkness", "lantern", "candle"),
    "dusk": ("dusk", "sunset", "evening", "twilight", "sundown", "orange"),
    "dawn": ("dawn", "sunrise", "morning", "daybreak"),
    "day": ("noon", "midday", "afternoon", "sunny", "daylight", "sunshine", "today"),
}
# a third-person character with no noun still gets a figure (after the named objects, so never before them)
PRONOUNS = ("he", "she", "him", "her")
PINE_WORDS = ("pine", "pines", "fir", "spruce", "forest", "snow", "winter")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.casefold())


@dataclass
class SceneWords:
    objects: list[str] = field(default_factory=list)  # in order of first mention
    settings: list[str] = field(default_factory=list)
    time: str | None = None
    pine: bool = False
    moon: bool = False


def _first_hits(ws: list[str], table: dict[str, tuple[str, ...]]) -> list[str]:
    hits: list[tuple[int, str]] = []
    for name, keys in table.items():
        pos = [i for i, w in enumerate(ws) if w in keys]
        if pos:
            hits.append((pos[0], name))
    return [name for _, name in sorted(hits)]


def read_scene(text: str, backdrop_text: str = "") -> SceneWords:
    """Objects and time of day come from the scene's own words (``text``); settings too, falling back to
    ``backdrop_text`` (the prompt, which carries the story's setting) when the scene names none."""
    ws = words(text)
    objects = _first_hits(ws, OBJECTS)
    if "figure" not in objects and any(w in PRONOUNS for w in ws):
        objects.append("figure")
    # the story's setting as a backdrop; never outer space unless the scene says so (an astronaut at home)
    settings = _first_hits(ws, SETTINGS) or [s for s in _first_hits(words(backdrop_text), SETTINGS) if s != "space"]
    for obj in objects:
        implied = IMPLIED_SETTING.get(obj)
        if implied and implied not in settings:
            settings.append(implied)
    counts = {t: sum(w in keys for w in ws) for t, keys in TIMES.items()}
    best = max(counts, key=lambda t: counts[t])
    return SceneWords(objects=objects, settings=settings, time=best if counts[best] else None,
                      pine=any(w in PINE_WORDS for w in ws) or "forest" in settings or "snow" in settings,
                      moon="moon" in ws or "moonlight" in ws or "moonlit" in ws)
