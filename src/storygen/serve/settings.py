"""What a Studio server is started with (the `storygen serve` options)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from storygen.errors import InputError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class Settings:
    stories: Path = Path("stories")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    token: str | None = None  # STORYGEN_API_TOKEN: every API call needs `Authorization: Bearer <token>`
    allow_paths: bool = False  # config keys naming files or URLs may be set by requests
    max_active: int = 64  # queued + running stories before POST answers 429
    max_request_mb: float = 200.0
    config_file: Path | None = None  # storygen.toml with the server's defaults for every story
    engine: str = "local"  # local | ray: where the workers' stories run
    ray_address: str | None = None
    gpu_resource: str = "GPU"

    @classmethod
    def from_env(cls, **kw: object) -> Settings:
        token = os.environ.get("STORYGEN_API_TOKEN") or None
        return cls(token=token, **kw)  # type: ignore[arg-type]

    def check(self) -> None:
        """Refuse to listen beyond this machine without a token."""
        if self.host not in LOCAL_HOSTS and not self.token:
            raise InputError(f"Refusing to listen on {self.host} without an API token: anyone on the network could "
                             "make stories and read them.",
                             "set STORYGEN_API_TOKEN to a long random secret first, or keep the default --host 127.0.0.1.")
        if self.workers < 0:
            raise InputError(f"--workers {self.workers} is negative.", "use --workers 1 or more.")
