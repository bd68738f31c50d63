"""WhisperX: Whisper ASR, then wav2vec2 CTC forced alignment for word times, as in the spec:

    model = whisperx.load_model("large-v2", device=device)
    result = model.transcribe(audio_file)
    align_model, metadata = whisperx.load_align_model(language_code=result["language"], device=device)
    result = whisperx.align(result["segments"], align_model, metadata, audio_file, device)

Install: ``pip install 'storygen[whisperx]'`` (whisperx, pandas, nltk; a torchaudio that matches your torch
is needed only for whisperx's torchaudio model bundles, and pyannote-audio only for ``whisperx.load_model``'s VAD).

Offline / partial installs (what this provider does, and records in ``self.backend``):
  * ``whisperx.load_model`` needs pyannote-audio (its VAD) and the large-v2 weights already in the Hugging
    Face cache (nothing is downloaded at run time: ``huggingface-cli download Systran/faster-whisper-large-v2``). When it cannot be
    loaded, the Whisper pass is run by faster-whisper (the same engine whisperx wraps) on the model
    ``captions.asr_model`` names, or the packaged tiny.en, and handed to ``whisperx.align`` unchanged.
  * ``captions.align_model`` may name a local folder (or HF id) with a wav2vec2 CTC model; "" uses
    whisperx's default for the language (downloads on first use).
  * When torchaudio cannot be imported (PyPI has no CPU torchaudio for torch 2.13), whisperx's
    alignment module still works with Hugging Face alignment models: it only reads
    ``torchaudio.pipelines`` to recognise torchaudio bundle names, so an empty stand-in is supplied.
  * When the NLTK punkt data is not installed, an untrained Punkt splitter is used (whisperx only uses
    it to cut segments into sentences).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from storygen.config import DEFAULTS, Config
from storygen.errors import InputError, ProviderError
from storygen.models import HeardWord


def _import_whisperx_alignment() -> tuple[Any, Any, list[str]]:
    notes: list[str] = []
    try:
        import whisperx
    except ImportError as e:
        raise ProviderError("The whisperx ASR needs the whisperx package.", "pip install 'storygen[whisperx]'") from e
    try:
        # everything whisperx.alignment imports, before any stand-in exists (transformers probes for torchaudio)
        import nltk  # noqa: F401
        import pandas  # noqa: F401
        from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor  # noqa: F401
    except ImportError as e:
        raise ProviderError(f"whisperx's alignment needs '{e.name}'.", "pip install 'storygen[whisperx]' (pandas, nltk)") from e
    try:
        import torchaudio  # noqa: F401
    except (ImportError, OSError):
        if "torchaudio" not in sys.modules or not hasattr(sys.modules["torchaudio"], "pipelines"):
            stub = types.ModuleType("torchaudio")
            stub.pipelines = types.SimpleNamespace(__all__=[])  # type: ignore[attr-defined]
            stub.__storygen_stub__ = True  # type: ignore[attr-defined]
            sys.modules["torchaudio"] = stub
        notes.append("torchaudio unavailable: Hugging Face alignment models only")
    try:
        import whisperx.alignment as alignment
    except ImportError as e:
        raise ProviderError(f"whisperx's alignment needs '{e.name}'.", "pip install 'storygen[whisperx]' (pandas, nltk)") from e
    finally:
        # the stand-in stays referenced by whisperx.alignment only; nothing else in the process sees it
        if getattr(sys.modules.get("torchaudio"), "__storygen_stub__", False):
            del sys.modules["torchaudio"]
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        from nltk.tokenize.punkt import PunktSentenceTokenizer

        splitter = PunktSentenceTokenizer()
        alignment.nltk_load = lambda *_a, **_k: splitter  # never reach nltk.download offline
        notes.append("NLTK punkt data missing: untrained sentence splitter")
    return whisperx, alignment, notes


class WhisperXASR:
    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "whisperx"

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        self.whisperx, self.alignment, self.notes = _import_whisperx_alignment()
        from importlib.metadata import version

        self.version = version("whisperx")
        self.settings = {**DEFAULTS["captions"], **settings}
        import torch

        self.device = str(self.settings.get("device") or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.asr_model = str(self.settings["asr_model"] or "large-v2")
        self.align_model_name = str(self.settings["align_model"] or "") or None
        ct = str(self.settings["compute_type"] or DEFAULTS["captions"]["compute_type"])
        self.compute_type = ct if self.device == "cuda" else ("int8" if ct in ("float16", "int8_float16") else ct)
        self.backend = ""
        self._asr: Any = None
        self._align: dict[str, tuple[Any, dict]] = {}

    # -------------------------------------------------------------- the Whisper pass
    def _whisper_segments(self, audio: Path, language: str, prompt: str | None = None) -> tuple[list[dict], str]:
        if self._asr is None:
            try:
                self._asr = ("whisperx", self.whisperx.load_model(self.asr_model, self.device, compute_type=self.compute_type,
                                                                  language=language, local_files_only=True))
                self.backend = f"whisperx.load_model({self.asr_model})"
            except Exception as e:  # noqa: BLE001 - missing pyannote, missing weights, no network
                from storygen.providers.asr.faster_whisper_asr import FasterWhisperASR

                fallback = dict(self.settings)
                if fallback.get("asr_model") in (None, "", "large-v2"):
                    fallback["asr_model"] = ""  # packaged tiny.en (or cached large-v3 on a GPU)
                self._asr = ("faster-whisper", FasterWhisperASR(fallback))
                self.backend = f"faster-whisper {self._asr[1].model_label} (whisperx.load_model unavailable: {e.__class__.__name__})"
        kind, model = self._asr
        if kind == "whisperx":
            audio_arr = _load_16k(audio)
            result = model.transcribe(audio_arr, batch_size=8, language=language)
            return result["segments"], result.get("language", language)
        from storygen.providers.asr.faster_whisper_asr import prompt_opening

        fw = model._model(language)
        segs, info = fw.transcribe(str(audio), language=language if not model.label_for(language).endswith(".en") else "en",
                                   beam_size=5, vad_filter=bool(self.settings["vad_filter"]),
                                   initial_prompt=prompt_opening(fw, prompt), condition_on_previous_text=False)
        out = [{"text": s.text.strip(), "start": float(s.start), "end": float(s.end)} for s in segs if s.text.strip()]
        return out, info.language or language

    # -------------------------------------------------------------- the alignment pass
    def _align_model(self, language: str) -> tuple[Any, dict]:
        if language not in self._align:
            try:
                self._align[language] = self.whisperx.load_align_model(language_code=language, device=self.device,
                                                                       model_name=self.align_model_name)
            except Exception as e:  # noqa: BLE001
                raise ProviderError(
                    f"whisperx could not load an alignment model for '{language}' ({e.__class__.__name__}).",
                    "set captions.align_model to a local wav2vec2 CTC model folder, or run once online so it is cached.",
                ) from e
        return self._align[language]

    def transcribe(self, audio: Path, *, language: str = "en", prompt: str | None = None) -> list[HeardWord]:
        audio = Path(audio)
        if not audio.is_file():
            raise InputError(f"Audio file '{audio}' does not exist.", "check the path.")
        segments, lang = self._whisper_segments(audio, language, prompt)
        if not segments:
            return []
        model, meta = self._align_model(lang)
        audio_arr = _load_16k(audio)  # whisperx.load_audio wants ffmpeg on PATH; the bundled one decodes here
        try:
            result = self.whisperx.align(segments, model, meta, audio_arr, self.device, return_char_alignments=False)
        except Exception as e:  # noqa: BLE001
            raise ProviderError(f"whisperx alignment failed ({e.__class__.__name__}: {str(e)[:120]}).",
                                "try captions.asr=faster-whisper.") from e
        words: list[HeardWord] = []
        for w in result.get("word_segments", []):
            if "start" not in w or "end" not in w or not str(w.get("word", "")).strip():
                continue
            words.append(HeardWord(str(w["word"]).strip(), float(w["start"]), float(w["end"]), float(w.get("score", 0.5) or 0.5)))
        return words


def _load_16k(audio: Path) -> Any:
    from storygen.media.audio import load_mono

    return load_mono(audio, 16000)
