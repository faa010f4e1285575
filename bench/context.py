"""What every benchmark section receives and returns.

The orchestrator (`bench/__main__.py`) creates the bench database, seeds it and builds one
`BenchContext`; each section module (`pages`, `pdf`, `jobs`, `throughput`) exposes
`measure(ctx: BenchContext) -> list[Result]`, and the report prints and saves the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BenchContext:
    size: str  # "S" or "L" (or the tiny "T" the smoke test uses)
    database_url: str  # the bench database: migrated and seeded before any section runs
    redis_url: str
    workdir: Path  # scratch space for logs, PDFs and gunicorn's files
    taskforce_slug: str  # the task force the key pages are measured in
    users: dict[str, int]  # role ("liaison", "coordinator", "admin") -> user id, each able to see the key pages
    objects: dict[str, int] = field(default_factory=dict)  # e.g. "case", "meeting", "minutes_meeting", "mou" -> id
    requests_per_page: int = 50


@dataclass
class Result:
    section: str  # "pages", "growth", "pdf", "jobs", "throughput"
    name: str  # e.g. "my cases (liaison) p95"
    value: float
    unit: str  # "x floor", "ms", "queries", "MB", "per s", "x"
    target: str = ""  # human-readable target, e.g. "<= 3x floor"; "" when informational
    passed: bool | None = None  # None when the figure has no target
    detail: dict = field(default_factory=dict)
