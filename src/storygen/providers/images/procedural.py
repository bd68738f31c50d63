"""Procedural keyframes (no key, no GPU): a vector-drawn picture of each scene's own words.

The scene's narration picks what is drawn (a bottle, a letter, a house, a figure, a boat, a tree, a window, a road,
a lighthouse; sea, hills, forest, city, desert, snow, night sky, moon), its time of day and its palette; its index
picks the layout (wide, close-up, low or high horizon; a room when it names a window), so neighbouring scenes never
share a composition. Deterministic for a seed; drawn straight at the output size in well under a second.

The image's ``info["storygen_drawn"]`` lists what was drawn, ``info["storygen_camera"]`` the move that suits it.
See ``storygen.art.scene``.
"""

from __future__ import annotations

from PIL import Image

from storygen.art.moods import palette_for
from storygen.art.scene import draw_scene
from storygen.models import Scene, StyleBible

VERSION = "procedural-2"


class ProceduralImages:
    wants_gpu = False
    name = "procedural"
    version = VERSION
    draws_at_output_size = True

    def __init__(self, settings: dict | None = None, cfg: object | None = None):
        self.settings = settings or {}

    def generate(self, scene: Scene, style: StyleBible, *, width: int, height: int, seed: int) -> Image.Image:
        # the narration is the scene's own words; the prompt also carries the story's setting (used as a backdrop
        # when the scene names none) but also the title, which must not put the title's objects in every scene
        return draw_scene(scene.text, scene.prompt, scene.mood, scene.palette or palette_for(scene.mood),
                          index=scene.index, width=width, height=height, seed=seed)
