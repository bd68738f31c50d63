"""Ken Burns moves: a zoom or pan over the keyframe, varied per scene.

The move is a small description (zoom and crop-centre at start and end); the final cut renders it
straight from the still in its one ffmpeg pass, so the picture is encoded once.
"""

from __future__ import annotations

import random
from pathlib import Path

from storygen.models import Scene
from storygen.providers.motion.base import Clip

VERSION = "kenburns-1"


def move_for(camera: str, seed: int) -> dict[str, float]:
    rnd = random.Random(seed)
    z = rnd.uniform(1.10, 1.22)  # how far to zoom
    drift = rnd.uniform(0.03, 0.06)
    c = {"zoom_from": 1.0, "zoom_to": 1.0, "x_from": 0.5, "x_to": 0.5, "y_from": 0.5, "y_to": 0.5}
    if camera == "zoom_in":
        c.update(zoom_from=1.0, zoom_to=z, y_to=0.5 - drift / 2)
    elif camera == "zoom_out":
        c.update(zoom_from=z, zoom_to=1.0, y_from=0.5 - drift / 2)
    elif camera in ("pan_left", "pan_right"):
        sign = -1 if camera == "pan_left" else 1
        c.update(zoom_from=z, zoom_to=z, x_from=0.5 - sign * drift * 1.5, x_to=0.5 + sign * drift * 1.5)
    elif camera in ("pan_up", "pan_down"):
        sign = -1 if camera == "pan_up" else 1
        c.update(zoom_from=z, zoom_to=z, y_from=0.5 - sign * drift, y_to=0.5 + sign * drift)
    else:  # static: a barely-there push so the frame still breathes
        c.update(zoom_from=1.0, zoom_to=1.04)
    # keep the crop window inside the image: its centre may move at most 0.5 - 0.5/zoom off centre
    for end in ("from", "to"):
        margin = 0.5 - 0.5 / c[f"zoom_{end}"]
        for axis in ("x", "y"):
            k = f"{axis}_{end}"
            c[k] = min(0.5 + margin * 0.95, max(0.5 - margin * 0.95, c[k]))
    return {k: round(v, 4) for k, v in c.items()}


class KenBurnsMotion:
    wants_gpu = False
    name = "kenburns"
    version = VERSION
    makes_video = False  # a camera move over the keyframe, rendered by the final cut

    def __init__(self, settings: dict | None = None, cfg: object | None = None):
        self.settings = settings or {}

    def animate(self, keyframe: Path, scene: Scene, out_dir: Path) -> Clip:
        return Clip(kind="kenburns", path=keyframe, duration=scene.duration, move=move_for(scene.camera, scene.seed))
