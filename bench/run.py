"""One bench step in its own process: seed the template, seed a size, or measure a size.

Django can be set up once per process, and each size has its own database, so the orchestrator
(`bench/__main__.py`) runs every step as `python -m bench.run <step> ...` and reads back a JSON file.
Settings are production-like: DEBUG off, manifest static files, the MFA gate on, Redis for the cache.
Seeding runs without Redis, so the services' background tasks run inline as in the embedded default.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import secrets
import sys
import time
import traceback
from pathlib import Path

# A fixed key for the bench databases only (they hold generated data): a re-used database must decrypt.
BENCH_FIELD_KEY = "YmVuY2gtb25seS1ub3QtYS1zZWNyZXQtMzItYnl0ZXM="
SECTIONS = ("pages", "pdf", "jobs", "throughput")


def configure(database_url: str, redis_url: str, workdir: Path) -> None:
    """Point the settings at the bench database, before django.setup(). An empty redis_url: no Redis."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "taskforce.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": BENCH_FIELD_KEY,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "REQUIRE_MFA": "1",
            "STATIC_ROOT": str(workdir / "static"),
            "PRIVATE_MEDIA_ROOT": str(workdir / "private"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            # Not WARNING: the probe of a page a person may not use (a 403 or 404) is expected, not news.
            "LOG_LEVEL": "ERROR",
        }
    )
    import django
    from django.conf import settings

    django.setup()
    settings.BENCH_FLOOR = True  # routes the floor view (taskforce/urls.py), for this process only
    if "taskforce.urls" in sys.modules:  # an app's ready() may have loaded the URLconf already
        from django.urls import clear_url_caches

        importlib.reload(sys.modules["taskforce.urls"])
        clear_url_caches()


def _collectstatic(workdir: Path) -> None:
    # The manifest storage needs collected files; they depend only on the source, so once per tree state.
    from django.core.management import call_command

    if not (workdir / "static" / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)


def _seed_template(args: argparse.Namespace) -> dict:
    from django.conf import settings

    from bench import seed

    # Nobody signs in with these passwords (pages use force_login): a cheap hasher keeps the demo seed fast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    timings = seed.seed_template()
    return {"timings": timings.steps, "total_s": timings.total}


def _seed_volume(args: argparse.Namespace) -> dict:
    from bench import seed

    timings = seed.seed_volume(args.size)
    return {"timings": timings.steps, "total_s": timings.total}


def build_context(args: argparse.Namespace) -> object:
    from django.db.models import Q

    from bench import seed
    from bench.context import BenchContext
    from cases.models import VIEW_FULL, Case
    from meetings.models import Meeting
    from members.models import User
    from mous.models import Mou
    from taskforce import permissions

    users = {
        role: User.objects.get(email=email).pk
        for role, email in (
            ("liaison", seed.LIAISON_EMAIL),
            ("coordinator", seed.COORDINATOR_EMAIL),
            ("admin", seed.ADMIN_EMAIL),
        )
    }
    measured = Case.objects.filter(taskforce__slug=seed.MEASURED_SLUG)
    objects: dict[str, int] = {}
    for role in ("liaison", "coordinator"):
        user = User.objects.get(pk=users[role])
        # The demo's own cases first (the same object at every size), one the person sees in full.
        full = permissions.visible_to(user, VIEW_FULL, measured).order_by("pk")
        case = full.filter(~Q(number__startswith="B-")).first() or full.first()
        if case is not None:
            objects[f"case_{role}"] = case.pk
    objects["case"] = objects.get("case_liaison") or measured.order_by("pk").first().pk
    objects["meeting"] = seed.measured_meeting().pk
    objects["minutes_meeting"] = (
        Meeting.objects.filter(taskforce__slug=seed.MEASURED_SLUG, minutes__isnull=False)
        .order_by("-starts_at")
        .first()
        .pk
    )
    objects["mou"] = Mou.objects.filter(taskforce__slug=seed.MEASURED_SLUG).order_by("pk").first().pk
    return BenchContext(
        size=args.size,
        database_url=args.database_url,
        redis_url=args.redis_url,
        workdir=Path(args.workdir),
        taskforce_slug=seed.MEASURED_SLUG,
        users=users,
        objects=objects,
        requests_per_page=args.requests,
    )


def _measure(args: argparse.Namespace) -> dict:
    from bench.context import Result

    _collectstatic(Path(args.workdir))
    ctx = build_context(args)
    out: dict = {"context": {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(ctx).items()}}
    out["counts"] = _counts()  # what the pages are measured against, before any section adds rows
    results = []
    sections = {}
    for name in args.sections.split(","):
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(f"  section {name}: no bench/{name}.py, skipped", flush=True)
            continue
        started = time.perf_counter()
        print(f"  section {name} ...", flush=True)
        try:
            section_results = module.measure(ctx)
        except Exception as exc:  # one broken section must not lose the others' figures: it fails instead
            traceback.print_exc()
            section_results = [
                Result(name, f"{name} section crashed: {type(exc).__name__}: {exc}"[:200], 0, "", "runs", False)
            ]
        sections[name] = round(time.perf_counter() - started, 1)
        results.extend(dataclasses.asdict(result) for result in section_results)
        # Written after every section, so the figures so far survive a later section that hangs.
        out |= {"results": results, "section_seconds": sections}
        Path(args.out).write_text(json.dumps(out, indent=1, default=str))
    out["results"] = results
    out["section_seconds"] = sections
    return out


def _counts() -> dict[str, int]:
    """Row counts of the tables the issue sizes, so the report shows what was measured against."""
    from django.db import connection

    tables = {
        "task forces": "taskforce_taskforce",
        "agencies": "members_agency",
        "people": "members_user",
        "cases": "cases_case",
        "sharing grants": "cases_casegrant",
        "case guardian rows": "cases_casegroupobjectpermission",
        "meetings": "meetings_meeting",
        "agenda items": "meetings_agendaitem",
        "MOUs": "mous_mou",
        "signature requests": "mous_signaturerequest",
        "notifications": "taskforce_notification",
    }
    counts = {}
    with connection.cursor() as cursor:
        for label, table in tables.items():
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names above)
            counts[label] = cursor.fetchone()[0]
    return counts


STEPS = {"seed-template": _seed_template, "seed-volume": _seed_volume, "measure": _measure}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--size", default="S")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    configure(args.database_url, args.redis_url if args.step == "measure" else "", workdir)
    result = STEPS[args.step](args)
    Path(args.out).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
