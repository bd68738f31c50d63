"""Pixabay (https://pixabay.com/api/docs/): ``GET /api/`` for photos and ``GET /api/videos/`` for videos, with
``key=`` in the query string - so every URL this module builds is redacted before it can reach a log, an error or
a file. ``PIXABAY_API_KEY`` or ``pixabay.api_key``; ``pixabay.base_url`` points elsewhere. Results are cached for
24 hours, as Pixabay asks; files are downloaded (no hotlinking)."""

from __future__ import annotations

from typing import Any

from storygen.config import Config
from storygen.errors import ProviderError
from storygen.providers.stock.candidate import Candidate
from storygen.providers.stock.http import StockHTTP
from storygen.providers.stock.pexels import pick_rendition
from storygen.providers.stock.provider import StockImages, StockMotion, service_settings

BASE_URL = "https://pixabay.com"
PER_PAGE = 20


class PixabaySource:
    name = "pixabay"
    service = "Pixabay"

    @staticmethod
    def check_ready(cfg: Config | None) -> None:
        service_settings(cfg, "pixabay", "PIXABAY_API_KEY", BASE_URL)

    def __init__(self, cfg: Config | None):
        key, base = service_settings(cfg, "pixabay", "PIXABAY_API_KEY", BASE_URL)
        self.base = base.removesuffix("/api")
        self._key = key
        self.http = StockHTTP(service=self.service, key_var="PIXABAY_API_KEY", secrets=[key])

    def search(self, query: str, kind: str) -> list[Candidate]:
        params: dict[str, Any] = {"key": self._key, "q": query[:100], "per_page": PER_PAGE, "safesearch": "true"}
        if kind == "video":
            params["video_type"] = "film"
            body = self.http.get_json(f"{self.base}/api/videos/", params, what=f"a video search for '{query}'")
            return [c for v in _hits(body) if (c := _video(v)) is not None]
        params.update(image_type="photo", orientation="vertical")
        body = self.http.get_json(f"{self.base}/api/", params, what=f"a photo search for '{query}'")
        return [c for p in _hits(body) if (c := _photo(p)) is not None]


def _hits(body: dict[str, Any]) -> list[dict[str, Any]]:
    hits = body.get("hits")
    if not isinstance(hits, list):
        raise ProviderError("Pixabay sent a reply without a 'hits' list.", "check pixabay.base_url points at the Pixabay API.")
    return [h for h in hits if isinstance(h, dict)]


def _author(h: dict[str, Any]) -> tuple[str, str]:
    user, uid = str(h.get("user") or ""), h.get("user_id")
    return user, (f"https://pixabay.com/users/{user}-{uid}/" if user and uid is not None else "")


def _tags(h: dict[str, Any]) -> list[str]:
    return [t.strip() for t in str(h.get("tags") or "").split(",") if t.strip()]


def _photo(h: dict[str, Any]) -> Candidate | None:
    url = str(h.get("largeImageURL") or h.get("webformatURL") or "")
    if not url or h.get("id") is None:
        return None
    w, hgt = int(h.get("imageWidth") or 0), int(h.get("imageHeight") or 0)
    if h.get("largeImageURL") and max(w, hgt) > 1280:  # largeImageURL is scaled to at most 1280 px
        s = 1280 / max(w, hgt)
        w, hgt = round(w * s), round(hgt * s)
    author, author_url = _author(h)
    return Candidate(provider="pixabay", id=str(h["id"]), kind="photo", page_url=str(h.get("pageURL") or ""),
                     author=author, author_url=author_url, download_url=url, width=w, height=hgt, tags=_tags(h))


def _video(h: dict[str, Any]) -> Candidate | None:
    renditions = [r for r in (h.get("videos") or {}).values() if isinstance(r, dict) and r.get("url")]
    if not renditions or h.get("id") is None:
        return None
    r = pick_rendition(renditions, lambda r: (int(r.get("width") or 0), int(r.get("height") or 0)))
    author, author_url = _author(h)
    return Candidate(provider="pixabay", id=str(h["id"]), kind="video", page_url=str(h.get("pageURL") or ""),
                     author=author, author_url=author_url, download_url=str(r["url"]), width=int(r.get("width") or 0),
                     height=int(r.get("height") or 0), duration=float(h.get("duration") or 0), tags=_tags(h))


class PixabayImages(StockImages):
    source_cls = PixabaySource


class PixabayMotion(StockMotion):
    source_cls = PixabaySource
