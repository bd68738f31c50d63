"""The vision-judge protocol: an image and the prompt it should show in, a verdict out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from PIL import Image

from storygen.models import Verdict


@runtime_checkable
class VisionJudge(Protocol):
    """Capabilities: ``judges_content`` - the judge looks at what the picture shows (a vision-language model),
    not only at exposure, blankness and near-duplicates."""

    name: str
    version: str
    wants_gpu: bool  # runs best on a GPU: a scale-out engine sends its stages to a GPU worker
    judges_content: bool

    def judge(self, image: Image.Image, prompt: str, *, others: list[Image.Image] | None = None) -> Verdict:
        """Score 0-1 how well ``image`` shows ``prompt``; ``others`` are earlier frames (near-duplicate check)."""
        ...
