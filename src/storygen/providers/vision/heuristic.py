"""The offline default vision judge: pixel statistics only.

It catches blank/uniform, too-dark, too-bright and near-duplicate frames (64-bit perceptual hash
against earlier frames). It cannot see what the picture shows and says so in every verdict
(``judged_content=False`` plus a "content not judged" entry), so nobody mistakes it for a vision model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from storygen.config import Config
from storygen.models import Verdict
from storygen.providers.vision.judging import DUPLICATE_BITS, hamming, phash

CANNOT_JUDGE = "content not judged: the heuristic judge only checks for blank, dark, bright or duplicate frames"
NOTE_PREFIX = "content not judged"

UNIFORM_STD = 6.0  # luminance standard deviation (0-255) below which a mid-tone frame is blank/uniform
UNIFORM_STD_EXTREME = 2.0  # ... and a very dark or very bright one (those are low-contrast by nature)
DARK_MEAN = 28.0
BRIGHT_MEAN = 232.0


def stats(image: Image.Image) -> dict[str, float]:
    """Luminance mean and standard deviation on a 256-pixel-wide copy (fast on any size)."""
    im = image.convert("L")
    if im.width > 256:
        im = im.resize((256, max(1, round(im.height * 256 / im.width))), Image.Resampling.BILINEAR)
    a = np.asarray(im, dtype=np.float64)
    return {"mean": float(a.mean()), "std": float(a.std())}


class HeuristicJudge:
    """vision.provider = "heuristic"."""

    wants_gpu = False
    name = "heuristic"
    version = "1"
    judges_content = False  # pixel statistics only: blank, dark, bright or duplicate frames

    def __init__(self, settings: dict[str, Any] | None = None, cfg: Config | None = None):
        self.settings = dict(settings or {})

    def judge(self, image: Image.Image, prompt: str, *, others: list[Image.Image] | None = None) -> Verdict:
        st = stats(image)
        problems: list[str] = []
        score = 1.0
        extreme = st["mean"] < DARK_MEAN or st["mean"] > BRIGHT_MEAN
        if st["std"] < (UNIFORM_STD_EXTREME if extreme else UNIFORM_STD):
            problems.append(f"blank or uniform frame (contrast {st['std']:.1f}/255)")
            score = 0.0
        if st["mean"] < DARK_MEAN:
            problems.append(f"too dark (mean brightness {st['mean']:.0f}/255)")
            score = min(score, 0.3)
        elif st["mean"] > BRIGHT_MEAN:
            problems.append(f"too bright / washed out (mean brightness {st['mean']:.0f}/255)")
            score = min(score, 0.3)
        if others:
            h = phash(image)
            dists = [hamming(h, phash(o)) for o in others]
            best = min(dists)
            if best <= DUPLICATE_BITS:
                problems.append(f"near-duplicate of earlier frame #{dists.index(best)} (hash distance {best}/64)")
                score = min(score, 0.2)
        problems.append(CANNOT_JUDGE)
        return Verdict(score=score, problems=problems, judged_content=False, judge=f"{self.name}-{self.version}")


