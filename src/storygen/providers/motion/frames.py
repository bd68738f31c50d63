"""Write generated frames to an H.264 mp4 retimed to a scene's length, in one ffmpeg call.

A clip that is close to the scene's length (within ``MAX_STRETCH``) is slowed down or sped up
smoothly (setpts); a much shorter one is ping-pong looped (forward, backward, forward ...), which
never jumps from the last frame back to the first. The output has exactly round(duration*fps) frames.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from storygen.errors import MediaError
from storygen.media.ffmpeg import run_ffmpeg
from storygen.workspace import atomic_path

if TYPE_CHECKING:
    from PIL import Image

MAX_STRETCH = 1.5


def to_uint8_frames(frames: Any) -> list[np.ndarray]:
    """Normalise pipeline output (PIL list, float array in [0,1] (F,H,W,C), uint8 array) to HxWx3 uint8 arrays."""
    out: list[np.ndarray] = []
    if isinstance(frames, np.ndarray) and frames.ndim == 4:
        seq: Sequence[Any] = list(frames)
    else:
        seq = list(frames)
    for f in seq:
        if hasattr(f, "convert"):  # PIL
            a = np.asarray(f.convert("RGB"))
        else:
            a = np.asarray(f)
            if a.dtype != np.uint8:
                a = np.clip(np.nan_to_num(a.astype(np.float32)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
            if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
                a = np.transpose(a, (1, 2, 0))
            if a.ndim == 2:
                a = np.stack([a] * 3, axis=-1)
            if a.shape[-1] == 1:
                a = np.repeat(a, 3, axis=-1)
        out.append(np.ascontiguousarray(a[..., :3]))
    if not out:
        raise MediaError("The video model returned no frames.", "check the clips settings (frames >= 2)")
    return out


def plan_retime(n_frames: int, src_fps: float, duration: float) -> tuple[list[int], float]:
    """(frame order, setpts factor) that fills ``duration`` seconds from ``n_frames`` at ``src_fps``.

    Within MAX_STRETCH the clip is slowed (factor > 1); a longer clip is sped up by at most MAX_STRETCH
    and then trimmed; a much shorter one is ping-pong looped at its own speed.
    """
    ratio = duration / (n_frames / src_fps)
    if ratio < 1.0:
        return list(range(n_frames)), max(ratio, 1.0 / MAX_STRETCH)
    if ratio <= MAX_STRETCH or n_frames < 2:
        return list(range(n_frames)), ratio
    needed = math.ceil(duration * src_fps) + 1
    cycle = list(range(n_frames)) + list(range(n_frames - 2, 0, -1))  # forward then backward, no repeated ends
    return [cycle[i % len(cycle)] for i in range(needed)], 1.0


def write_clip(frames: Any, out_path: Path, *, src_fps: float, duration: float, out_fps: int = 24,
               crf: int = 18, preset: str = "veryfast") -> dict[str, Any]:
    """Encode ``frames`` to ``out_path`` (mp4, yuv420p) lasting exactly ``duration`` s at ``out_fps``.

    Frames travel as one raw RGB file in a temp folder beside the output (no PNG round trip).
    Returns what was done: {"frames_in", "mode", "factor", "frames_out"}.
    """
    arr = to_uint8_frames(frames)
    h, w = arr[0].shape[:2]
    if any(a.shape != arr[0].shape for a in arr):
        raise MediaError("The video model returned frames of different sizes.", "report this as a bug")
    if duration <= 0:
        raise MediaError(f"A clip needs a positive duration, got {duration:.3f} s.", "check the scene's start and end")
    # yuv420p needs even sizes
    ew, eh = w - (w % 2), h - (h % 2)
    order, factor = plan_retime(len(arr), src_fps, duration)
    n_out = max(1, round(duration * out_fps))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # a slow source (SVD's ~7 fps, or a stretched clip) is blended up to out_fps, not stuttered by duplication
    eff_fps = src_fps / factor
    resample = f"framerate=fps={out_fps}" if eff_fps < out_fps - 0.5 else f"fps={out_fps}"
    vf = (f"crop={ew}:{eh}:0:0,setpts={factor:.6f}*PTS,{resample},"
          "tpad=stop_mode=clone:stop=-1,format=yuv420p")
    with tempfile.TemporaryDirectory(prefix=".frames.", dir=out_path.parent) as td:
        raw = Path(td) / "frames.rgb"
        with open(raw, "wb") as fh:
            for i in order:
                fh.write(arr[i].tobytes())
        with atomic_path(out_path) as tmp:
            run_ffmpeg(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-framerate", f"{src_fps:g}",
                        "-i", raw, "-vf", vf, "-frames:v", str(n_out), "-an", "-c:v", "libx264", "-preset", preset,
                        "-crf", str(crf), "-r", str(out_fps), "-movflags", "+faststart", "-f", "mp4", tmp],
                       what=f"writing {out_path.name}", duration=duration)
    return {"frames_in": len(arr), "mode": "pingpong" if len(order) > len(arr) else "stretch",
            "factor": round(factor, 4), "frames_out": n_out, "width": ew, "height": eh}


def clip_size(image_w: int, image_h: int, long_side: int, short_side: int, multiple: int = 32) -> tuple[int, int]:
    """(width, height) for generation: portrait keyframes get short x long, landscape long x short, multiples of ``multiple``."""
    def snap(v: int) -> int:
        return max(multiple, (int(v) // multiple) * multiple)

    if image_h >= image_w:
        return snap(short_side), snap(long_side)
    return snap(long_side), snap(short_side)


def frames_8k1(n: int) -> int:
    """Nearest frame count of the form 8k+1 (what LTX-Video's causal VAE needs), at least 9."""
    k = max(1, round((int(n) - 1) / 8))
    return 8 * k + 1


def load_keyframe(path: Path) -> "Image.Image":
    """Open a keyframe as RGB; a missing or unreadable file is a clear InputError."""
    from PIL import Image, UnidentifiedImageError

    from storygen.errors import InputError

    try:
        with Image.open(path) as im:
            im.load()
            image = im.convert("RGB")
    except FileNotFoundError:
        raise InputError(f"Keyframe '{path}' does not exist.", "re-run the keyframes stage") from None
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(f"Keyframe '{path}' is not a readable image ({type(e).__name__}).",
                         "replace it with a PNG/JPEG or re-run the keyframes stage") from e
    if min(image.size) < 16:
        raise InputError(f"Keyframe '{path}' is only {image.size[0]}x{image.size[1]} pixels.",
                         "use keyframes of at least 256 pixels on the short side")
    return image


def motion_words(camera: str) -> str:
    return {
        "zoom_in": "slow camera push in", "zoom_out": "slow camera pull back", "pan_left": "slow camera pan left",
        "pan_right": "slow camera pan right", "pan_up": "slow camera tilt up", "pan_down": "slow camera tilt down",
        "static": "static camera, subtle motion",
    }.get(camera, "subtle camera motion")


def oom_message(what: str, w: int, h: int, n: int, smaller: str) -> tuple[str, str]:
    """(problem, fix) of a clip that ran out of GPU memory, for ``devices.oom_as``."""
    return (f"The GPU ran out of memory generating a {n}-frame {w}x{h} {what} clip.",
            f"{smaller}; finished clips are kept and a re-run resumes at this scene")
