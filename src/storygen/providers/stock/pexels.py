"""Pexels (https://www.pexels.com/api/documentation/): ``GET /v1/search`` for photos and ``GET /videos/search`` for
videos, with the key in the ``Authorization`` header. ``PEXELS_API_KEY`` or ``pexels.api_key``; ``pexels.base_url``
points elsewhere (a proxy, a test server). Pexels video results carry no description: the page URL's slug
("/video/an-old-man-reading-a-letter-3195394/") says what they show."""

from __future__ import annotations

from typing import Any

from storygen.config import Config
from storygen.errors import ProviderError
from storygen.providers.stock.candidate import Candidate
from storygen.providers.stock.http import StockHTTP
from storygen.providers.stock.provider import StockImages, StockMotion, service_settings

BASE_URL = "https://api.pexels.com"
PER_PAGE = 15


class PexelsSource:
    name = "pexels"
    service = "Pexels"

    @staticmethod
    def check_ready(cfg: Config | None) -> None:
        service_settings(cfg, "pexels", "PEXELS_API_KEY", BASE_URL)

    def __init__(self, cfg: Config | None):
        key, base = service_settings(cfg, "pexels", "PEXELS_API_KEY", BASE_URL)
        self.base = base.removesuffix("/v1")
        self.http = StockHTTP(service=self.service, key_var="PEXELS_API_KEY", secrets=[key],
                              headers={"Authorization": key})

    def search(self, query: str, kind: str) -> list[Candidate]:
        params = {"query": query[:100], "orientation": "portrait", "per_page": PER_PAGE, "page": 1}
        if kind == "video":
            body = self.http.get_json(f"{self.base}/videos/search", params, what=f"a video search for '{query}'")
            return [c for v in _items(body, "videos") if (c := _video(v)) is not None]
        body = self.http.get_json(f"{self.base}/v1/search", params, what=f"a photo search for '{query}'")
        return [c for p in _items(body, "photos") if (c := _photo(p)) is not None]


def _items(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = body.get(key)
    if items is None and "error" in body:
        raise ProviderError(f"Pexels answered with an error: {str(body['error'])[:200]}", "check PEXELS_API_KEY and the query.")
    if not isinstance(items, list):
        raise ProviderError(f"Pexels sent a reply without a '{key}' list.", "check pexels.base_url points at the Pexels API.")
    return [i for i in items if isinstance(i, dict)]


def _photo(p: dict[str, Any]) -> Candidate | None:
    src = p.get("src") or {}
    original = str(src.get("original") or "")
    if not original or p.get("id") is None:
        return None
    # Pexels resizes on its CDN: a 1920-high rendition instead of a multi-megapixel original
    url = original + ("" if "?" in original else "?auto=compress&cs=tinysrgb&h=1920")
    w, h = int(p.get("width") or 0), int(p.get("height") or 0)
    if h > 1920:
        w, h = round(w * 1920 / h), 1920
    return Candidate(provider="pexels", id=str(p["id"]), kind="photo", page_url=str(p.get("url") or ""),
                     author=str(p.get("photographer") or ""), author_url=str(p.get("photographer_url") or ""),
                     download_url=url, width=w, height=h, alt=str(p.get("alt") or ""))


def _video(v: dict[str, Any]) -> Candidate | None:
    files = [f for f in v.get("video_files") or [] if isinstance(f, dict) and f.get("link")
             and str(f.get("file_type") or "video/mp4") == "video/mp4"]
    if not files or v.get("id") is None:
        return None
    f = pick_rendition(files, lambda f: (int(f.get("width") or 0), int(f.get("height") or 0)))
    user = v.get("user") or {}
    return Candidate(provider="pexels", id=str(v["id"]), kind="video", page_url=str(v.get("url") or ""),
                     author=str(user.get("name") or ""), author_url=str(user.get("url") or ""),
                     download_url=str(f["link"]), width=int(f.get("width") or v.get("width") or 0),
                     height=int(f.get("height") or v.get("height") or 0), duration=float(v.get("duration") or 0))


def pick_rendition(files: list[Any], size) -> Any:
    """The smallest rendition whose short side is at least 1080 px, else the largest."""
    big = [f for f in files if min(size(f)) >= 1080]
    if big:
        return min(big, key=lambda f: size(f)[0] * size(f)[1])
    return max(files, key=lambda f: size(f)[0] * size(f)[1])


class PexelsImages(StockImages):
    source_cls = PexelsSource


class PexelsMotion(StockMotion):
    source_cls = PexelsSource
