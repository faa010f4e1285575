"""The bench databases: create, drop, clone from the migrated template, and remember what was seeded.

Runs before Django is set up (the orchestrator never sets it up), so it talks to PostgreSQL through psycopg
directly. What a database was seeded with is kept as its COMMENT, so `--reuse` can tell whether a database
left by an earlier run still matches.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"


def server_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER_URL)


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)


def url_for(name: str, base: str | None = None) -> str:
    """The URL of database `name` on the bench server (whatever database the base URL names is replaced)."""
    parts = urlsplit(base or server_url())
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(url_for("postgres"), autocommit=True)


def exists(name: str) -> bool:
    with _admin_connection() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def fingerprint(name: str) -> str | None:
    """What the database says it was seeded with (its comment), or None when it is missing or unmarked."""
    with _admin_connection() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    return row[0] if row else None


def mark(name: str, value: str) -> None:
    with _admin_connection() as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), sql.Literal(value)))


def drop(name: str) -> None:
    with _admin_connection() as conn:
        # WITH (FORCE): a crashed earlier run may have left a connection open.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create(name: str, *, template: str | None = None) -> None:
    """A fresh database, empty or copied from `template` (a file-level copy: seconds, not a re-seed)."""
    drop(name)
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with _admin_connection() as conn:
        # A template must have no other session; one that is just closing can take a moment to go.
        for attempt in range(20):
            try:
                conn.execute(statement)
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.5)


def server_version() -> str:
    with _admin_connection() as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])
