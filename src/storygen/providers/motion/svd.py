"""Stable Video Diffusion image-to-video (diffusers StableVideoDiffusionPipeline), as the spec shows:
stable-video-diffusion-img2vid-xt, 25 frames, decode_chunk_size 8, fp16 on CUDA. The frames (conditioned
at 7 fps) are blended up to clips.fps and retimed to the scene.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storygen.config import Config
from storygen.errors import ConfigError
from storygen.models import Scene
from storygen.providers import devices
from storygen.providers._diffusers import apply_memory_options, fit_to, load_diffusers, version_of
from storygen.providers.motion.base import Clip
from storygen.providers.motion.frames import clip_size, load_keyframe, oom_message, write_clip

DEFAULT_MODEL = "stabilityai/stable-video-diffusion-img2vid-xt"
SVD_FRAMES = 25
SVD_FPS = 7  # the micro-conditioning frame rate the model was trained with (the pipeline's default)


class SVDMotion:
    """clips.provider = "svd"."""

    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "svd"
    makes_video = True

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        s = dict(settings)
        self.model_ref, self.is_local = devices.resolve_model(str(s["model"]), DEFAULT_MODEL)
        self.frames = max(2, min(int(s["frames"]), SVD_FRAMES))
        self.steps = int(s.get("svd_steps", 25))  # SVD's own default; clips.steps (50) is LTX's figure
        self.fps = int(s["fps"])
        self.decode_chunk_size = int(s["decode_chunk_size"])
        w, h = int(s["width"]), int(s["height"])
        self.short, self.long = (min(w, h), max(w, h)) if w and h else (576, 1024)
        if self.steps < 1 or self.fps < 1 or self.short < 64:
            raise ConfigError(f"SVD settings steps={self.steps}, fps={self.fps}, size {self.short}x{self.long} are not usable.",
                              "use fps >= 1 and sizes of at least 64 (multiples of 64)")
        self.offload = bool(s["offload"])
        self.device = devices.pick_device(str(s["device"]))
        self.version = version_of(self.model_ref, self.is_local)
        self.last: dict[str, Any] = {}

    def _load(self) -> Any:
        return devices.load_once(("svd", self.model_ref, self.device, self.offload), self._build)

    def _build(self) -> Any:
        from diffusers import StableVideoDiffusionPipeline

        dtype = devices.dtype_for(self.device, "fp16")
        if self.device.startswith("cuda") and not self.offload:
            devices.check_vram(16.0, "Stable Video Diffusion", "use clips.provider=kenburns or lower clips.width/height",
                               self.device)
        pipe = load_diffusers(StableVideoDiffusionPipeline, self.model_ref, self.is_local, dtype, key="clips.model",
                              what="Stable Video Diffusion")
        apply_memory_options(pipe, self.device, offload=self.offload, vae_tiling=False)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def animate(self, keyframe: Path, scene: Scene, out_dir: Path) -> Clip:
        import torch

        image = load_keyframe(Path(keyframe))
        w, h = clip_size(image.width, image.height, self.long, self.short, 64)
        cond = fit_to(image, w, h)
        pipe = self._load()
        gen = torch.Generator(device="cpu").manual_seed(int(scene.seed) & 0xFFFFFFFFFFFF)
        with devices.oom_as(*oom_message("SVD", w, h, self.frames,
                                         "lower clips.width/height, or use clips.provider=kenburns")):
            with torch.inference_mode():
                frames = pipe(image=cond, width=w, height=h, num_frames=self.frames, num_inference_steps=self.steps,
                              decode_chunk_size=self.decode_chunk_size, fps=SVD_FPS, generator=gen,
                              output_type="np").frames[0]
        out = Path(out_dir) / f"scene_{scene.index:02d}.mp4"
        duration = scene.duration
        self.last = write_clip(frames, out, src_fps=SVD_FPS, duration=duration, out_fps=self.fps)
        return Clip(kind="video", path=out, duration=duration, move={"generator": "svd", **self.last})
