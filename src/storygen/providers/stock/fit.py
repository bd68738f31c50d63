"""Check downloaded media and fit it to a scene: 1080x1920, the scene's length, the subject kept in frame.

- A clip longer than the scene is cut; one up to 1.5x too short is slowed; a shorter one loops with a
  crossfade at each seam (no visible jump back to the first frame).
- Scaling fills the 9:16 frame and crops around the picture's centre of detail (edge energy of a middle frame),
  so a subject off to one side of a landscape shot stays in frame.
- ``check_video`` / ``check_image`` reject what cannot be used: unreadable files, clips under 1 s, pictures under
  256 px.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from storygen.errors import MediaError
from storygen.media.ffmpeg import probe, run_ffmpeg
from storygen.providers.stock.ranking import MAX_SLOW, MIN_CLIP_S, MIN_SIDE
from storygen.workspace import atomic_path

OUT_W, OUT_H = 1080, 1920


class Unusable(MediaError):
    """A downloaded file that cannot be shown (unreadable, too short, too small)."""


# ---------------------------------------------------------------- checks
def check_video(path: Path) -> None:
    try:
        info = probe(path)
    except MediaError:
        raise Unusable("The downloaded clip is not a readable video.", "another candidate is tried.") from None
    if not info.has_video:
        raise Unusable("The downloaded clip has no video stream.", "another candidate is tried.")
    if info.duration < MIN_CLIP_S:
        raise Unusable(f"The downloaded clip lasts {info.duration:.2f} s (under {MIN_CLIP_S:g} s).",
                       "another candidate is tried.")
    if min(info.width, info.height) < MIN_SIDE:
        raise Unusable(f"The downloaded clip is {info.width}x{info.height} (under {MIN_SIDE} px).",
                       "another candidate is tried.")
    try:
        frame_at(path, 0.5)
    except Exception:  # noqa: BLE001 - any decode failure means unusable
        raise Unusable("The downloaded clip's frames cannot be decoded.", "another candidate is tried.") from None


def check_image(path: Path) -> None:
    try:
        with Image.open(path) as im:
            im.load()
            w, h = im.size
    except Exception:  # noqa: BLE001 - PIL raises many kinds
        raise Unusable("The downloaded photo is not a readable image.", "another candidate is tried.") from None
    if min(w, h) < MIN_SIDE:
        raise Unusable(f"The downloaded photo is {w}x{h} (under {MIN_SIDE} px).", "another candidate is tried.")


# ---------------------------------------------------------------- frames and subject
def frame_at(path: Path, fraction: float = 0.5) -> Image.Image:
    """The frame at ``fraction`` of a video's length, as RGB."""
    import av

    with av.open(os.fspath(path)) as c:
        stream = c.streams.video[0]
        dur = float(c.duration / 1e6) if c.duration else 0.0
        if dur > 0 and fraction > 0 and stream.time_base:
            c.seek(int(dur * fraction / float(stream.time_base)), stream=stream, backward=True)
        for f in c.decode(stream):
            return f.to_image().convert("RGB")
    raise MediaError(f"'{path}' has no video frames.", "another candidate is tried.")


def subject_centre(image: Image.Image) -> tuple[float, float]:
    """Where the detail is (0..1, 0..1): the centroid of edge energy, pulled halfway back to the middle."""
    g = np.asarray(image.convert("L").resize((96, max(1, round(96 * image.height / max(1, image.width))))),
                   dtype=np.float32)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.5, 0.5
    e = np.hypot(np.diff(g, axis=1)[:-1, :], np.diff(g, axis=0)[:, :-1])
    total = float(e.sum())
    if total <= 1e-6:
        return 0.5, 0.5
    ys, xs = np.mgrid[0:e.shape[0], 0:e.shape[1]]
    cx = float((e * xs).sum() / total) / max(1, e.shape[1] - 1)
    cy = float((e * ys).sum() / total) / max(1, e.shape[0] - 1)
    return 0.5 + 0.5 * (cx - 0.5), 0.5 + 0.5 * (cy - 0.5)


def fit_image(image: Image.Image, width: int = OUT_W, height: int = OUT_H) -> Image.Image:
    cx, cy = subject_centre(image)
    return ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS, centering=(cx, cy))


# ---------------------------------------------------------------- clips
def plan_timing(source_s: float, target_s: float) -> dict[str, float | str]:
    """How a ``source_s`` clip becomes ``target_s``: cut, slow or loop (with the numbers)."""
    if source_s >= target_s:
        start = min(0.5, (source_s - target_s) / 2)  # stock clips often open on a fade: skip a little when we can
        return {"mode": "cut", "start": round(start, 3)}
    if source_s * MAX_SLOW >= target_s:
        return {"mode": "slow", "factor": round(target_s / source_s, 4)}
    fade = round(min(0.5, source_s / 3), 3)
    copies = math.ceil((target_s - source_s) / (source_s - fade)) + 1
    return {"mode": "loop", "fade": fade, "copies": copies}


def fit_video(src: Path, dst: Path, target_s: float, *, fps: int = 30, width: int = OUT_W, height: int = OUT_H,
              timeout: float = 600) -> dict[str, float | str]:
    """Write ``dst``: ``src`` fitted to ``target_s`` seconds at ``width`` x ``height``, H.264, no audio."""
    info = probe(src)
    cx, cy = subject_centre(frame_at(src, 0.5))
    frame = (f"scale={width}:{height}:force_original_aspect_ratio=increase,"
             f"crop={width}:{height}:'min(max(iw*{cx:.4f}-ow/2,0),iw-ow)':'min(max(ih*{cy:.4f}-oh/2,0),ih-oh)',"
             f"setsar=1,fps={fps},format=yuv420p")
    timing = plan_timing(info.duration, target_s)
    args: list[str] = []
    if timing["mode"] == "cut":
        args += ["-ss", f"{timing['start']}", "-i", str(src), "-vf", frame]
    elif timing["mode"] == "slow":
        args += ["-i", str(src), "-vf", f"setpts=PTS*{timing['factor']},{frame}"]
    else:
        n, fade = int(timing["copies"]), float(timing["fade"])
        seg = max(fade * 2, math.floor((info.duration - 0.05) * fps) / fps)  # whole frames the file surely has
        for _ in range(n):
            args += ["-i", str(src)]
        chains = [f"[{i}:v]trim=duration={seg:.4f},setpts=PTS-STARTPTS,{frame},settb=AVTB[s{i}]" for i in range(n)]
        last = "s0"
        for i in range(1, n):
            chains.append(f"[{last}][s{i}]xfade=transition=fade:duration={fade}:offset={i * (seg - fade):.4f}[x{i}]")
            last = f"x{i}"
        args += ["-filter_complex", ";".join(chains), "-map", f"[{last}]"]
    args += ["-t", f"{target_s:.4f}", "-an", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
             "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
    with atomic_path(dst) as tmp:
        run_ffmpeg([*args, "-f", "mp4", str(tmp)], what=f"fitting the clip for {Path(dst).name}", timeout=timeout)
    return {**timing, "source_s": round(info.duration, 3), "target_s": round(target_s, 3),
            "centre": [round(cx, 3), round(cy, 3)]}
