"""The stock providers' shared work: search a scene's queries, rank the candidates, download and check the best,
keep neighbours distinct, fit it, and say what was chosen and why.

``StockImages`` is an image provider (a photo per scene, fitted to 1080x1920; the motion stage moves it with Ken
Burns); ``StockMotion`` a motion provider (a clip per scene). Both raise ``NoCandidate`` for a scene with nothing
usable, so the stage can draw that scene offline; any other ProviderError (key rejected, service down after
retries) stops the run with its one-line message, and a re-run resumes at that scene.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from storygen.config import Config
from storygen.errors import ProviderError
from storygen.models import Scene, StyleBible
from storygen.providers.motion.base import Clip
from storygen.providers.stock.candidate import Candidate, NoCandidate
from storygen.providers.stock.embedding import load_embedder
from storygen.providers.stock.fit import (
    Unusable,
    check_image,
    check_video,
    fit_image,
    fit_video,
    frame_at,
)
from storygen.providers.stock.http import HTTPStatusProblem, StockHTTP
from storygen.providers.stock.queries import scene_queries
from storygen.providers.stock.ranking import Memory, Scored, rank, reason
from storygen.media.similarity import DUPLICATE_BITS, hamming, phash

POOL = 24  # stop searching once this many candidates are in hand (after at least two queries)
MAX_QUERIES = 4
MAX_DOWNLOADS = 4  # candidates downloaded for one scene before giving up on it
JUDGE_MIN = 0.35  # a vision verdict below this rejects a candidate


class Source(Protocol):
    name: str
    service: str
    http: StockHTTP

    def search(self, query: str, kind: str) -> list[Candidate]:
        ...


def service_settings(cfg: Config | None, section: str, env_var: str, default_base: str) -> tuple[str, str]:
    """(api key, base URL) for a stock service, from config (``<section>.api_key``) or the environment."""
    key = str((cfg.get(f"{section}.api_key") if cfg else "") or os.environ.get(env_var) or "").strip()
    base = str((cfg.get(f"{section}.base_url") if cfg else "") or "").strip() or default_base
    if not key:
        raise ProviderError(f"{section.capitalize()} needs an API key: {env_var} is not set.",
                            f"set {env_var} (free at {section}.com/api) or -c {section}.api_key=...")
    return key, base.rstrip("/")


class _Stock:
    source_cls: type
    wants_gpu = False
    kind: str = "video"

    def __init__(self, settings: dict[str, Any] | None = None, cfg: Config | None = None):
        self.settings = settings or {}
        self.source: Source = self.source_cls(cfg)
        self.name = self.source.name
        self.version = f"{self.name}-stock-1"
        self.fps = int((cfg.get("render.fps") if cfg else 0) or 30)
        self.judge = None  # optional: callable(PIL image, prompt) -> score 0..1, e.g. a vision judge's
        self._memories: dict[str, Memory] = {}
        self._first_text: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def check_ready(cls, settings: dict[str, Any] | None = None, cfg: Config | None = None) -> None:
        """Before a story starts: the service's key."""
        cls.source_cls.check_ready(cfg)

    def close(self) -> None:
        self.source.http.close()

    # ------------------------------------------------------------------ story memory
    def memory(self, story: str, scene: Scene) -> Memory:
        """The memory of one story. Scene 0 with a different text starts a new story under the same key."""
        with self._lock:
            if scene.index == 0:
                if self._first_text.get(story, scene.text) != scene.text:
                    self._memories.pop(story, None)
                self._first_text[story] = scene.text
            return self._memories.setdefault(story, Memory())

    def remember(self, story: str, index: int, record: dict[str, Any]) -> None:
        """Restore an earlier run's choice (from its record), so a resumed story does not reuse it."""
        chosen = record.get("chosen") or {}
        with self._lock:
            m = self._memories.setdefault(story, Memory())
            if chosen.get("key"):
                m.used[chosen["key"]] = index
                m.texts[index] = chosen.get("text", "")
            if record.get("phash") is not None:
                m.hashes[index] = int(record["phash"], 16)

    # ------------------------------------------------------------------ choosing
    def choose(self, scene: Scene, *, style: str = "", story: str = "default") -> tuple[Path, dict[str, Any]]:
        mem = self.memory(story, scene)
        with self._lock:  # this scene was chosen before: a gate retry, which must show something else
            for k in [k for k, i in mem.used.items() if i == scene.index]:
                del mem.used[k]
                mem.tried.setdefault(scene.index, []).append(k)
        queries = scene_queries(scene, style=style)
        pool: list[Candidate] = []
        seen: set[str] = set()
        searched: list[dict[str, Any]] = []
        for q in queries[:MAX_QUERIES]:
            if len(pool) >= POOL and len(searched) >= 2:
                break
            found = self.source.search(q, self.kind)
            searched.append({"query": q, "results": len(found)})
            for c in found:
                if c.key not in seen:
                    seen.add(c.key)
                    c.query, c.api_rank = q, len(pool)
                    pool.append(c)
        embed = load_embedder()
        ranked = rank(scene, pool, embed, memory=mem, style=style, kind="video" if self.kind == "video" else "photo")
        record: dict[str, Any] = {"provider": self.name, "kind": self.kind, "scene": scene.index,
                                  "queries": searched, "text_model": embed.name}
        chosen, path, h = self._first_usable(scene, ranked, mem)
        record["candidates"] = [s.as_dict() for s in ranked]
        if chosen is None:
            why = "no results" if not pool else f"none of {len(pool)} candidates was usable"
            record["reason"] = why
            raise NoCandidate(
                f"{self.source.service} has no usable {self.kind} for scene {scene.index} ({why}; queries: "
                f"{', '.join(repr(q['query']) for q in searched) or 'none'}).",
                "this scene is drawn with the offline look instead.", record=record)
        c = chosen.candidate
        with self._lock:
            mem.used[c.key] = scene.index
            mem.texts[scene.index] = c.text()
            mem.hashes[scene.index] = h
        record.update(chosen={**chosen.as_dict(), "author": c.author}, reason=reason(chosen, ranked, scene),
                      attribution=c.attribution(), phash=f"{h:016x}")
        return path, record

    def _first_usable(self, scene: Scene, ranked: list[Scored], mem: Memory) -> tuple[Scored | None, Path, int]:
        tries = 0
        for s in ranked:
            if s.rejected:
                continue
            if tries >= MAX_DOWNLOADS:
                s.rejected = f"not tried (the first {MAX_DOWNLOADS} were)"
                continue
            tries += 1
            c = s.candidate
            try:
                path = self.source.http.download(c.download_url, suffix=".mp4" if c.kind == "video" else ".jpg",
                                                 check=check_video if c.kind == "video" else check_image)
            except Unusable as e:
                s.rejected = f"unusable: {e.problem}"
                continue
            except HTTPStatusProblem as e:
                if e.status in (404, 410):
                    s.rejected = f"file gone (HTTP {e.status})"
                    continue
                raise
            frame = frame_at(path, 0.5) if c.kind == "video" else Image.open(path).convert("RGB")
            h = phash(frame)
            prev = mem.hashes.get(scene.index - 1)
            if prev is not None and hamming(h, prev) <= DUPLICATE_BITS:
                s.rejected = "looks like the previous scene's picture"
                continue
            if self.judge is not None:
                v = float(self.judge(frame, scene.prompt))
                s.parts["vision"] = v
                if v < JUDGE_MIN:
                    s.rejected = f"vision verdict {v:.2f}"
                    continue
            return s, path, h
        return None, Path(), 0


class StockImages(_Stock):
    """A stock photo per scene (``keyframes.provider=pexels|pixabay``), fitted to the requested size."""

    kind = "photo"
    draws_at_output_size = True

    def generate(self, scene: Scene, style: StyleBible, *, width: int, height: int, seed: int) -> Image.Image:
        path, record = self.choose(scene, style=style.art_style if style else "")
        with Image.open(path) as src:
            image = fit_image(src, width, height)
        image.info["storygen_choice"] = record
        return image


class StockMotion(_Stock):
    """A stock clip per scene (``clips.provider=pexels|pixabay``), cut, slowed or looped to the scene's length."""

    kind = "video"
    makes_video = True

    def animate(self, keyframe: Path, scene: Scene, out_dir: Path) -> Clip:
        out_dir = Path(out_dir)
        path, record = self.choose(scene, story=str(out_dir.resolve().parent))
        dst = out_dir / f"scene_{scene.index:02d}.mp4"
        record["fit"] = fit_video(path, dst, scene.duration, fps=self.fps)
        return Clip(kind="video", path=dst, duration=scene.duration, move={"generator": self.name}, info=record)
