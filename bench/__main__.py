"""`make bench`: create the bench databases, seed them, measure, print the table, write bench/results.json.

    python -m bench [--sizes S,L] [--requests 50] [--reuse] [--sections pages,pdf,jobs,throughput]

Each size gets its own database (`taskforce_bench_s`, `taskforce_bench_l`), copied from a migrated and
demo-seeded template (`taskforce_bench_base`) and then bulk-seeded. The pages are measured at every size (for
growth); the other sections (pdf, jobs, throughput) at the largest size only. Exit status 1 when any target
fails, 0 when all pass.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import db, report
from bench.seed import SEED_VERSION, SIZES

ROOT = Path(__file__).resolve().parent.parent
SIZE_ORDER = ["T", "U", "S", "L"]


def _source_fingerprint(patterns: list[str]) -> str:
    """A digest of the files a seeded database depends on."""
    digest = hashlib.sha256(SEED_VERSION.encode())
    for path in sorted(p for pattern in patterns for p in ROOT.glob(pattern)):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _step(step: str, *, database: str, workdir: Path, out: Path, extra: list[str]) -> dict:
    command = [
        sys.executable, "-m", "bench.run", step,
        "--database-url", db.url_for(database),
        "--workdir", str(workdir),
        "--out", str(out),
        *extra,
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, check=True)
    return json.loads(out.read_text())


def prepare(size: str, *, prefix: str, workdir: Path, reuse: bool) -> dict:
    """The size's database, seeded (or kept, with --reuse, when its fingerprint matches); the seed timings."""
    # The template depends on the migrations and the demo seeds; a size also on the bench seeder.
    source = _source_fingerprint(["*/migrations/*.py", "*/management/commands/seed_*.py"])
    template = f"{prefix}_base"
    name = f"{prefix}_{size.lower()}"
    wanted = f"bench {source} {_source_fingerprint(['bench/seed.py'])} size {size}"
    if reuse and db.fingerprint(name) == wanted:
        print(f"{name}: seeded database reused ({wanted})", flush=True)
        return {"reused": True}
    seeded: dict = {}
    if not (reuse and db.fingerprint(template) == f"bench {source} template"):
        print(f"{template}: migrate and load the demo (services)", flush=True)
        db.create(template)
        seeded["template"] = _step(
            "seed-template", database=template, workdir=workdir, out=workdir / "seed-template.json", extra=[]
        )
        db.mark(template, f"bench {source} template")
    print(f"{name}: copy of the template, then size {size}", flush=True)
    started = time.perf_counter()
    db.create(name, template=template)
    seeded["copy_s"] = round(time.perf_counter() - started, 1)
    seeded["volume"] = _step(
        "seed-volume", database=name, workdir=workdir, out=workdir / f"seed-{size}.json", extra=["--size", size]
    )
    db.mark(name, wanted)
    return seeded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="S,L", help="comma-separated, of T, U, S, L (default S,L)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page and user (>= 50)")
    parser.add_argument("--reuse", action="store_true", help="keep seeded databases whose fingerprint matches")
    parser.add_argument("--sections", default="pages,pdf,jobs,throughput")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--db-prefix", default=os.environ.get("BENCH_DB_PREFIX", "taskforce_bench"))
    parser.add_argument(
        "--workdir", default=os.environ.get("BENCH_WORKDIR", str(Path(tempfile.gettempdir()) / "taskforce-bench"))
    )
    args = parser.parse_args(argv)
    sizes = sorted({s.strip().upper() for s in args.sizes.split(",") if s.strip()}, key=SIZE_ORDER.index)
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s): {', '.join(unknown)}")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    largest = sizes[-1]
    runs: dict[str, dict] = {}
    for size in sizes:
        seeded = prepare(size, prefix=args.db_prefix, workdir=workdir, reuse=args.reuse)
        sections = args.sections if size == largest else "pages"
        print(f"measure size {size}: {sections}", flush=True)
        measured = _step(
            "measure",
            database=f"{args.db_prefix}_{size.lower()}",
            workdir=workdir,
            out=workdir / f"measure-{size}.json",
            extra=[
                "--size", size, "--requests", str(args.requests), "--sections", sections,
                "--redis-url", db.redis_url(),
            ],
        )  # fmt: skip
        runs[size] = {"seed": seeded, **measured}
    document = report.build(runs, sizes=sizes, requests=args.requests)
    print(report.render(document))
    Path(args.out).write_text(json.dumps(document, indent=1, default=str) + "\n")
    print(f"\nwrote {args.out}")
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
