"""Phi-3.5-vision's input side, written for storygen: the "HD transform" image crops and the prompt ids.

The model repo ships this as remote code (``processing_phi3_v.py``); these functions reproduce its behaviour
with PIL and torch so the model runs from a plain download, without executing code from the repo:

- The picture is turned landscape, scaled to a whole number of crop widths (at most ``num_crops`` crops in
  all), padded top and bottom with white to whole crop heights, and turned back.
- It is normalised with the CLIP mean/std and cut into ``crop`` x ``crop`` tiles, row by row. A bicubic
  ``crop`` x ``crop`` copy of the whole picture goes first (the "global" image).
- ``<|image_N|>`` in the prompt becomes ``-N`` repeated once per image feature the model will insert.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_TAG = re.compile(r"<\|image_(\d+)\|>")


@dataclass(frozen=True)
class ImageSettings:
    """How pictures are cut: ``crop`` px tiles, at most ``num_crops`` of them, ``grid`` features a side per tile."""

    num_crops: int = 4  # Phi-3.5-vision's setting for single images (16 for Phi-3-vision)
    crop: int = 336  # the CLIP tower's input size
    grid: int = 12  # (336 / 14) / 2: patches a side after the 2x2 merge
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD


@dataclass(frozen=True)
class ImageBatch:
    """What the model needs for N pictures."""

    pixel_values: Any  # float32 tensor [N, num_crops + 1, 3, crop, crop]; unused tiles are zeros
    image_sizes: Any  # int64 tensor [N, 2]: height and width after the HD transform
    num_tokens: list[int]  # image features per picture, i.e. placeholder ids in the prompt


def hd_size(width: int, height: int, num_crops: int, crop: int = 336) -> tuple[int, int]:
    """(scaled width, scaled height) before padding: the largest whole number of crops across the long side
    such that tiles across times tiles down stays within ``num_crops``."""
    if width <= 0 or height <= 0:
        raise ValueError(f"an image of {width}x{height} pixels has nothing to look at")
    transposed = width < height
    if transposed:
        width, height = height, width
    ratio = width / height
    scale = 1
    while scale * math.ceil(scale / ratio) <= num_crops:
        scale += 1
    scale -= 1
    new_w = int(scale * crop)
    new_h = max(1, int(new_w / ratio))
    return (new_h, new_w) if transposed else (new_w, new_h)


def hd_transform(image: Image.Image, num_crops: int, crop: int = 336) -> Image.Image:
    """Scale (bilinear) to ``hd_size`` and pad the short side with white, centred, to whole crops."""
    image = image.convert("RGB")
    w, h = image.size
    transposed = w < h
    if transposed:
        image = image.transpose(Image.Transpose.TRANSPOSE)
    new_w, new_h = hd_size(*image.size, num_crops=num_crops, crop=crop)
    image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    target = math.ceil(new_h / crop) * crop
    top = (target - new_h) // 2
    padded = Image.new("RGB", (new_w, target), (255, 255, 255))
    padded.paste(image, (0, top))
    return padded.transpose(Image.Transpose.TRANSPOSE) if transposed else padded


def image_tokens(height: int, width: int, crop: int = 336, grid: int = 12) -> int:
    """Features for one picture of HD size height x width: its tiles with a separator closing each feature row,
    one separator, then the global image the same way."""
    rows, cols = height // crop, width // crop
    return rows * grid * (cols * grid + 1) + 1 + grid * (grid + 1)


def preprocess(images: list[Image.Image], settings: ImageSettings = ImageSettings()) -> ImageBatch:
    import torch

    c = settings.crop
    mean = torch.tensor(settings.mean).view(3, 1, 1)
    std = torch.tensor(settings.std).view(3, 1, 1)
    stacks, sizes, counts = [], [], []
    for image in images:
        hd = hd_transform(image, settings.num_crops, c)
        x = torch.from_numpy(np.asarray(hd, dtype=np.float32) / 255.0).permute(2, 0, 1)
        x = (x - mean) / std
        h, w = x.shape[1:]
        whole = torch.nn.functional.interpolate(x[None], size=(c, c), mode="bicubic")
        tiles = x.reshape(3, h // c, c, w // c, c).permute(1, 3, 0, 2, 4).reshape(-1, 3, c, c)
        stack = torch.cat([whole, tiles])
        pad = settings.num_crops + 1 - stack.shape[0]
        if pad > 0:
            stack = torch.cat([stack, stack.new_zeros(pad, 3, c, c)])
        stacks.append(stack)
        sizes.append([h, w])
        counts.append(image_tokens(h, w, c, settings.grid))
    return ImageBatch(torch.stack(stacks), torch.tensor(sizes, dtype=torch.long), counts)


def prompt_ids(tokenizer: Any, text: str, num_tokens: list[int]) -> list[int]:
    """Token ids for ``text`` with each ``<|image_N|>`` replaced by ``-N`` x (features of picture N).

    The text between tags is tokenised piece by piece with the tokenizer's own defaults, as the model was
    trained. Tags must number the pictures 1..N."""
    tags = [int(n) for n in IMAGE_TAG.findall(text)]
    if sorted(set(tags)) != list(range(1, len(set(tags)) + 1)):
        raise ValueError(f"image tags must be <|image_1|> ... <|image_N|> with no gaps, got {tags}")
    if len(set(tags)) != len(num_tokens):
        raise ValueError(f"the prompt names {len(set(tags))} images but {len(num_tokens)} were given")
    ids: list[int] = []
    for i, chunk in enumerate(IMAGE_TAG.split(text)[::2]):
        ids.extend(tokenizer(chunk).input_ids)
        if i < len(tags):
            ids.extend([-tags[i]] * num_tokens[tags[i] - 1])
    return ids
