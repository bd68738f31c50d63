"""LLaVA-OneVision as the vision judge (transformers LlavaOnevisionForConditionalGeneration + AutoProcessor,
as the spec shows; fp16 on CUDA). It is asked for a JSON verdict about how well the keyframe shows its
prompt; the reply is parsed defensively: anything unreadable becomes score 0 with an "unparseable reply"
problem, never a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image

from storygen.config import Config
from storygen.errors import ProviderError
from storygen.models import Verdict
from storygen.providers import devices
from storygen.providers.vision.judging import flag_duplicate, judge_prompt, parse_verdict, shrink

DEFAULT_MODEL = "llava-hf/llava-onevision-qwen2-7b-ov-hf"

def hf_error(what: str, key: str, ref: str, is_local: bool, e: Exception) -> ProviderError:
    if is_local:
        return ProviderError(f"The {what} folder '{ref}' could not be loaded ({type(e).__name__}: {str(e)[:160]}).",
                             f"check that {key} points at a complete transformers model folder")
    return ProviderError(f"The {what} model '{ref}' is not available ({type(e).__name__}).",
                         devices.offline_fix(what, key, ref))


def _processor_config(ref: str) -> dict[str, Any]:
    from transformers.utils import cached_file

    out: dict[str, Any] = {}
    path = cached_file(ref, "processor_config.json", _raise_exceptions_for_missing_entries=False)
    if path:
        out = json.loads(Path(path).read_text(encoding="utf-8"))
    for name in ("chat_template.jinja", "chat_template.json"):
        p = cached_file(ref, name, _raise_exceptions_for_missing_entries=False)
        if p:
            raw = Path(p).read_text(encoding="utf-8")
            out["chat_template"] = json.loads(raw)["chat_template"] if name.endswith(".json") else raw
            break
    return out


def load_llava_processor(ref: str) -> Any:
    """AutoProcessor, as the spec shows. Without torchvision transformers cannot build the processor's video
    half, so the image-only processor is assembled from the same files (images are all the judge needs)."""
    import importlib.util

    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(ref)
    except ImportError:
        if importlib.util.find_spec("torchvision") is not None:
            raise
    from transformers import AutoImageProcessor, AutoTokenizer, LlavaOnevisionProcessor

    class ImageOnlyLlavaOnevisionProcessor(LlavaOnevisionProcessor):
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument is None and argument_name == "video_processor":
                return None
            return super().check_argument_for_proper_class(argument_name, argument)

    conf = _processor_config(ref)
    kwargs = {k: conf[k] for k in ("num_image_tokens", "vision_feature_select_strategy", "chat_template", "image_token",
                                   "video_token", "vision_aspect_ratio") if k in conf}
    tok = AutoTokenizer.from_pretrained(ref)
    if "chat_template" not in kwargs and getattr(tok, "chat_template", None):
        kwargs["chat_template"] = tok.chat_template
    return ImageOnlyLlavaOnevisionProcessor(image_processor=AutoImageProcessor.from_pretrained(ref), tokenizer=tok,
                                            video_processor=None, **kwargs)


class LlavaOneVisionJudge:
    """vision.provider = "llava-onevision"."""

    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "llava-onevision"
    judges_content = True

    def __init__(self, settings: dict[str, Any], cfg: Config | None = None):
        s = dict(settings)
        self.model_ref, self.is_local = devices.resolve_model(str(s["model"]), DEFAULT_MODEL)
        self.device = devices.pick_device(str(s["device"]))
        self.max_new_tokens = int(s["max_new_tokens"])
        import transformers

        self.version = f"transformers-{transformers.__version__}:{Path(self.model_ref).name if self.is_local else self.model_ref}"

    def _load(self) -> tuple[Any, Any]:
        return devices.load_once(("llava-onevision", self.model_ref, self.device), self._build)

    def _build(self) -> tuple[Any, Any]:
        from transformers import LlavaOnevisionForConditionalGeneration

        dtype = devices.dtype_for(self.device, "fp16")
        if self.device.startswith("cuda"):
            devices.check_vram(15.0 if "7b" in self.model_ref.lower() else 2.0, "LLaVA-OneVision",
                               "use vision.model=llava-hf/llava-onevision-qwen2-0.5b-ov-hf, vision.provider=phi35-vision "
                               "(about 8 GB) or vision.provider=heuristic", self.device)
        try:
            model = LlavaOnevisionForConditionalGeneration.from_pretrained(self.model_ref, dtype=dtype)
            processor = load_llava_processor(self.model_ref)
        except (OSError, ValueError) as e:
            raise hf_error("LLaVA-OneVision", "vision.model", self.model_ref, self.is_local, e) from e
        model.to(self.device).eval()
        return model, processor

    def ask(self, image: Image.Image, text: str) -> str:
        import torch

        model, processor = self._load()
        conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
        chat = processor.apply_chat_template(conversation, add_generation_prompt=True)
        inputs = processor(images=shrink(image), text=chat, return_tensors="pt").to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        tok = processor.tokenizer
        with devices.oom_as("The GPU ran out of memory while the LLaVA-OneVision judge looked at a keyframe.",
                            "use a smaller vision.model, vision.provider=heuristic, or free GPU memory"):
            with torch.inference_mode():
                out = model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                     pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)
        return processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)[0]

    def judge(self, image: Image.Image, prompt: str, *, others: list[Image.Image] | None = None) -> Verdict:
        reply = self.ask(image, judge_prompt(prompt))
        return flag_duplicate(parse_verdict(reply, f"{self.name}:{Path(self.model_ref).name}"), image, others)
