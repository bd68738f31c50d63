"""A local stand-in for Pexels and Pixabay on 127.0.0.1, speaking their documented JSON, plus a media host that
serves real files with Range support and can cut a download half-way. Every request is recorded."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class StockServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.routes: dict[str, Any] = {}  # path -> JSON body, or a deque of steps, or callable(query) -> step
        self.media: dict[str, bytes] = {}  # path -> bytes
        self.cut: dict[str, int] = {}  # path -> how many more full (non-Range) requests to cut half-way
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None,
                      length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                u = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                server.requests.append({"path": u.path, "query": q, "raw": self.path,
                                        "headers": {k.lower(): v for k, v in self.headers.items()}})
                if u.path in server.media:
                    return self._media(u.path)
                step = server.routes.get(u.path)
                if isinstance(step, deque):
                    step = step.popleft() if len(step) > 1 else step[0]
                if callable(step):
                    step = step(q)
                if step is None:
                    return self._send(404, b'{"error": "not found"}', "application/json")
                if not (isinstance(step, dict) and "_status" in step):
                    step = {"_status": 200, "_body": step}
                body = step.get("_raw")
                payload = body.encode() if body is not None else json.dumps(step.get("_body", {})).encode()
                ctype = step.get("_type", "application/json" if body is None else "text/html")
                self._send(int(step["_status"]), payload, ctype, step.get("_headers"))

            def _media(self, path: str) -> None:
                data = server.media[path]
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    part = data[start:]
                    return self._send(206, part, "video/mp4" if path.endswith(".mp4") else "image/jpeg",
                                      {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
                if server.cut.get(path, 0) > 0:
                    server.cut[path] -= 1
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp4")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._send(200, data, "video/mp4" if path.endswith(".mp4") else "image/jpeg")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> StockServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]


# ---------------------------------------------------------------- the services' documented JSON
def pexels_video(server: StockServer, vid: int, slug: str, file: str, *, w: int = 1080, h: int = 1920,
                 duration: int = 10, author: str = "Ana Lee") -> dict:
    return {"id": vid, "width": w, "height": h, "duration": duration,
            "url": f"https://www.pexels.com/video/{slug}-{vid}/", "image": f"{server.url}/thumb/{vid}.jpg",
            "user": {"id": 100 + vid, "name": author, "url": f"https://www.pexels.com/@{author.lower().replace(' ', '-')}"},
            "video_files": [
                {"id": vid * 10, "quality": "sd", "file_type": "video/mp4", "width": w // 4, "height": h // 4, "fps": 25,
                 "link": f"{server.url}/missing/{vid}-sd.mp4"},
                {"id": vid * 10 + 1, "quality": "hd", "file_type": "video/mp4", "width": w, "height": h, "fps": 25,
                 "link": f"{server.url}{file}"},
            ],
            "video_pictures": [{"id": vid * 100, "picture": f"{server.url}/thumb/{vid}.jpg", "nr": 0}]}


def pexels_videos(videos: list[dict]) -> dict:
    return {"page": 1, "per_page": 15, "total_results": len(videos), "url": "https://www.pexels.com/videos/",
            "videos": videos}


def pexels_photo(server: StockServer, pid: int, slug: str, alt: str, file: str, *, w: int = 3000, h: int = 4500,
                 author: str = "Sam Roe") -> dict:
    orig = f"{server.url}{file}"
    return {"id": pid, "width": w, "height": h, "url": f"https://www.pexels.com/photo/{slug}-{pid}/",
            "photographer": author, "photographer_url": f"https://www.pexels.com/@{author.lower().replace(' ', '-')}",
            "photographer_id": 5, "avg_color": "#978E82", "liked": False, "alt": alt,
            "src": {"original": orig, "large2x": orig + "?dpr=2", "large": orig + "?h=650", "medium": orig + "?h=350",
                    "small": orig + "?h=130", "portrait": orig + "?h=1200&w=800", "landscape": orig + "?h=627&w=1200",
                    "tiny": orig + "?h=200&w=280"}}


def pexels_photos(photos: list[dict]) -> dict:
    return {"page": 1, "per_page": 15, "total_results": len(photos), "photos": photos}


def pixabay_video(server: StockServer, vid: int, tags: str, file: str, *, w: int = 1080, h: int = 1920,
                  duration: int = 10, user: str = "WaveMaker") -> dict:
    def rend(scale: int, path: str) -> dict:
        return {"url": path, "width": w // scale, "height": h // scale, "size": 1000, "thumbnail": f"{server.url}/t.jpg"}

    return {"id": vid, "pageURL": f"https://pixabay.com/videos/{tags.split(',')[0].strip().replace(' ', '-')}-{vid}/",
            "type": "film", "tags": tags, "duration": duration,
            "videos": {"large": rend(1, f"{server.url}{file}"), "medium": rend(2, f"{server.url}/missing/{vid}-m.mp4"),
                       "small": rend(3, f"{server.url}/missing/{vid}-s.mp4"), "tiny": rend(4, f"{server.url}/missing/{vid}-t.mp4")},
            "views": 10, "downloads": 5, "likes": 1, "comments": 0, "user_id": 4000 + vid, "user": user,
            "userImageURL": ""}


def pixabay_photo(server: StockServer, pid: int, tags: str, file: str, *, w: int = 3000, h: int = 4500,
                  user: str = "PhotoFan") -> dict:
    return {"id": pid, "pageURL": f"https://pixabay.com/photos/{tags.split(',')[0].strip().replace(' ', '-')}-{pid}/",
            "type": "photo", "tags": tags, "previewURL": f"{server.url}/p.jpg", "previewWidth": 100, "previewHeight": 150,
            "webformatURL": f"{server.url}/w.jpg", "webformatWidth": 427, "webformatHeight": 640,
            "largeImageURL": f"{server.url}{file}", "imageWidth": w, "imageHeight": h, "imageSize": 1000,
            "views": 1, "downloads": 1, "collections": 0, "likes": 1, "comments": 0, "user_id": 7000 + pid,
            "user": user, "userImageURL": ""}


def pixabay_hits(hits: list[dict]) -> dict:
    return {"total": len(hits), "totalHits": len(hits), "hits": hits}
