"""Phi-3.5-vision assembled from transformers' own Phi-3 and CLIP classes.

transformers has no Phi-3-vision model, and the one in the model repo is remote code written for
transformers 4.38. The checkpoint, though, is a Phi-3 language model plus an image embedder:

    model.embed_tokens, model.layers.*, model.norm, lm_head   -> transformers.Phi3ForCausalLM
    model.vision_embed_tokens.img_processor.*                 -> transformers.CLIPVisionModel (ViT-L/14, 336 px)
    model.vision_embed_tokens.{glb_GN, sub_GN}                -> learned separators
    model.vision_embed_tokens.img_projection.{0,2}            -> Linear, GELU, Linear

So the language model loads through ``Phi3ForCausalLM.from_pretrained`` and the embedder's tensors are read
from the same safetensors files. Each tile goes through CLIP; the second-to-last layer's patch features
(no CLS) are merged 2x2 into 4x wider features, laid out as rows of the picture with a separator closing
every row; then one global separator and the global image's rows; then the projection. Those features
replace the prompt's negative placeholder ids.

``img_processor.vision_config`` in config.json (a storygen extension) sets a different CLIP tower; without it
the tower is the one the released checkpoints use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from storygen.providers.vision.phi3v_processing import ImageBatch, ImageSettings

VISION_PREFIX = "model.vision_embed_tokens."
CLIP_VIT_L14_336 = {
    "hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
    "image_size": 336, "patch_size": 14, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "projection_dim": 768,
}
# config.json keys that describe the image side or the remote code, not the Phi-3 language model
NOT_PHI3 = {"embd_layer", "img_processor", "auto_map", "architectures", "model_type", "_attn_implementation",
            "transformers_version", "torch_dtype", "dtype", "_name_or_path"}
# checkpoint tensors the embedder does not need: the token table it shares, CLIP's unused head/buffers
IGNORED = ("wte.", "img_processor.vision_model.embeddings.position_ids", "img_processor.embeddings.position_ids")


class UnsupportedCheckpoint(ValueError):
    """config.json describes a Phi-3-vision variant this loader does not build."""


@dataclass(frozen=True)
class VisionLayout:
    """The image side of a Phi-3(.5)-vision config.json."""

    clip: dict[str, Any] = field(default_factory=lambda: dict(CLIP_VIT_L14_336))
    layer: int = -2  # which hidden state of CLIP feeds the model

    @property
    def width(self) -> int:
        return int(self.clip["hidden_size"])

    @property
    def crop(self) -> int:
        return int(self.clip["image_size"])

    @property
    def grid(self) -> int:
        return int(self.clip["image_size"]) // int(self.clip["patch_size"]) // 2

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> VisionLayout:
        embd = raw.get("embd_layer") or {}
        proc = raw.get("img_processor") or {}
        wanted = {"embedding_cls": "image", "hd_transform_order": "sub_glb", "projection_cls": "mlp",
                  "use_hd_transform": True, "with_learnable_separator": True}
        for key, value in wanted.items():
            if embd.get(key, value) != value:
                raise UnsupportedCheckpoint(f"embd_layer.{key}={embd.get(key)!r} (only {value!r} is built)")
        if proc.get("name", "clip_vision_model") != "clip_vision_model" or proc.get("type_feature", "patch") != "patch":
            raise UnsupportedCheckpoint(f"img_processor {proc.get('name')!r}/{proc.get('type_feature')!r}")
        clip = dict(CLIP_VIT_L14_336)
        clip.update(proc.get("vision_config") or {})
        if int(proc.get("image_dim_out", clip["hidden_size"])) != int(clip["hidden_size"]):
            raise UnsupportedCheckpoint(f"img_processor.image_dim_out={proc.get('image_dim_out')} is not CLIP's width")
        if (int(clip["image_size"]) // int(clip["patch_size"])) % 2:
            raise UnsupportedCheckpoint("CLIP's patch grid must be even for the 2x2 merge")
        return cls(clip=clip, layer=int(proc.get("layer_idx", -2)))

    def image_settings(self, num_crops: int, mean: Any = None, std: Any = None) -> ImageSettings:
        extra = {k: tuple(v) for k, v in (("mean", mean), ("std", std)) if v is not None}
        return ImageSettings(num_crops=num_crops, crop=self.crop, grid=self.grid, **extra)


class ImageEmbedder(nn.Module):
    """CLIP features of every tile, merged 2x2, laid out in rows with separators, projected to the LM width."""

    def __init__(self, layout: VisionLayout, hidden_size: int):
        super().__init__()
        from transformers import CLIPVisionConfig, CLIPVisionModel

        self.layout = layout
        self.img_processor = CLIPVisionModel(CLIPVisionConfig(**layout.clip))
        d = 4 * layout.width
        self.glb_GN = nn.Parameter(torch.zeros(1, 1, d))
        self.sub_GN = nn.Parameter(torch.zeros(1, 1, 1, d))
        self.img_projection = nn.Sequential(nn.Linear(d, hidden_size), nn.GELU(), nn.Linear(hidden_size, hidden_size))

    def _rows(self, tiles: torch.Tensor, down: int, across: int) -> torch.Tensor:
        """[down*across, 2g*2g, C] tile features -> [(down*g) * (across*g + 1), 4C]: merged, in picture order,
        a separator after each row."""
        g, c = self.layout.grid, tiles.shape[-1]
        x = (tiles.reshape(down, across, g, 2, g, 2, c)
             .permute(0, 2, 1, 4, 3, 5, 6)  # down, g(row), across, g(col), 2, 2, C
             .reshape(down * g, across * g, 4 * c))
        newline = self.sub_GN[0].to(x.dtype).expand(down * g, 1, -1)
        return torch.cat([x, newline], dim=1).reshape(-1, 4 * c)

    def forward(self, images: ImageBatch) -> torch.Tensor:
        """The features of all pictures, in order: [sum(images.num_tokens), hidden]."""
        crop = self.layout.crop
        proj = self.img_projection[0].weight
        sizes = images.image_sizes.tolist()
        used = [1 + (h // crop) * (w // crop) for h, w in sizes]  # the zero padding tiles are never looked at
        pixels = torch.cat([images.pixel_values[i, :n] for i, n in enumerate(used)])
        clip_dtype = next(self.img_processor.parameters()).dtype
        hidden = self.img_processor(pixels.to(proj.device, clip_dtype), output_hidden_states=True).hidden_states
        feats = hidden[self.layout.layer][:, 1:]  # patch features, CLS dropped
        out, start = [], 0
        for (h, w), n in zip(sizes, used):
            mine = feats[start:start + n]
            start += n
            out += [self._rows(mine[1:], h // crop, w // crop), self.glb_GN[0].to(mine.dtype), self._rows(mine[:1], 1, 1)]
        return self.img_projection(torch.cat(out).to(proj.dtype))


def _checkpoint_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [folder / n for n in names]
    single = folder / "model.safetensors"
    if single.is_file():
        return [single]
    raise FileNotFoundError(f"no model.safetensors or model.safetensors.index.json in {folder}")


def read_prefixed(folder: Path, prefix: str) -> dict[str, torch.Tensor]:
    """Every tensor whose name starts with ``prefix``, prefix removed, read lazily shard by shard."""
    from safetensors import safe_open

    out: dict[str, torch.Tensor] = {}
    for path in _checkpoint_files(folder):
        with safe_open(str(path), framework="pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open is not a dict
                if key.startswith(prefix):
                    out[key[len(prefix):]] = f.get_tensor(key)
    return out


def fit_names(state: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Checkpoints name CLIP's tensors ``img_processor.vision_model.*``; transformers 5 dropped the
    ``vision_model`` level from CLIPVisionModel. Rename whichever way the installed class wants."""
    nested, flat = "img_processor.vision_model.", "img_processor."
    out = {}
    for key, value in state.items():
        if key not in expected:
            if key.startswith(nested) and flat + key[len(nested):] in expected:
                key = flat + key[len(nested):]
            elif key.startswith(flat) and nested + key[len(flat):] in expected:
                key = nested + key[len(flat):]
        out[key] = value
    return out


def text_config(raw: dict[str, Any], attn: str) -> Any:
    from transformers import Phi3Config

    kwargs = {k: v for k, v in raw.items() if k not in NOT_PHI3}
    rope = kwargs.get("rope_scaling")
    if isinstance(rope, dict) and rope.get("type") in ("su", "yarn"):  # Phi-3(-vision)'s old name for longrope
        kwargs["rope_scaling"] = {**rope, "type": "longrope"}
    cfg = Phi3Config(**kwargs)
    cfg._attn_implementation = attn
    return cfg


class Phi3Vision:
    """A loaded Phi-3(.5)-vision: the language model, the image embedder and its layout."""

    def __init__(self, lm: Any, embedder: ImageEmbedder, layout: VisionLayout):
        self.lm, self.embedder, self.layout = lm, embedder, layout

    @classmethod
    def from_folder(cls, folder: str | Path, *, dtype: torch.dtype = torch.float32, device: str = "cpu",
                    attn: str = "sdpa") -> Phi3Vision:
        from transformers import Phi3ForCausalLM

        folder = Path(folder)
        raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        layout = VisionLayout.from_config(raw)
        cfg = text_config(raw, attn)

        class _TextOnly(Phi3ForCausalLM):  # the embedder's tensors are expected extras, not a warning
            _keys_to_ignore_on_load_unexpected = [r"model\.vision_embed_tokens\."]

        lm = _TextOnly.from_pretrained(folder, config=cfg, dtype=dtype, trust_remote_code=False)
        embedder = ImageEmbedder(layout, cfg.hidden_size)
        state = {k: v for k, v in read_prefixed(folder, VISION_PREFIX).items() if not k.startswith(IGNORED)}
        result = embedder.load_state_dict(fit_names(state, set(embedder.state_dict())), strict=False)
        if result.missing_keys:
            shown = ", ".join(result.missing_keys[:3])
            raise FileNotFoundError(f"the checkpoint lacks {len(result.missing_keys)} image-embedder tensors ({shown})")
        lm.to(device).eval()
        embedder.to(device=device, dtype=dtype).eval()
        return cls(lm, embedder, layout)

    @property
    def device(self) -> torch.device:
        return self.lm.device

    def embed(self, input_ids: torch.Tensor, images: ImageBatch | None) -> torch.Tensor:
        """Token embeddings with every negative placeholder replaced by the pictures' features, in order."""
        ids = input_ids.to(self.device)
        placeholders = ids < 0
        table = self.lm.get_input_embeddings()
        embeds = table(ids.clamp(min=0))
        if images is None or not bool(placeholders.any()):
            return embeds
        feats = self.embedder(images)
        if feats.shape[0] != int(placeholders.sum()):
            raise ValueError(f"{int(placeholders.sum())} image placeholders in the prompt but {feats.shape[0]} image "
                             "features: build the prompt with phi3v_processing.prompt_ids")
        embeds = embeds.clone()
        embeds[placeholders] = feats.to(embeds.dtype)
        return embeds

    @torch.inference_mode()
    def generate(self, input_ids: torch.Tensor, images: ImageBatch | None, **kwargs: Any) -> torch.Tensor:
        """The new token ids (given only embeddings, generate returns just what it added)."""
        ids = input_ids.to(self.device)
        return self.lm.generate(inputs_embeds=self.embed(ids, images), attention_mask=torch.ones_like(ids), **kwargs)
