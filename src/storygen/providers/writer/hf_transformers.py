"""Local Hugging Face chat models through transformers, loaded the way their model cards show:
``AutoTokenizer`` + ``AutoModelForCausalLM.from_pretrained(id_or_folder, dtype="auto", device_map="auto")``
and the tokenizer's chat template.

- ``writer.model``: a hub id (default ``Qwen/Qwen2.5-14B-Instruct``; ``meta-llama/Llama-3.1-8B-Instruct`` also
  fits 16 GB) or a local folder holding a saved model. Weights are never downloaded at run time by storygen
  itself: with ``HF_HUB_OFFLINE=1`` and no local copy you get a clear error naming the fix.
- ``writer.quantize``: "" (dtype auto: bf16/fp16 on GPU), or "8bit" / "4bit" (bitsandbytes, CUDA only) for small
  GPUs: about 14 GB / 7 GB for the 14B model instead of 28 GB. "fp8" (Ada/Hopper) is experimental: float8
  projection weights in the fast decoder, held beside the bf16 ones (more memory, not less), and measured
  slower than bf16 on an H100 (52 against 67 tok/s for Qwen2.5-14B, one stream): scaling the activations of
  every projection each token costs more than the halved weight reads save. "int8" is experimental too:
  weight-only int8 projections (per-channel scales, activations untouched) in the fast decoder, compiled with
  torch.compile on CUDA so the conversion fuses into the products and each token reads half the bytes; held
  beside the bf16 weights as well. Not yet measured on a GPU; on CPU it runs, slowly, for the tests.
- ``writer.fast``: "auto" (on with CUDA) decodes Qwen2 / Llama models with ``fast_decode.FastDecoder``: static
  buffers and one CUDA graph per token, no host sync between tokens. Other architectures use ``generate`` with
  a static cache. ``complete_many`` decodes several prompts as one batch (``storygen ideas N`` uses it).
- On CPU (no CUDA) the model is loaded in float32 on the CPU; fine for tests with tiny models, slow for real ones.
- Structured output: transformers has no constrained decoding here, so the JSON schema is put into the system
  message and the reply is validated (and retried with the error) by the writing layer.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

from storygen.errors import ProviderError
from storygen.providers import lifecycle
from storygen.providers.writer import fast_decode
from storygen.providers.writer.base import Completion

DEFAULT_MODEL = "Qwen/Qwen2.5-14B-Instruct"
QUANTIZE = ("", "fp8", "int8", "8bit", "4bit")
DECODER_QUANT = ("fp8", "int8")  # weight formats the fast decoder makes itself


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _looks_like_path(s: str) -> bool:
    return s.startswith((".", "/", "~")) or os.sep in s and s.count("/") != 1 or s.endswith(os.sep) or (len(s) > 1 and s[1] == ":")


def _missing(model: str, why: str) -> ProviderError:
    return ProviderError(
        f"The transformers writer cannot load '{model}' ({why}).",
        f"download it once (e.g. `hf download {model} --local-dir DIR`) and set writer.model=DIR"
        if not _looks_like_path(model) else "set writer.model to a folder holding a saved model (config.json, weights, tokenizer).",
    )


class TransformersWriter:
    wants_gpu = True  # routed to a GPU worker on a cluster
    name = "transformers"
    batched = False  # True on an instance that has the fast decoder (complete_many then decodes one batch)
    length_bias = 1.0

    @classmethod
    def small(cls, settings: dict[str, Any]) -> bool:
        return False

    def __init__(self, settings: dict[str, Any], cfg: Any = None):
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as e:
            raise ProviderError("The transformers writer needs torch and transformers.", "pip install 'storygen[gpu]'") from e
        model = str(settings["model"]).strip() or DEFAULT_MODEL
        quantize = str(settings["quantize"]).strip().lower()
        if quantize not in QUANTIZE:
            raise ProviderError(f"writer.quantize '{quantize}' is not supported by the transformers writer.",
                                "use \"\" (full precision), \"fp8\", \"int8\", \"8bit\" or \"4bit\".")
        src = model
        local = Path(model).expanduser()
        if local.is_dir():
            src = str(local.resolve())
        elif _looks_like_path(model):
            raise ProviderError(f"The model folder '{model}' does not exist.",
                                "set writer.model to a folder holding a saved model, or to a Hugging Face model id.")
        self.model_id = model
        self.quantize = quantize
        self.temperature = float(settings["temperature"])
        self.max_tokens = int(settings["max_tokens"])
        self.seed = int(settings["seed"])
        if quantize == "fp8" and not fast_decode.fp8_supported():
            raise ProviderError("writer.quantize=fp8 needs a CUDA GPU with float8 matrix units (Ada, Hopper or newer).",
                                "leave writer.quantize empty, or use int8 / 8bit / 4bit.")
        # fp8 / int8 copies are made by the decoder from the normally loaded model, which stays shared
        model_key = ("transformers", src, "" if quantize in DECODER_QUANT else quantize)
        self.tokenizer, self.model = lifecycle.current().load(model_key, lambda: _load(src, model_key[2]))
        self.device = str(next(self.model.parameters()).device)
        # writer.fast: "auto" = on with CUDA. Qwen2 / Llama go through FastDecoder (static buffers, one CUDA graph
        # per token); other architectures through generate() with a static cache. The loaded model is shared
        # between writers, so it is never modified (no compiled forward swapped in).
        fast = str(settings["fast"]).strip().lower()
        cuda = self.device.startswith("cuda")
        self.fast = cuda if fast == "auto" else fast in ("1", "true", "yes", "on")
        self.decoder = None
        if quantize in DECODER_QUANT or (self.fast and fast_decode.supports(self.model)):
            if not fast_decode.supports(self.model):
                raise ProviderError(f"writer.quantize={quantize} works with Qwen2 and Llama models, not '{model}'.",
                                    "leave writer.quantize empty, or use 8bit / 4bit.")
            quant = quantize if quantize in DECODER_QUANT else None
            self.decoder = lifecycle.current().load(("fast-decoder", model_key, quant), lambda: _decoder(self.model, quant))
        # complete_many decodes a real batch only with the fast decoder; callers may then fan work out
        self.batched = self.decoder is not None
        commit = getattr(self.model.config, "_commit_hash", None) or ""
        self.version = (Path(src).name if local.is_dir() else model) + (f"@{commit[:12]}" if commit else "") + (f"+{quantize}" if quantize else "")

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        return self.complete_many([messages], max_tokens=max_tokens, temperature=temperature, json_schema=json_schema)[0]

    def complete_many(
        self,
        conversations: list[list[dict[str, str]]],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> list[Completion]:
        """One completion per conversation. With the fast decoder they are decoded together as one batch."""
        import torch

        tok = self.tokenizer
        prompts = [self._prompt_ids(m, json_schema) for m in conversations]
        temp = float(self.temperature if temperature is None else temperature)
        max_new = int(max_tokens or self.max_tokens)
        eos = tok.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        eos_ids |= set(gen_eos if isinstance(gen_eos, list) else [gen_eos]) if gen_eos is not None else set()
        seed_src = json.dumps(conversations, sort_keys=True) + (json.dumps(json_schema, sort_keys=True) if json_schema else "")
        torch.manual_seed((self.seed + zlib.crc32(seed_src.encode())) % (2**31 - 1))
        t0 = time.perf_counter()
        try:
            if self.decoder is not None:
                sampling = fast_decode.Sampling(temperature=temp, top_p=0.95 if temp > 0 else 1.0)
                rows = self.decoder.generate(prompts, max_new, sampling=sampling, eos_ids=eos_ids)
                finished = [len(r) < max_new for r in rows]
            else:
                rows, finished = [], []
                for p in prompts:
                    r, f = self._generate_one(p, max_new, temp, eos_ids)
                    rows.append(r)
                    finished.append(f)
        except torch.cuda.OutOfMemoryError as e:  # type: ignore[attr-defined]
            lifecycle.current().on_oom()  # release every model this host holds, so a retry starts clean
            raise ProviderError(f"The GPU ran out of memory generating with '{self.model_id}'.",
                                "set writer.quantize=4bit (or 8bit), lower writer.max_tokens, or use a smaller model.") from e
        seconds = time.perf_counter() - t0
        total = sum(len(r) for r in rows)
        out = []
        for p, r, f in zip(prompts, rows, finished):
            out.append(Completion(
                text=tok.decode(r, skip_special_tokens=True).strip(),
                model=self.version,
                prompt_tokens=len(p),
                completion_tokens=len(r),
                seconds=seconds,
                cost_usd=0.0,
                extra={"finish_reason": "stop" if f else "length",
                       "tokens_per_s": round(total / seconds, 2) if seconds > 0 else 0.0,
                       "batch": len(prompts), "device": self.device,
                       "decoder": (f"fast+{self.decoder.quant}" if self.decoder.quant else "fast") if self.decoder is not None
                       else ("generate+static" if self.fast else "generate")},
            ))
        return out

    def _prompt_ids(self, messages: list[dict[str, str]], json_schema: dict[str, Any] | None) -> list[int]:
        msgs = [dict(m) for m in messages]
        if json_schema is not None:
            hint = "Reply with only a JSON object matching this JSON schema: " + json.dumps(json_schema, separators=(",", ":"))
            if msgs and msgs[0].get("role") == "system":
                msgs[0]["content"] += "\n" + hint
            else:
                msgs.insert(0, {"role": "system", "content": hint})
        enc = self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, return_dict=True)
        ids = enc["input_ids"]
        return list(ids[0] if ids and isinstance(ids[0], list) else ids)

    def _generate_one(self, prompt: list[int], max_new: int, temp: float, eos_ids: set[int]) -> tuple[list[int], bool]:
        """``model.generate`` for architectures the fast decoder does not know."""
        import torch

        input_ids = torch.tensor([prompt], device=self.model.device)
        gen: dict[str, Any] = {"max_new_tokens": max_new}
        if self.fast:  # per call: the loaded model is shared with writers that did not ask for it
            gen["cache_implementation"] = "static"
        if temp > 0:
            gen.update(do_sample=True, temperature=temp, top_p=0.95)
        else:
            gen.update(do_sample=False)
        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        if pad is not None:
            gen["pad_token_id"] = pad
        with torch.inference_mode():
            out = self.model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **gen)
        new = out[0, len(prompt):].tolist()
        for i, t in enumerate(new):
            if t in eos_ids:
                return new[:i], True
        return new, False


def _decoder(model: Any, quant: str | None) -> Any:
    """A FastDecoder for a loaded model and weight format (held by the ModelHost: fp8 / int8 weights are built once)."""
    try:
        return fast_decode.FastDecoder(model, quant=quant)
    except ValueError as e:
        raise ProviderError(f"The fast decoder cannot run this model ({e}).",
                            "set writer.quantize to \"\" or writer.fast=off.") from None


def _load(src: str, quantize: str) -> tuple[Any, Any]:
    """(tokenizer, model) loaded from a hub id or folder; called once per ModelHost through ``lifecycle``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cuda = torch.cuda.is_available()
    kwargs: dict[str, Any] = {"dtype": "auto"}
    if cuda:
        try:
            import accelerate  # noqa: F401

            kwargs["device_map"] = "auto"
        except ImportError:
            kwargs["device_map"] = {"": 0}
    if quantize in ("8bit", "4bit"):
        if not cuda:
            raise ProviderError(f"writer.quantize={quantize} needs a CUDA GPU (bitsandbytes).",
                                "leave writer.quantize empty on CPU, or use the llamacpp writer with a quantized GGUF.")
        try:
            import bitsandbytes  # noqa: F401
            from transformers import BitsAndBytesConfig
        except ImportError:
            raise ProviderError(f"writer.quantize={quantize} needs the 'bitsandbytes' package.",
                                "pip install bitsandbytes, or leave writer.quantize empty.") from None
        kwargs["quantization_config"] = (
            BitsAndBytesConfig(load_in_8bit=True) if quantize == "8bit"
            else BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)
        )
    # HF_HUB_OFFLINE is read by huggingface_hub at import time; pass it on explicitly so a late setting
    # still means "never touch the network" (and fails fast instead of timing out)
    local_only = _offline() or Path(src).is_dir()
    try:
        tok = AutoTokenizer.from_pretrained(src, local_files_only=local_only)
        model = AutoModelForCausalLM.from_pretrained(src, local_files_only=local_only, **kwargs)
    except OSError as e:
        why = "Hugging Face is offline and it is not in the local cache" if _offline() else str(e).split("\n")[0][:200]
        raise _missing(src, why) from None
    except ValueError as e:
        raise ProviderError(f"'{src}' is not a causal language model transformers can load ({str(e)[:200]}).",
                            "set writer.model to a chat model such as Qwen/Qwen2.5-14B-Instruct.") from None
    if not getattr(tok, "chat_template", None):
        raise ProviderError(f"The tokenizer of '{src}' has no chat template.", "use an instruct/chat model (its tokenizer carries one).")
    if not cuda:
        model = model.float()  # CPU kernels for bf16 are slow or missing
    model.eval()
    return tok, model
