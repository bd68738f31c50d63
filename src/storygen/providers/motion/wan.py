"""Wan2.1 / Wan2.2 image-to-video (diffusers WanImageToVideoPipeline): the keyframe plus the scene prompt in,
an mp4 retimed to the scene out. Wan2.1 I2V-14B-480P by default: 81 frames (4k+1) at 16 fps, 480x832 portrait,
50 steps, guidance 5, bf16 on CUDA with the VAE and image encoder in fp32 (as Wan-AI's examples load them).

Wan2.2 folders load too: A14B (two experts, no image encoder; 16 fps) and TI2V-5B (``expand_timesteps``;
24 fps). The clips section's frames and guidance defaults are LTX-Video's figures; while they are still at
those defaults this backend uses its own (``WanMotion.DEFAULTS``). ``clips.flow_shift`` > 0 replaces the
scheduler's shift (Wan recommends 3 for 480p, 5 for 720p; 0 keeps the folder's scheduler as saved).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from storygen.config import Config
from storygen.errors import ConfigError, ProviderError
from storygen.models import Scene
from storygen.providers import accel, devices
from storygen.providers._diffusers import (applied_to, apply_memory_options, fit_to, load_diffusers, mark_applied,
                                           own_defaults, version_of)
from storygen.providers.motion.base import Clip
from storygen.providers.motion.frames import clip_size, load_keyframe, motion_words, oom_message, write_clip

DEFAULT_MODEL = "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers"
# the negative prompt of Wan-AI's own examples, in English
WAN_NEGATIVE = ("bright colours, overexposed, static, blurred details, subtitles, worst quality, low quality, "
                "JPEG artifacts, ugly, deformed, extra fingers, poorly drawn hands, poorly drawn face, "
                "cluttered background, walking backwards")


def frames_4k1(n: int) -> int:
    """Nearest frame count of the form 4k+1 (what Wan's causal VAE needs), at least 5."""
    k = max(1, round((int(n) - 1) / 4))
    return 4 * k + 1


class WanMotion:
    """clips.provider = "wan"."""

    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "wan"
    makes_video = True
    # Wan-AI's figures; used while clips.frames/guidance are still LTX-Video's defaults
    DEFAULTS: ClassVar[dict[str, Any]] = {"frames": 81, "guidance": 5.0}
    MULTIPLE = 16  # VAE factor 8 x 2x2 patches

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        s = own_defaults(dict(settings), "clips", self.DEFAULTS)
        self.model_ref, self.is_local = devices.resolve_model(str(s["model"]), DEFAULT_MODEL)
        self.steps = int(s["steps"])
        self.guidance = float(s["guidance"])
        self.frames = frames_4k1(int(s["frames"]))
        self.fps = int(s["fps"])
        self.flow_shift = float(s.get("flow_shift", 0.0))
        w, h = int(s["width"]), int(s["height"])
        hd = "720" in Path(self.model_ref).name
        self.short, self.long = (min(w, h), max(w, h)) if w and h else ((720, 1280) if hd else (480, 832))
        if self.steps < 1 or self.fps < 1 or self.short < 32 or self.guidance < 0 or self.flow_shift < 0:
            raise ConfigError(f"clips steps={self.steps}, fps={self.fps}, guidance={self.guidance:g}, "
                              f"flow_shift={self.flow_shift:g}, size {self.short}x{self.long} are not usable for Wan.",
                              "use steps >= 1, fps >= 1, guidance >= 0, flow_shift >= 0 (0 = the model's) "
                              "and sizes of at least 32 (multiples of 16)")
        self.offload = bool(s["offload"])
        self.device = devices.pick_device(str(s["device"]))
        self.compile = accel.wants_compile(s["compile"], self.device) and not self.offload
        self.compile_mode = str(s["compile_mode"])
        self.version = version_of(self.model_ref, self.is_local)
        if self.flow_shift:
            self.version += f"+shift:{self.flow_shift:g}"
        self.last: dict[str, Any] = {}
        self.applied: list[str] = []

    def _load(self) -> Any:
        pipe = devices.load_once(("wan", self.model_ref, self.device, self.offload, self.compile, self.compile_mode,
                                  self.flow_shift), self._build)
        self.applied = applied_to(pipe)
        return pipe

    def _build(self) -> Any:
        import importlib.util

        import torch
        from diffusers import WanImageToVideoPipeline

        if importlib.util.find_spec("ftfy") is None:  # diffusers' Wan prompt cleaning calls ftfy unconditionally
            raise ProviderError("clips.provider=wan needs the 'ftfy' package, which is not installed.",
                                "pip install ftfy, or use clips.provider=ltx or kenburns")
        dtype = devices.dtype_for(self.device, "bf16")
        if self.device.startswith("cuda") and not self.offload:
            devices.check_vram(40.0, "Wan image-to-video",
                               "set clips.offload=true (CPU offload), use a smaller Wan (Wan2.2-TI2V-5B), or "
                               "clips.provider=ltx or kenburns", self.device)
        if dtype != torch.float32:  # Wan-AI load the VAE and image encoder in fp32 (per-component dtypes)
            dtype = {"default": dtype, "vae": torch.float32, "image_encoder": torch.float32}
        pipe = load_diffusers(WanImageToVideoPipeline, self.model_ref, self.is_local, dtype, key="clips.model",
                              what="Wan")
        shift = self._set_shift(pipe) if self.flow_shift else []
        self.applied = apply_memory_options(pipe, self.device, offload=self.offload, vae_tiling=False) + shift
        if self.compile:
            for attr in ("transformer", "transformer_2"):
                if getattr(pipe, attr, None) is not None:
                    self.applied += accel.compile_denoiser(pipe, attr, mode=self.compile_mode)
        pipe.set_progress_bar_config(disable=True)
        mark_applied(pipe, self.applied)
        return pipe

    def _set_shift(self, pipe: Any) -> list[str]:
        """A new scheduler of the folder's class with ``flow_shift`` (UniPC) or ``shift`` (FlowMatchEuler)."""
        config = pipe.scheduler.config
        key = "flow_shift" if "flow_shift" in config else "shift" if "shift" in config else ""
        if not key:
            raise ConfigError(f"clips.flow_shift is set but the scheduler {type(pipe.scheduler).__name__} has no shift.",
                              "set clips.flow_shift=0 to keep the model's scheduler")
        pipe.scheduler = type(pipe.scheduler).from_config(config, **{key: self.flow_shift})
        return [f"{key}:{self.flow_shift:g}"]

    @staticmethod
    def native_fps(pipe: Any) -> int:
        """The frame rate the model was trained at: 24 for Wan2.2 TI2V-5B (``expand_timesteps``), else 16."""
        return 24 if getattr(pipe.config, "expand_timesteps", False) else 16

    def animate(self, keyframe: Path, scene: Scene, out_dir: Path) -> Clip:
        import torch

        image = load_keyframe(Path(keyframe))
        w, h = clip_size(image.width, image.height, self.long, self.short, self.MULTIPLE)
        cond = fit_to(image, w, h)
        pipe = self._load()
        prompt = f"{scene.prompt.strip().rstrip('.')}, {motion_words(scene.camera)}"
        negative = ", ".join(p for p in (scene.negative_prompt, WAN_NEGATIVE) if p)
        gen = torch.Generator(device="cpu").manual_seed(int(scene.seed) & 0xFFFFFFFFFFFF)
        with devices.oom_as(*oom_message("Wan", w, h, self.frames,
                                         "set clips.offload=true, lower clips.frames (e.g. 49) or clips.width/height, "
                                         "or use clips.provider=kenburns")):
            with torch.inference_mode():
                frames = pipe(image=cond, prompt=prompt, negative_prompt=negative, width=w, height=h,
                              num_frames=self.frames, num_inference_steps=self.steps, guidance_scale=self.guidance,
                              generator=gen, output_type="np").frames[0]
        src_fps = self.native_fps(pipe)
        out = Path(out_dir) / f"scene_{scene.index:02d}.mp4"
        duration = scene.duration
        self.last = write_clip(frames, out, src_fps=src_fps, duration=duration, out_fps=self.fps)
        return Clip(kind="video", path=out, duration=duration, move={"generator": "wan", "src_fps": src_fps, **self.last})
