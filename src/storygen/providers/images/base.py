"""The keyframe protocol: a scene in, one still image out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from PIL import Image

from storygen.models import Scene, StyleBible


@runtime_checkable
class ImageGenerator(Protocol):
    name: str
    version: str

    def generate(self, scene: Scene, style: StyleBible, *, width: int, height: int, seed: int) -> Image.Image:
        """Return an RGB image of exactly ``width`` x ``height``."""
        ...
