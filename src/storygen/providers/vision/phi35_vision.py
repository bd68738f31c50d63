"""Phi-3.5-vision as the vision judge, loaded as the spec shows: AutoModelForCausalLM and AutoProcessor with
``trust_remote_code=True`` (transformers has no native Phi-3-vision class; the modelling code ships in the
model repo). It gets the same JSON-verdict question as LLaVA-OneVision and the same defensive parsing.

Caveat: the model repo's remote code was written for transformers 4.x; whether it runs on the installed
transformers is only known once the weights are present (it could not be checked offline).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from PIL import Image

from storygen.config import Config
from storygen.errors import ProviderError
from storygen.models import Verdict
from storygen.providers import devices
from storygen.providers.vision.llava_onevision import judge_prompt, parse_verdict, shrink

DEFAULT_MODEL = "microsoft/Phi-3.5-vision-instruct"


def phi35_chat(text: str) -> str:
    """The Phi-3.5-vision chat format for one image and one user turn (what its chat template renders)."""
    return f"<|user|>\n<|image_1|>\n{text}<|end|>\n<|assistant|>\n"


def _needs_remote_code(ref: str, is_local: bool) -> str | None:
    """The remote modelling file a local folder's config.json names but does not contain (None if fine)."""
    if not is_local:
        return None
    cfg = Path(ref) / "config.json"
    if not cfg.is_file():
        return "config.json"
    try:
        auto = json.loads(cfg.read_text(encoding="utf-8")).get("auto_map", {})
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "config.json (not valid JSON)"
    for target in auto.values():
        target = target[0] if isinstance(target, list) else target
        if isinstance(target, str) and "--" not in target:
            module = target.rsplit(".", 1)[0] + ".py"
            if not (Path(ref) / module).is_file():
                return module
    return None


class Phi35VisionJudge:
    """vision.provider = "phi35-vision"."""

    name = "phi35-vision"

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        s = dict(settings)
        self.model_ref, self.is_local = devices.resolve_model(str(s.get("model") or ""), DEFAULT_MODEL)
        self.device = devices.pick_device(str(s.get("device", "auto")))
        self.max_new_tokens = int(s.get("max_new_tokens", 96))
        self.num_crops = int(s.get("num_crops", 4))  # the model card's setting for single images
        import transformers

        self.version = f"transformers-{transformers.__version__}:{Path(self.model_ref).name if self.is_local else self.model_ref}"

    def _load(self) -> tuple[Any, Any]:
        return devices.load_once(("phi35-vision", self.model_ref, self.device), self._build)

    def _build(self) -> tuple[Any, Any]:
        from transformers import AutoModelForCausalLM, AutoProcessor

        missing = _needs_remote_code(self.model_ref, self.is_local)
        if missing:
            raise ProviderError(
                f"The Phi-3.5-vision folder '{self.model_ref}' lacks {missing}, the model's own code "
                "(transformers has no built-in Phi-3-vision class).",
                f"download the whole repo: huggingface-cli download {DEFAULT_MODEL} --local-dir DIR, then set vision.model=DIR",
            )
        if self.device.startswith("cuda"):
            devices.check_vram(9.0, "Phi-3.5-vision", "use vision.provider=heuristic, or free GPU memory", self.device)
        attn = "flash_attention_2" if (self.device.startswith("cuda") and importlib.util.find_spec("flash_attn")) else "eager"
        try:
            model = AutoModelForCausalLM.from_pretrained(
                self.model_ref, dtype=devices.dtype_for(self.device, "fp16"), trust_remote_code=True,
                _attn_implementation=attn)
            processor = AutoProcessor.from_pretrained(self.model_ref, trust_remote_code=True, num_crops=self.num_crops)
        except (OSError, ValueError) as e:
            if self.is_local:
                raise ProviderError(f"The Phi-3.5-vision folder '{self.model_ref}' could not be loaded "
                                    f"({type(e).__name__}: {str(e)[:160]}).",
                                    "check vision.model points at a complete download of microsoft/Phi-3.5-vision-instruct") from e
            raise ProviderError(f"The Phi-3.5-vision model '{self.model_ref}' is not available ({type(e).__name__}).",
                                devices.offline_fix("Phi-3.5-vision", "vision.model", self.model_ref)) from e
        except (ImportError, AttributeError, TypeError) as e:  # its remote code vs this transformers
            raise ProviderError(f"Phi-3.5-vision's own model code does not run with this transformers "
                                f"({type(e).__name__}: {str(e)[:160]}).",
                                "use vision.provider=llava-onevision (native in transformers) or heuristic") from e
        model.to(self.device).eval()
        return model, processor

    def judge(self, image: Image.Image, prompt: str, *, others: list[Image.Image] | None = None) -> Verdict:
        import torch

        model, processor = self._load()
        inputs = processor(phi35_chat(judge_prompt(prompt)), [shrink(image)], return_tensors="pt").to(self.device)
        eos = processor.tokenizer.eos_token_id
        try:
            with torch.inference_mode():
                out = model.generate(**inputs, eos_token_id=eos, max_new_tokens=self.max_new_tokens, do_sample=False)
        except Exception as e:
            if devices.is_oom(e):
                devices.forget()
                raise ProviderError("The GPU ran out of memory while Phi-3.5-vision looked at a keyframe.",
                                    "use vision.provider=heuristic, or free GPU memory") from e
            raise
        reply = processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True,
                                       clean_up_tokenization_spaces=False)[0]
        v = parse_verdict(reply, f"{self.name}:{Path(self.model_ref).name}")
        if others:
            from storygen.providers.vision.heuristic import DUPLICATE_BITS, hamming, phash

            h = phash(image)
            if min(hamming(h, phash(o)) for o in others) <= DUPLICATE_BITS:
                v = v.model_copy(update={"problems": [*v.problems, "near-duplicate of an earlier frame"],
                                         "score": min(v.score, 0.2)})
        return v
