"""HTTP for the stock providers: JSON searches and verified, resumable, cached downloads, with the key kept secret.

- Network errors, 429 and 5xx are retried with exponential backoff. A 429 waits as long as ``Retry-After`` or the
  ``X-Ratelimit-Reset`` header says (Pexels sends a UNIX time, Pixabay seconds); a response with
  ``X-Ratelimit-Remaining: 0`` makes the next request wait for the reset. All waiting of one request is bounded
  (``max_wait`` seconds), after which the request fails with a clear error.
- 401/403 is "key rejected", naming the variable. A body that is not JSON (an HTML error page, a cut reply) is a
  clear ProviderError, never a traceback.
- Downloads land in a cache under ``$STORYGEN_CACHE/stock`` (``STORYGEN_STOCK_CACHE`` overrides): bytes go to a
  ``.part`` file that a re-run resumes with an HTTP ``Range`` request; only when the length matches and the media
  probe passes is it renamed into place, with a sidecar holding its sha256, which is checked on every reuse.
- No URL that carries the key reaches a log record, an exception, a file name or a file: ``redact`` removes
  ``key=`` (and any configured secret) from every text this module lets out, including httpx's own log lines.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from storygen.config import mask
from storygen.errors import ProviderError
from storygen.workspace import read_json, write_json

SECRET_PARAMS = ("key", "api_key", "apikey", "token", "access_token")
USER_AGENT = "storygen/0.1 (+https://github.com/storygen)"
SEARCH_TTL_S = 24 * 3600  # Pixabay asks that search results be cached for 24 hours


def cache_root() -> Path:
    """``$STORYGEN_STOCK_CACHE``, else ``$STORYGEN_CACHE/stock``, else ``~/.cache/storygen/stock``."""
    explicit = os.environ.get("STORYGEN_STOCK_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    root = os.environ.get("STORYGEN_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "storygen") / "stock"


def strip_secret_params(url: str) -> str:
    """``url`` without query parameters that carry a key."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(?i)\b(key|api_key|apikey|token|access_token)=[^&\s\"']*", r"\1=***", url)
    if not parts.query:
        return url
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in SECRET_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(kept)))


_KEY_IN_TEXT = re.compile(r"(?i)([?&](?:key|api_key|apikey|token|access_token)=)[^&\s\"'<>]*")


class _RedactLogs(logging.Filter):
    """Removes secrets from httpx/httpcore log records (httpx logs every request URL at INFO)."""

    def __init__(self, redact: Callable[[str], str]):
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to fix
            return True
        clean = self.redact(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True


class HTTPStatusProblem(ProviderError):
    """A final (not retried) HTTP error status other than 401/403, e.g. 404 for a file that is gone."""

    def __init__(self, problem: str, fix: str | None = None, *, status: int = 0):
        super().__init__(problem, fix)
        self.status = status


class StockHTTP:
    """One service's HTTP: ``get_json`` for searches, ``download`` for media. ``key_var`` names the variable."""

    def __init__(self, *, service: str, key_var: str, secrets: list[str], headers: dict[str, str] | None = None,
                 timeout: float = 30.0, max_retries: int = 5, max_wait: float = 120.0, backoff: float = 1.0,
                 transport: httpx.BaseTransport | None = None):
        self.service = service
        self.key_var = key_var
        self.secrets = [s for s in secrets if s]
        self.max_retries = max_retries
        self.max_wait = max_wait  # seconds of waiting (backoff + rate limits) one request may spend in total
        self.backoff = backoff
        self.timeout = timeout
        self._not_before = 0.0  # monotonic time before which the service asked us not to call again
        self.waited = 0.0  # seconds spent waiting so far (tests and logs read it)
        self.requests = 0
        self._client = httpx.Client(headers={"User-Agent": USER_AGENT, **(headers or {})}, timeout=timeout,
                                    follow_redirects=True, transport=transport)
        self._filter = _RedactLogs(self.redact)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(self._filter)

    def close(self) -> None:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._filter)
        self._client.close()

    # ------------------------------------------------------------------ secrets
    def redact(self, text: Any) -> str:
        s = _KEY_IN_TEXT.sub(r"\1***", str(text))
        for secret in self.secrets:
            if len(secret) >= 4:
                s = s.replace(secret, mask(secret))
        return s

    # ------------------------------------------------------------------ waiting
    def _sleep(self, seconds: float, deadline: float, what: str) -> None:
        seconds = max(0.0, seconds)
        if time.monotonic() + seconds > deadline:
            raise ProviderError(
                f"{self.service} is rate limiting or failing: {what}; gave up after waiting {self.max_wait:g} s.",
                f"wait a few minutes and run the same command again (finished scenes are kept), or check your "
                f"{self.service} quota.")
        if seconds:
            time.sleep(seconds)
            self.waited += seconds

    def _backoff(self, attempt: int) -> float:
        return self.backoff * (2 ** attempt) * (0.75 + 0.5 * random.random())

    def _note_rate_headers(self, r: httpx.Response) -> None:
        remaining = r.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.strip() == "0":
            wait = _reset_seconds(r.headers.get("x-ratelimit-reset"))
            if wait is not None:
                self._not_before = time.monotonic() + wait

    # ------------------------------------------------------------------ requests
    def _send(self, method: str, url: str, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
              stream: bool = False, what: str = "request") -> httpx.Response:
        """One request with retries. Returns a 2xx response (streamed responses must be closed by the caller)."""
        deadline = time.monotonic() + self.max_wait
        shown = self.redact(strip_secret_params(url))
        last = ""
        for attempt in range(self.max_retries + 1):
            if self._not_before > time.monotonic():
                self._sleep(self._not_before - time.monotonic(), deadline, "the rate limit is used up")
            self.requests += 1
            try:
                req = self._client.build_request(method, url, params=params, headers=headers)
                r = self._client.send(req, stream=stream)
            except httpx.TransportError as e:  # connection refused/reset, timeout, cut reply
                last = f"{type(e).__name__} on {shown}"
                if attempt < self.max_retries:
                    self._sleep(self._backoff(attempt), deadline, last)
                    continue
                raise ProviderError(f"Cannot reach {self.service} ({last}).",
                                    f"check your network or {self.service.lower()}.base_url, then run again.") from None
            self._note_rate_headers(r)
            if r.status_code < 300:
                return r
            status = r.status_code
            retry_after = _retry_after(r)
            r.close()
            if status in (401, 403):
                raise ProviderError(f"{self.service} key rejected (HTTP {status}).",
                                    f"check {self.key_var} (or {self.service.lower()}.api_key).")
            if status == 429 or status >= 500:
                last = f"HTTP {status} from {shown}"
                if attempt < self.max_retries:
                    wait = retry_after if retry_after is not None else self._backoff(attempt)
                    self._sleep(wait, deadline, last)
                    continue
                raise ProviderError(f"{self.service} kept answering HTTP {status} ({self.max_retries} retries).",
                                    f"wait and run the same command again, or check your {self.service} quota.")
            raise HTTPStatusProblem(f"{self.service} answered HTTP {status} for {what} ({shown}).",
                                    f"check {self.service.lower()}.base_url.", status=status)
        raise ProviderError(f"{self.service} failed: {last}.", "run the same command again.")  # pragma: no cover

    def get_json(self, url: str, params: dict[str, Any], *, what: str, cache: bool = True) -> Any:
        """GET a JSON document. Results are cached for 24 hours under a name made without the key."""
        clean = strip_secret_params(str(httpx.URL(url, params=params)))
        cache_file = cache_root() / "search" / f"{hashlib.sha256(clean.encode()).hexdigest()[:32]}.json"
        if cache and cache_file.is_file():
            try:
                saved = read_json(cache_file)
                if time.time() - float(saved["t"]) < SEARCH_TTL_S:
                    return saved["body"]
            except (ValueError, KeyError, TypeError, OSError):
                pass
        r = self._send("GET", url, params=params, what=what)
        try:
            body = r.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            kind = "an HTML page" if "html" in r.headers.get("content-type", "").lower() or r.text.lstrip()[:1] == "<" \
                else "malformed JSON"
            raise ProviderError(f"{self.service} sent {kind} instead of JSON for {what}.",
                                f"check {self.service.lower()}.base_url points at the {self.service} API "
                                "(a proxy or captive portal may be in the way).") from None
        if not isinstance(body, dict):
            raise ProviderError(f"{self.service} sent JSON that is not an object for {what}.",
                                f"check {self.service.lower()}.base_url.")
        if cache:
            write_json(cache_file, {"t": time.time(), "url": clean, "body": body})
        return body

    # ------------------------------------------------------------------ downloads
    def download(self, url: str, *, suffix: str, check: Callable[[Path], None]) -> Path:
        """The file at ``url``, from the cache or downloaded into it. ``check(path)`` raises when the file is not
        usable media; a file is only put in place (and reused later) once the length and ``check`` pass."""
        clean = self.redact(strip_secret_params(url))
        digest = hashlib.sha256(clean.encode()).hexdigest()
        folder = cache_root() / "media" / digest[:2]
        final = folder / f"{digest[:32]}{suffix}"
        meta = final.with_name(final.name + ".json")
        if final.is_file() and meta.is_file():
            try:
                if read_json(meta).get("sha256") == _sha256(final):
                    return final
            except (ValueError, OSError):
                pass
            final.unlink(missing_ok=True)  # changed on disk since it was checked: fetch again
        folder.mkdir(parents=True, exist_ok=True)
        part = final.with_name(final.name + ".part")
        deadline = time.monotonic() + self.max_wait
        for attempt in range(self.max_retries + 1):
            try:
                total = self._fetch_into(url, part, clean)
                break
            except _Cut as e:
                if attempt >= self.max_retries:
                    raise ProviderError(f"The download of {clean} from {self.service} broke off ({e}).",
                                        "run the same command again: the download resumes where it stopped.") from None
                self._sleep(self._backoff(attempt), deadline, f"download cut ({e})")
        size = part.stat().st_size
        if total is not None and size != total:
            part.unlink(missing_ok=True)
            raise ProviderError(f"The download of {clean} has {size} bytes, not the {total} announced.",
                                "run the same command again.")
        try:
            check(part)
        except Exception:
            part.unlink(missing_ok=True)  # never keep or reuse a file that failed its check
            raise
        write_json(meta, {"url": clean, "bytes": size, "sha256": _sha256(part)})
        os.replace(part, final)
        return final

    def _fetch_into(self, url: str, part: Path, shown: str) -> int | None:
        """Append the rest of ``url`` to ``part`` (resuming with Range). Returns the full size, when known."""
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else None
        r = self._send("GET", url, headers=headers, stream=True, what="a media download")
        try:
            total: int | None = None
            if r.status_code == 206:
                m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", r.headers.get("content-range", ""))
                if not m or int(m.group(1)) != have:
                    have = 0  # the server resumed somewhere else: start over
                    r.close()
                    part.unlink(missing_ok=True)
                    return self._fetch_into(url, part, shown)
                total = int(m.group(2)) if m.group(2) != "*" else None
                mode = "ab"
            else:  # 200: the whole file (the server ignored Range, or there was nothing to resume)
                length = r.headers.get("content-length")
                total = int(length) if length and length.isdigit() else None
                mode = "wb"
            with open(part, mode) as fh:
                try:
                    fh.writelines(r.iter_bytes(1 << 16))
                except httpx.TransportError as e:
                    raise _Cut(type(e).__name__) from None
            if total is not None and part.stat().st_size < total:
                raise _Cut(f"{part.stat().st_size} of {total} bytes")
            return total
        finally:
            r.close()


class _Cut(Exception):
    """A download that stopped before its end (kept as .part, resumed with Range)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _reset_seconds(value: str | None) -> float | None:
    """``X-Ratelimit-Reset`` as seconds from now: Pexels sends a UNIX time, Pixabay seconds remaining."""
    if not value:
        return None
    try:
        v = float(value.strip())
    except ValueError:
        return None
    if v > 1e9:  # a UNIX timestamp
        return max(0.0, v - time.time())
    return max(0.0, v)


def _retry_after(r: httpx.Response) -> float | None:
    ra = r.headers.get("retry-after")
    if ra:
        try:
            return max(0.0, float(ra))
        except ValueError:
            try:
                return max(0.0, email.utils.parsedate_to_datetime(ra).timestamp() - time.time())
            except (TypeError, ValueError, OverflowError):
                pass
    return _reset_seconds(r.headers.get("x-ratelimit-reset"))
