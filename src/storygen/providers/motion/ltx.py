"""LTX-Video image-to-video (diffusers LTXImageToVideoPipeline): the keyframe plus the scene prompt in,
an mp4 retimed to the scene out. Spec settings: 121 frames at 24 fps, up to 768x512 (portrait 512x768),
50 steps, guidance 3, bf16 on CUDA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storygen.config import Config
from storygen.errors import ConfigError
from storygen.models import Scene
from storygen.providers import accel, devices
from storygen.providers._diffusers import (applied_to, apply_memory_options, fit_to, load_diffusers, mark_applied,
                                           version_of)
from storygen.providers.motion.base import Clip
from storygen.providers.motion.frames import (clip_size, frames_8k1, load_keyframe, motion_words, oom_message,
                                              write_clip)

DEFAULT_MODEL = "Lightricks/LTX-Video"
LTX_NEGATIVE = "worst quality, inconsistent motion, blurry, jittery, distorted"


class LTXMotion:
    """clips.provider = "ltx"."""

    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "ltx"
    makes_video = True

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        s = dict(settings)
        self.model_ref, self.is_local = devices.resolve_model(str(s["model"]), DEFAULT_MODEL)
        self.steps = int(s["steps"])
        self.guidance = float(s["guidance"])
        self.frames = frames_8k1(int(s["frames"]))
        self.fps = int(s["fps"])
        w, h = int(s["width"]), int(s["height"])
        self.short, self.long = (min(w, h), max(w, h)) if w and h else (512, 768)
        if self.steps < 1 or self.fps < 1 or self.short < 32:
            raise ConfigError(f"clips steps={self.steps}, fps={self.fps}, size {self.short}x{self.long} are not usable for LTX.",
                              "use steps >= 1, fps >= 1 and sizes of at least 32 (multiples of 32)")
        self.offload = bool(s["offload"])
        self.device = devices.pick_device(str(s["device"]))
        self.compile = accel.wants_compile(s["compile"], self.device) and not self.offload
        self.compile_mode = str(s["compile_mode"])
        self.cutoff = float(s["guidance_cutoff"])
        if not 0.0 < self.cutoff <= 1.0:
            raise ConfigError(f"clips.guidance_cutoff={self.cutoff} is out of range.",
                              "use a share of the steps in (0, 1], e.g. 0.5; 1 keeps guidance on every step")
        self.version = version_of(self.model_ref, self.is_local)
        self.last: dict[str, Any] = {}
        self.applied: list[str] = []

    def _load(self) -> Any:
        pipe = devices.load_once(("ltx", self.model_ref, self.device, self.offload, self.compile, self.compile_mode,
                                  self.cutoff), self._build)
        self.applied = applied_to(pipe)
        return pipe

    def _build(self) -> Any:
        from diffusers import LTXImageToVideoPipeline

        dtype = devices.dtype_for(self.device, "bf16")
        if self.device.startswith("cuda") and not self.offload:
            devices.check_vram(20.0, "LTX-Video", "use clips.provider=svd or kenburns, or lower clips.frames/width/height",
                               self.device)
        pipe = load_diffusers(LTXImageToVideoPipeline, self.model_ref, self.is_local, dtype, key="clips.model",
                              what="LTX-Video")
        self.applied = apply_memory_options(pipe, self.device, offload=self.offload, vae_tiling=False)
        if self.compile:
            self.applied += accel.compile_denoiser(pipe, "transformer", mode=self.compile_mode)
        if self.cutoff < 1.0:
            pipe.transformer = accel.GuidanceCutoff(pipe.transformer, self.cutoff)
            self.applied.append(f"guidance_cutoff:{self.cutoff:g}")
        pipe.set_progress_bar_config(disable=True)
        mark_applied(pipe, self.applied)
        return pipe

    def animate(self, keyframe: Path, scene: Scene, out_dir: Path) -> Clip:
        import torch

        image = load_keyframe(Path(keyframe))
        w, h = clip_size(image.width, image.height, self.long, self.short, 32)
        cond = fit_to(image, w, h)
        pipe = self._load()
        prompt = f"{scene.prompt.strip().rstrip('.')}, {motion_words(scene.camera)}"
        negative = ", ".join(p for p in (scene.negative_prompt, LTX_NEGATIVE) if p)
        gen = torch.Generator(device="cpu").manual_seed(int(scene.seed) & 0xFFFFFFFFFFFF)
        kw: dict[str, Any] = dict(image=cond, prompt=prompt, negative_prompt=negative, width=w, height=h,
                                  num_frames=self.frames, frame_rate=self.fps, num_inference_steps=self.steps,
                                  guidance_scale=self.guidance, generator=gen, output_type="np")
        if getattr(pipe.vae.config, "timestep_conditioning", False):  # LTX 0.9.1+ VAE: the recommended decode noise
            kw.update(decode_timestep=0.05, decode_noise_scale=0.025)
        if isinstance(pipe.transformer, accel.GuidanceCutoff):
            pipe.transformer.begin(self.steps)
        with devices.oom_as(*oom_message("LTX-Video", w, h, self.frames,
                                         "lower clips.frames (e.g. 65) or clips.width/height, or use clips.provider=kenburns")):
            with torch.inference_mode():
                frames = pipe(**kw).frames[0]
        out = Path(out_dir) / f"scene_{scene.index:02d}.mp4"
        duration = scene.duration
        self.last = write_clip(frames, out, src_fps=self.fps, duration=duration, out_fps=self.fps)
        return Clip(kind="video", path=out, duration=duration, move={"generator": "ltx", **self.last})
