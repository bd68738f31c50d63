"""Perceptual image similarity: a 64-bit DCT pHash and the Hamming distance between two (near-duplicate frames,
neighbouring scenes that look alike). Used by the vision judges and the stock-footage ranking."""

from __future__ import annotations

import numpy as np
from PIL import Image

DUPLICATE_BITS = 6  # Hamming distance (of 64) at or below which two frames are near-duplicates


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_D32 = _dct_matrix(32)


def phash(image: Image.Image) -> int:
    """64-bit DCT perceptual hash (the classic pHash: 32x32 grey, top-left 8x8 DCT, above-median bits)."""
    g = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    d = (_D32 @ g @ _D32.T)[:8, :8].flatten()
    med = np.median(d[1:])  # the DC term would dominate the median
    bits = d > med
    return int("".join("1" if b else "0" for b in bits), 2)


def hamming(a: int, b: int) -> int:
    return bin(a ^ b).count("1")
