"""The motion protocol: a keyframe and its scene in, a clip out.

A clip is either a real video file (generated motion) or a Ken Burns move that the final cut
renders straight from the still, so the picture is encoded once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from storygen.models import Scene


@dataclass(frozen=True)
class Clip:
    kind: Literal["video", "kenburns"]
    path: Path  # the video file, or the still for a Ken Burns move
    duration: float
    move: dict[str, Any] = field(default_factory=dict)  # kenburns: {"zoom_from", "zoom_to", "x_from", ...}
    info: dict[str, Any] = field(default_factory=dict)  # what the provider chose and why (scores, attribution)


@runtime_checkable
class MotionGenerator(Protocol):
    """Capabilities: ``makes_video`` - the clips are generated video files (judged by the vision gate), not
    camera moves over the keyframe."""

    name: str
    version: str
    wants_gpu: bool  # runs best on a GPU: a scale-out engine sends its stages to a GPU worker
    makes_video: bool

    def animate(self, keyframe: Path, scene: Scene, out_dir: Path) -> Clip:
        ...
