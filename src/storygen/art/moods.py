"""Moods, palettes and visual motifs picked from plain words (deterministic, no model)."""

from __future__ import annotations

import re

# mood -> (palette top->bottom: sky high, sky low, far land, near land, accent)
PALETTES: dict[str, list[str]] = {
    "eerie": ["#0b1026", "#2b2d5c", "#3d4f7a", "#101426", "#9ad1d4"],
    "tense": ["#120d1f", "#4a1942", "#6b2d5c", "#14101c", "#f0544f"],
    "sad": ["#2c3e50", "#6b7f91", "#4b5d6b", "#1f2a33", "#c9d6df"],
    "wistful": ["#1b2a49", "#e09f7d", "#6d5a72", "#2a2438", "#f2c14e"],
    "hopeful": ["#274c77", "#f6ae2d", "#d1603d", "#3a2e39", "#fff1d0"],
    "warm": ["#5f0f40", "#fb8b24", "#9a031e", "#2b0a1a", "#ffd166"],
    "playful": ["#3a86ff", "#ffbe0b", "#8ac926", "#1d3557", "#ff006e"],
    "romantic": ["#3d1a4a", "#f28482", "#b5838d", "#2d1b33", "#ffcdb2"],
    "epic": ["#0d1b2a", "#e76f51", "#415a77", "#0b1320", "#ffd166"],
    "calm": ["#14213d", "#8ecae6", "#4a6fa5", "#1b263b", "#f1faee"],
}

_MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "eerie": ("eerie", "ghost", "haunt", "mysterious", "mystery", "strange", "shadow", "whisper", "creep", "horror", "dark", "fog"),
    "tense": ("tense", "danger", "storm", "fear", "afraid", "scream", "chase", "run", "blood", "thriller", "panic", "alarm"),
    "sad": ("sad", "grief", "lost", "loss", "alone", "lonely", "cry", "tears", "funeral", "goodbye", "melanchol", "regret"),
    "wistful": ("wistful", "memory", "remember", "nostalg", "letter", "bottle", "message", "old", "years", "once"),
    "hopeful": ("hope", "dawn", "sunrise", "light", "new", "begin", "uplift", "inspir", "dream", "rescue", "found"),
    "warm": ("warm", "home", "family", "heart", "kind", "friend", "cozy", "fire", "together"),
    "playful": ("funny", "playful", "silly", "laugh", "joke", "comed", "prank", "cat", "dog", "party"),
    "romantic": ("love", "romant", "kiss", "wedding", "date", "sweetheart"),
    "epic": ("epic", "battle", "war", "hero", "quest", "dragon", "adventure", "legend", "kingdom", "sword"),
    "calm": ("calm", "quiet", "peace", "still", "gentle", "serene"),
}

MOTIFS: dict[str, tuple[str, ...]] = {
    "sea": ("sea", "ocean", "wave", "shore", "beach", "bottle", "lighthouse", "harbor", "harbour", "ship", "boat", "tide", "island", "lake", "river"),
    "lighthouse": ("lighthouse", "beacon", "keeper"),
    "forest": ("forest", "tree", "wood", "woods", "pine", "jungle", "garden", "park"),
    "city": ("city", "street", "town", "building", "apartment", "office", "subway", "car", "neon", "rooftop"),
    "night": ("night", "moon", "star", "midnight", "dark", "evening", "dusk", "lantern", "candle"),
    "snow": ("snow", "winter", "ice", "frozen", "cold"),
    "desert": ("desert", "sand", "dune", "canyon"),
    "space": ("space", "planet", "galaxy", "astronaut", "rocket", "alien", "orbit"),
}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.casefold())


def pick_mood(*texts: str, default: str = "wistful") -> str:
    words = [w for t in texts for w in _words(t)]
    scores = {m: 0 for m in _MOOD_WORDS}
    for i, w in enumerate(words):
        weight = 3 if i < 8 else 1  # the tone word (first text) counts more
        for mood, stems in _MOOD_WORDS.items():
            if any(w.startswith(s) for s in stems):
                scores[mood] += weight
    best = max(scores, key=lambda m: scores[m])
    return best if scores[best] > 0 else default


def pick_motifs(text: str) -> set[str]:
    words = set(_words(text))
    found = {m for m, keys in MOTIFS.items() if any(k in words or (k + "s") in words for k in keys)}
    return found


def palette_for(mood: str) -> list[str]:
    return list(PALETTES.get(mood, PALETTES["wistful"]))
