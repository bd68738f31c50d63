"""The vision-judge protocol: an image and the prompt it should show in, a verdict out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from PIL import Image

from storygen.models import Verdict


@runtime_checkable
class VisionJudge(Protocol):
    name: str
    version: str

    def judge(self, image: Image.Image, prompt: str, *, others: list[Image.Image] | None = None) -> Verdict:
        """Score 0-1 how well ``image`` shows ``prompt``; ``others`` are earlier frames (near-duplicate check)."""
        ...
