"""The keyframe protocol: a scene in, one still image out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from PIL import Image

from storygen.models import Scene, StyleBible


@runtime_checkable
class ImageGenerator(Protocol):
    """Capabilities: ``draws_at_output_size`` - the generator draws straight at the video's size (1080x1920);
    otherwise it draws at ``keyframes.width`` x ``keyframes.height`` and the stage fits the result."""

    name: str
    version: str
    wants_gpu: bool  # runs best on a GPU: a scale-out engine sends its stages to a GPU worker
    draws_at_output_size: bool

    def generate(self, scene: Scene, style: StyleBible, *, width: int, height: int, seed: int) -> Image.Image:
        """Return an RGB image of exactly ``width`` x ``height``."""
        ...
