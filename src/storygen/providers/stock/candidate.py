"""What a stock search returns, in one shape for every service, and the error for a scene with nothing usable."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from storygen.errors import NothingSuitable


class NoCandidate(NothingSuitable):
    """No usable photo or clip for one scene. The stage catches it (as NothingSuitable) and draws that scene with
    the offline look; ``record`` holds the queries and every candidate with its score and why it was not used."""


@dataclass
class Candidate:
    provider: str  # "pexels" | "pixabay"
    id: str
    kind: Literal["photo", "video"]
    page_url: str  # the item's page on the service (attribution link)
    author: str
    author_url: str
    download_url: str  # the file to fetch (never carries a key)
    width: int
    height: int
    duration: float = 0.0  # seconds; 0 for photos
    alt: str = ""  # the service's description (Pexels photo "alt")
    tags: list[str] = field(default_factory=list)  # Pixabay "tags"
    query: str = ""  # which query found it
    api_rank: int = 0  # its position in the search results (0 = first), over all queries in order

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.kind}:{self.id}"

    @property
    def slug(self) -> str:
        """The words of the page URL's slug: Pexels videos carry no description, only this."""
        return slug_words(self.page_url)

    def text(self) -> str:
        """What the item shows, in words: description, tags and slug, without repeats."""
        parts = [self.alt, ", ".join(self.tags), self.slug]
        seen: list[str] = []
        for p in parts:
            p = " ".join(p.split())
            if p and p.lower() not in (s.lower() for s in seen):
                seen.append(p)
        return ". ".join(seen)

    def attribution(self) -> dict[str, str]:
        site = "Pexels" if self.provider == "pexels" else "Pixabay"
        what = "Photo" if self.kind == "photo" else "Video"
        return {"provider": self.provider, "author": self.author, "author_url": self.author_url,
                "page_url": self.page_url, "license": f"{site} License",
                "credit": f"{what} by {self.author or 'unknown'} on {site}: {self.page_url}"}

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["text"] = self.text()
        return d


def slug_words(url: str) -> str:
    """'https://www.pexels.com/video/an-old-man-reading-a-letter-3195394/' -> 'an old man reading a letter'."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    segs = [s for s in path.split("/") if s]
    if not segs:
        return ""
    last = segs[-1]
    words = [w for w in re.split(r"[-_]+", last) if w and not w.isdigit() and w.lower() not in ("id",)]
    return " ".join(words)
