"""The queue's database: one row per story and its events, in SQLite (standard library, WAL mode).

Every thread gets its own connection; a job is claimed by one atomic UPDATE, so several workers (or several
processes sharing a stories folder) never take the same story twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storygen.lease import HOST

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    folder TEXT NOT NULL,
    status TEXT NOT NULL,             -- queued | running | done | failed | cancelled
    title TEXT NOT NULL DEFAULT '',
    request TEXT NOT NULL,            -- JSON: what to make (idea, inputs, config, until, from)
    created REAL NOT NULL,
    queued REAL NOT NULL,             -- when it was (re)queued: the queue's order
    started REAL,
    finished REAL,
    stage TEXT,
    fraction REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    plan TEXT NOT NULL DEFAULT '[]',  -- JSON list of the stages this run makes
    error TEXT,
    fix TEXT,
    failed_stage TEXT,
    cancel INTEGER NOT NULL DEFAULT 0,
    owner_host TEXT,
    owner_pid INTEGER,
    idem_key TEXT UNIQUE,
    idem_hash TEXT,
    runs INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, queued);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created);
CREATE TABLE IF NOT EXISTS events (
    job TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (job, seq)
);
"""

ACTIVE = ("queued", "running")
TERMINAL = ("done", "failed", "cancelled")


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().executescript(SCHEMA)

    # ------------------------------------------------------------------ connections
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: writers queue up instead of failing)."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def read(self, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn().execute(sql, args).fetchall()]

    # ------------------------------------------------------------------ jobs
    def insert(self, row: dict[str, Any], active_limit: int | None = None) -> dict[str, Any] | None:
        """Add a job. Returns the existing job for a known idempotency key instead; None when the queue is full."""
        with self.tx() as db:
            if row.get("idem_key"):
                old = db.execute("SELECT * FROM jobs WHERE idem_key=?", (row["idem_key"],)).fetchone()
                if old is not None:
                    return dict(old)
            if active_limit is not None:
                n = db.execute("SELECT COUNT(*) FROM jobs WHERE status IN ('queued','running')").fetchone()[0]
                if n >= active_limit:
                    return None
            cols = ", ".join(row)
            db.execute(f"INSERT INTO jobs ({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        return row

    def get(self, job_id: str) -> dict[str, Any] | None:
        rows = self.read("SELECT * FROM jobs WHERE id=?", (job_id,))
        return rows[0] if rows else None

    def list(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        rows = self.read("SELECT * FROM jobs ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?", (limit, offset))
        total = self._conn().execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        return rows, total

    def counts(self) -> dict[str, int]:
        return {r["status"]: r["n"] for r in self.read("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")}

    def update(self, job_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k}=?" for k in values)
        with self.tx() as db:
            db.execute(f"UPDATE jobs SET {sets} WHERE id=?", (*values.values(), job_id))

    def transition(self, job_id: str, allowed: tuple[str, ...], **values: Any) -> dict[str, Any] | None:
        """Update a job only if its status is one of ``allowed`` (atomically); the row before, or None."""
        with self.tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None or row["status"] not in allowed:
                return None
            sets = ", ".join(f"{k}=?" for k in values)
            db.execute(f"UPDATE jobs SET {sets} WHERE id=?", (*values.values(), job_id))
            return dict(row)

    def claim(self) -> dict[str, Any] | None:
        """Take the oldest queued job for this process (atomically), or None."""
        with self.tx() as db:
            row = db.execute("SELECT * FROM jobs WHERE status='queued' ORDER BY queued, rowid LIMIT 1").fetchone()
            if row is None:
                return None
            now = time.time()
            db.execute("UPDATE jobs SET status='running', started=?, finished=NULL, owner_host=?, owner_pid=?, "
                       "runs=runs+1, error=NULL, fix=NULL, failed_stage=NULL WHERE id=?",
                       (now, HOST, os.getpid(), row["id"]))
            out = dict(row)
            out.update(status="running", started=now)
            return out

    def requeue_orphans(self, alive: Any) -> list[str]:
        """Jobs left 'running' by a process that is gone (killed): queued again, first in line."""
        moved = []
        with self.tx() as db:
            for row in db.execute("SELECT id, owner_host, owner_pid, queued FROM jobs WHERE status='running'").fetchall():
                if row["owner_host"] == HOST and row["owner_pid"] and alive(row["owner_pid"]) \
                        and row["owner_pid"] != os.getpid():
                    continue  # another live server on this host is making it
                db.execute("UPDATE jobs SET status='queued', owner_pid=NULL, owner_host=NULL WHERE id=?", (row["id"],))
                moved.append(row["id"])
        return moved

    def delete(self, job_id: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM events WHERE job=?", (job_id,))
            db.execute("DELETE FROM jobs WHERE id=?", (job_id,))

    # ------------------------------------------------------------------ events
    def add_event(self, job_id: str, event: dict[str, Any], **job_values: Any) -> int:
        """Append an event (and update the job's progress columns in the same transaction); its sequence number."""
        with self.tx() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE job=?", (job_id,)).fetchone()[0]
            db.execute("INSERT INTO events (job, seq, data) VALUES (?, ?, ?)", (job_id, seq, json.dumps(event)))
            if job_values:
                sets = ", ".join(f"{k}=?" for k in job_values)
                db.execute(f"UPDATE jobs SET {sets} WHERE id=?", (*job_values.values(), job_id))
        return seq

    def events(self, job_id: str, after: int = 0, limit: int = 500) -> list[tuple[int, dict[str, Any]]]:
        rows = self._conn().execute("SELECT seq, data FROM events WHERE job=? AND seq>? ORDER BY seq LIMIT ?",
                                    (job_id, after, limit)).fetchall()
        return [(r["seq"], json.loads(r["data"])) for r in rows]

    def cancel_requested(self, job_id: str) -> bool:
        row = self._conn().execute("SELECT cancel FROM jobs WHERE id=?", (job_id,)).fetchone()
        return bool(row and row["cancel"])
