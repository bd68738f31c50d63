"""A tiny Chat Completions server on 127.0.0.1 for tests: the real `openai` client talks to it over HTTP.

Replies come from a queue of steps; each step is a reply text (200), a dict with "status"/"headers"/"body"/
"delay"/"refusal"/"raw", or a callable(request_json) -> step. Every request is recorded (path, headers, JSON).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def chat_body(content: str | None, *, model: str = "gpt-4o-mini", refusal: str | None = None,
              prompt_tokens: int = 11, completion_tokens: int | None = None, finish_reason: str = "stop") -> dict:
    ct = completion_tokens if completion_tokens is not None else max(1, len((content or "").split()))
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal},
            "finish_reason": finish_reason,
        }],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": ct, "total_tokens": prompt_tokens + ct},
    }


class ChatServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.steps: deque[Any] = deque()
        self.default: Any = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "json": body, "t": time.monotonic()})
                step = server.steps.popleft() if server.steps else server.default
                if callable(step):
                    step = step(body)
                if step is None:
                    step = {"status": 500, "body": {"error": {"message": "no reply scripted"}}}
                if isinstance(step, str):
                    step = {"body": chat_body(step, model=body.get("model", "x"))}
                if "delay" in step:
                    time.sleep(step["delay"])
                status = int(step.get("status", 200))
                if "refusal" in step:
                    payload = json.dumps(chat_body(None, refusal=step["refusal"])).encode()
                elif "raw" in step:
                    payload = step["raw"].encode()
                else:
                    payload = json.dumps(step.get("body", {})).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in step.get("headers", {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and hung up
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "ChatServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def push(self, *steps: Any) -> "ChatServer":
        self.steps.extend(steps)
        return self
