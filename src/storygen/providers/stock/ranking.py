"""Rank stock candidates against one scene, never by the search's order alone.

Every candidate gets a score with its parts:

- ``text``: sentence-embedding similarity (all-MiniLM-L6-v2) between the scene (its narration, and its visual
  prompt or subject/setting/action when the planner gave them) and what the candidate shows in words (description,
  tags, page slug);
- ``orientation``: portrait 1, square 0.5, landscape 0 (landscape is cropped hard to 9:16);
- ``resolution``: the short side against 1080 px;
- ``duration`` (clips): 1 when the clip covers the scene, less when it must be slowed or looped;
- ``neighbour``: a penalty when it reads like the previous scene's choice (keeps neighbours visually distinct);
- ``vision`` (optional): a vision model's verdict on a frame, when a judge is given.

A candidate already used in the story, too small, too short or without a file is rejected with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from storygen.models import Scene
from storygen.providers.stock.candidate import Candidate
from storygen.providers.stock.queries import prompt_phrases

WEIGHTS = {"text": 1.0, "orientation": 0.12, "resolution": 0.08, "duration": 0.12, "neighbour": 0.3, "vision": 0.4}
MIN_SIDE = 256  # px: anything smaller cannot fill a 1080x1920 frame
MIN_CLIP_S = 1.0  # s: shorter clips flicker when looped
MAX_SLOW = 1.5  # a clip may be slowed to at most 1/1.5 of its speed; shorter ones loop
NEIGHBOUR_SIM = 0.75  # text similarity to the previous scene's choice above which the penalty starts


@dataclass
class Scored:
    candidate: Candidate
    score: float
    parts: dict[str, float]
    rejected: str = ""  # why it cannot be used ("" = usable)

    def as_dict(self) -> dict[str, Any]:
        c = self.candidate
        return {"key": c.key, "page_url": c.page_url, "text": c.text(), "query": c.query, "api_rank": c.api_rank,
                "width": c.width, "height": c.height, "duration": c.duration, "score": round(self.score, 4),
                "parts": {k: round(v, 4) for k, v in self.parts.items()}, "rejected": self.rejected}


@dataclass
class Memory:
    """What one story has used so far: no candidate twice, and the last choice's text to keep neighbours apart."""

    used: dict[str, int] = field(default_factory=dict)  # candidate key -> scene index
    texts: dict[int, str] = field(default_factory=dict)  # scene index -> the chosen candidate's text
    hashes: dict[int, int] = field(default_factory=dict)  # scene index -> perceptual hash of what was shown
    tried: dict[int, list[str]] = field(default_factory=dict)  # scene index -> keys chosen before (gate retries)


def scene_texts(scene: Scene, style: str = "") -> tuple[str, str]:
    """(narration, visual description) of a scene: what the picture should show, in two phrasings."""
    fields = [str(getattr(scene, f, "") or "") for f in ("subject", "action", "setting")]
    visual = ", ".join([f for f in fields if f] + prompt_phrases(scene.prompt, exclude=style))
    return " ".join(scene.text.split()), visual


def rank(scene: Scene, candidates: list[Candidate], embed: Any, *, memory: Memory | None = None, style: str = "",
         kind: str = "video", judge: Callable[[Candidate], float | None] | None = None) -> list[Scored]:
    """Every candidate scored and sorted best first (rejected ones last, with their reason)."""
    memory = memory or Memory()
    if not candidates:
        return []
    narration, visual = scene_texts(scene, style)
    prev_text = memory.texts.get(scene.index - 1, "")
    texts = [narration, visual or narration, prev_text or narration] + [c.text() or c.query for c in candidates]
    vecs = embed.encode(texts)
    v_narr, v_vis, v_prev, v_cands = vecs[0], vecs[1], vecs[2], vecs[3:]
    sim_narr = v_cands @ v_narr
    sim_vis = v_cands @ v_vis
    sim_prev = v_cands @ v_prev if prev_text else np.zeros(len(candidates))
    target = max(scene.duration, 0.1)
    out: list[Scored] = []
    for i, c in enumerate(candidates):
        parts: dict[str, float] = {}
        parts["text"] = float(0.5 * sim_narr[i] + 0.5 * sim_vis[i]) if visual else float(sim_narr[i])
        ratio = c.height / c.width if c.width and c.height else 0.0
        parts["orientation"] = 1.0 if ratio >= 1.3 else 0.5 if ratio >= 0.95 else 0.0
        parts["resolution"] = min(1.0, min(c.width, c.height) / 1080.0) if c.width and c.height else 0.0
        if kind == "video":
            d = c.duration
            parts["duration"] = 1.0 if d >= target else 0.8 if d * MAX_SLOW >= target else 0.2 + 0.4 * d / target
        parts["neighbour"] = -max(0.0, (float(sim_prev[i]) - NEIGHBOUR_SIM) / (1 - NEIGHBOUR_SIM)) if prev_text else 0.0
        if judge is not None:
            v = judge(c)
            if v is not None:
                parts["vision"] = float(v)
        score = sum(WEIGHTS[k] * v for k, v in parts.items())
        out.append(Scored(c, score, parts, _rejection(c, kind, memory, scene.index)))
    out.sort(key=lambda s: (bool(s.rejected), -s.score, s.candidate.api_rank))
    return out


def _rejection(c: Candidate, kind: str, memory: Memory, index: int) -> str:
    if not c.download_url:
        return "no downloadable file"
    if c.key in memory.used and memory.used[c.key] != index:
        return f"already used in scene {memory.used[c.key]}"
    if c.key in memory.tried.get(index, []):
        return "shown for this scene before and judged weak"
    if c.width and c.height and min(c.width, c.height) < MIN_SIDE:
        return f"too small ({c.width}x{c.height})"
    if kind == "video" and c.duration and c.duration < MIN_CLIP_S:
        return f"too short ({c.duration:g} s)"
    return ""


def reason(chosen: Scored, ranked: list[Scored], scene: Scene) -> str:
    """Why this one, in a sentence."""
    c, p = chosen.candidate, chosen.parts
    bits = [f"best score {chosen.score:.2f} of {len(ranked)}: text match {p['text']:.2f} with \"{c.text()[:70]}\""]
    bits.append("portrait" if p["orientation"] == 1.0 else "square" if p["orientation"] == 0.5 else "landscape, cropped")
    if "duration" in p:
        d, t = c.duration, scene.duration
        bits.append(f"{d:g} s covers {t:.1f} s" if d >= t else f"{d:g} s slowed to {t:.1f} s" if d * MAX_SLOW >= t
                    else f"{d:g} s looped to {t:.1f} s")
    if "vision" in p:
        bits.append(f"vision {p['vision']:.2f}")
    first = min(ranked, key=lambda s: s.candidate.api_rank)
    if first is not chosen:
        bits.append(f"the search's first result \"{first.candidate.text()[:50]}\" scored {first.score:.2f}"
                    + (f" ({first.rejected})" if first.rejected else ""))
    return "; ".join(bits)
