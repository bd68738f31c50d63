"""Phi-3.5-vision as the vision judge.

The model repo's own code is remote code for transformers 4.38 (``trust_remote_code=True`` in the spec).
storygen runs the same checkpoint through transformers' native Phi-3 and CLIP classes instead
(``phi3v_model``, ``phi3v_processing``): nothing from the repo is executed, and it works on the installed
transformers. The checkpoint's bf16 weights load as bf16 on CUDA (the spec's ``torch_dtype="auto"``), fp32 on
CPU. It gets the same JSON-verdict question as LLaVA-OneVision and the same defensive parsing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

from storygen.config import Config
from storygen.errors import ConfigError, ProviderError
from storygen.models import Verdict
from storygen.providers import devices
from storygen.providers.vision.judging import flag_duplicate, judge_prompt, parse_verdict, shrink

DEFAULT_MODEL = "microsoft/Phi-3.5-vision-instruct"
# what a judge needs from the repo: configs, tokenizer and weights (not the remote .py files)
FILES = ["*.json", "*.safetensors", "tokenizer.model"]


def phi35_chat(text: str) -> str:
    """The Phi-3.5-vision chat format for one image and one user turn (what its chat template renders)."""
    return f"<|user|>\n<|image_1|>\n{text}<|end|>\n<|assistant|>\n"


class Phi35VisionJudge:
    """vision.provider = "phi35-vision"."""

    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "phi35-vision"
    judges_content = True

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        s = dict(settings)
        self.model_ref, self.is_local = devices.resolve_model(str(s["model"]), DEFAULT_MODEL)
        self.device = devices.pick_device(str(s["device"]))
        self.max_new_tokens = int(s["max_new_tokens"])
        crops = s.get("num_crops")  # default: the repo's preprocessor_config.json (4 for Phi-3.5-vision)
        self.num_crops = int(crops) if crops not in (None, "", 0) else None
        if self.num_crops is not None and not 1 <= self.num_crops <= 16:
            raise ConfigError(f"vision.num_crops={self.num_crops} is out of range.", "use 1-16 (4 is the model's default)")
        import transformers

        self.version = f"transformers-{transformers.__version__}:{Path(self.model_ref).name if self.is_local else self.model_ref}"

    # ------------------------------------------------------------------ loading
    def _folder(self) -> Path:
        if self.is_local:
            return Path(self.model_ref)
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(self.model_ref, allow_patterns=FILES))
        except Exception as e:
            raise ProviderError(f"The Phi-3.5-vision model '{self.model_ref}' is not available ({type(e).__name__}).",
                                devices.offline_fix("Phi-3.5-vision", "vision.model", self.model_ref)) from e

    def _load(self) -> tuple[Any, Any, Any]:
        return devices.load_once(("phi35-vision", self.model_ref, self.device), self._build)

    def _build(self) -> tuple[Any, Any, Any]:
        from transformers import AutoTokenizer

        from storygen.providers.vision.phi3v_model import (
            Phi3Vision,
            UnsupportedCheckpoint,
        )

        folder = self._folder()
        if self.device.startswith("cuda"):
            devices.check_vram(9.0, "Phi-3.5-vision", "use vision.provider=heuristic, or free GPU memory", self.device)
        try:
            model = Phi3Vision.from_folder(folder, dtype=devices.dtype_for(self.device, "bf16"), device=self.device)
            tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        except UnsupportedCheckpoint as e:
            raise ProviderError(f"The Phi-3.5-vision folder '{folder}' holds a variant storygen does not build ({e}).",
                                f"use {DEFAULT_MODEL}, vision.provider=llava-onevision or heuristic") from e
        except (OSError, ValueError, KeyError) as e:
            raise ProviderError(f"The Phi-3.5-vision folder '{folder}' could not be loaded ({type(e).__name__}: {str(e)[:160]}).",
                                f"check that vision.model points at a complete download of {DEFAULT_MODEL}") from e
        pre = _read_json(folder / "preprocessor_config.json")
        settings = model.layout.image_settings(self.num_crops or int(pre.get("num_crops", 4)),
                                               pre.get("image_mean"), pre.get("image_std"))
        return model, tokenizer, settings

    # ------------------------------------------------------------------ asking
    def ask(self, image: Image.Image, text: str) -> str:
        import torch

        from storygen.providers.vision.phi3v_processing import preprocess, prompt_ids

        model, tokenizer, settings = self._load()
        images = preprocess([shrink(image)], settings)
        ids = torch.tensor([prompt_ids(tokenizer, phi35_chat(text), images.num_tokens)])
        with devices.oom_as("The GPU ran out of memory while Phi-3.5-vision looked at a keyframe.",
                            "use vision.num_crops=1, vision.provider=heuristic, or free GPU memory"):
            out = model.generate(ids, images, max_new_tokens=self.max_new_tokens, do_sample=False,
                                 eos_token_id=_stop_ids(model.lm.generation_config, tokenizer),
                                 pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)
        return tokenizer.decode(out[0], skip_special_tokens=True)

    def judge(self, image: Image.Image, prompt: str, *, others: list[Image.Image] | None = None) -> Verdict:
        reply = self.ask(image, judge_prompt(prompt))
        return flag_duplicate(parse_verdict(reply, f"{self.name}:{Path(self.model_ref).name}"), image, others)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stop_ids(generation_config: Any, tokenizer: Any) -> list[int]:
    """The generation config's EOS ids plus ``<|end|>``, which closes every Phi-3 chat turn."""
    ids = generation_config.eos_token_id
    stop = [ids] if isinstance(ids, int) else list(ids or [])
    for token in ("<|end|>", tokenizer.eos_token):
        tid = tokenizer.convert_tokens_to_ids(token) if token else None
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid not in stop:
            stop.append(tid)
    return stop
