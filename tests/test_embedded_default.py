"""The README's first command runs the app on SQLite with in-process tasks: its pages must work there too.

The rest of the suite runs on PostgreSQL (as deployments do), so a PostgreSQL-only construct (an ARRAY subquery,
say) would pass every other test and break `make run`. This builds the embedded default as `make run` does
(migrate, the demo seeds) and crawls what the demo people can reach.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEMO_SEEDS = ("seed_demo", "seed_meetings", "seed_cases", "seed_mous")


def test_the_demo_pages_answer_on_the_embedded_default(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PRIVATE_MEDIA_ROOT=str(tmp_path / "private"),
        DJANGO_SETTINGS_MODULE="taskforce.settings",
    )

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *argv], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600
        )

    for command in ("migrate", *DEMO_SEEDS):
        done = run("manage.py", command, "--no-input" if command == "migrate" else "-v1")
        assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    crawled = run("-m", "tests.embedded_crawl")
    assert crawled.returncode == 0, f"{crawled.stdout[-3000:]}\n{crawled.stderr[-4000:]}"
    assert crawled.stdout.count(" pages, 0 server errors") == 4, crawled.stdout
