"""Key pages for realistic users: median and p95 latency, the ratio to the floor, and queries per request.

In-process with Django's test Client through the whole production middleware stack (DEBUG off, sessions,
the MFA gate, CSP). Each timed page request alternates with a floor request by the same person, and the ratio
is p95 to p95 of those two series. Timed requests run without query capture; the queries are counted on
separate requests, and every counted request must agree, or the page's count is reported as unstable.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.context import BenchContext, Result
from taskforce import freshness

WARMUP = 5
COUNTED = 3
MAX_QUERIES = 12
MAX_FLOOR_RATIO = 3.0
# The once-a-minute session writes: the session clock's save, and the session list's transaction of four.
PERIODIC_WRITE_QUERIES = 6
USERS = ("liaison", "coordinator", "admin")
# The cold pass (after a write, nothing cached) takes a fifth as many requests as the timed one.
COLD_SHARE = 5


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[BenchContext, str], str]  # (context, user role) -> path
    is_list: bool = False  # a list whose length grows with the data: its queries must not


def _tf(name: str) -> Callable[[BenchContext, str], str]:
    return lambda ctx, role: reverse(name, kwargs={"slug": ctx.taskforce_slug})


def _obj(name: str, key: str) -> Callable[[BenchContext, str], str]:
    return lambda ctx, role: reverse(name, kwargs={"slug": ctx.taskforce_slug, "pk": ctx.objects[key]})


def _live(ctx: BenchContext, role: str) -> str:
    # People who run the meeting get the console; everybody else follows it.
    name = "meetings:follow" if role == "liaison" else "meetings:run"
    return reverse(name, kwargs={"slug": ctx.taskforce_slug, "pk": ctx.objects["meeting"]})


def _case(ctx: BenchContext, role: str) -> str:
    # Each person opens a case they can see; an admin is given the liaison's, which is a 404 by design.
    pk = ctx.objects.get(f"case_{role}", ctx.objects["case"])
    return reverse("cases:detail", kwargs={"slug": ctx.taskforce_slug, "pk": pk})


FLOOR = Page("floor", _tf("taskforce:bench_floor"))
PAGES: list[Page] = [
    Page("dashboard", _tf("taskforce:dashboard")),
    Page("my cases", _tf("cases:mine"), is_list=True),
    Page("case detail", _case),
    Page(
        "case list (filtered)",
        lambda ctx, role: _tf("cases:list")(ctx, role) + "?status=open&trafficking_type=sex&sort=updated",
        is_list=True,
    ),
    Page("meeting agenda", _obj("meetings:detail", "meeting")),
    Page("live meeting", _live),
    Page("minutes", _obj("meetings:minutes", "minutes_meeting")),
    Page("MOU status matrix", _obj("mous:detail", "mou")),
    Page("directory", _tf("members:directory"), is_list=True),
    Page("health dashboard", _tf("taskforce:health")),
]


def client_for(user_id: int) -> Client:
    """A signed-in session as the app would have it after sign-in with a second factor.

    force_login fires user_logged_in (the session clock starts as at a real sign-in); the MFA gate lets the
    person through because the seed gave them a real TOTP authenticator, exactly what the gate checks.
    """
    from members.models import User

    client = Client()
    client.force_login(User.objects.get(pk=user_id))
    return client


def _get(client: Client, url: str) -> int:
    return client.get(url, secure=True).status_code


def _timed(
    client: Client, url: str, requests: int, floor_url: str | None = None, *, cold: bool = False
) -> tuple[list[float], list[float]]:
    """Page samples, and (when `floor_url` is given) floor samples taken alternately with them.

    Alternating keeps the ratio honest on a machine whose load changes from one minute to the next:
    the page and its floor see the same moments. `cold`: each page request follows a write elsewhere
    (taskforce.freshness.bump, untimed), so it finds nothing cached and builds every figure.
    """
    samples: list[float] = []
    floors: list[float] = []
    for _ in range(requests):
        if floor_url is not None:
            started = time.perf_counter()
            _get(client, floor_url)
            floors.append((time.perf_counter() - started) * 1000)
        if cold:
            freshness.bump()
        started = time.perf_counter()
        status = _get(client, url)
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"{url} answered {status} during timing")
    return samples, floors


def _queries(client: Client, url: str, times: int) -> list[int]:
    """Queries per request on the cold path (after a write: nothing cached), the most a page asks."""
    counts = []
    for _ in range(times):
        freshness.bump()
        with CaptureQueriesContext(connection) as captured:
            _get(client, url)
        counts.append(len(captured.captured_queries))
    return counts


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def measure_page(client: Client, url: str, requests: int, floor_url: str | None = None) -> dict:
    for _ in range(min(WARMUP, requests)):
        _get(client, url)
    samples, floors = _timed(client, url, requests, floor_url)
    # Two counts are enough to see an unstable page in a smoke run; a real run takes three.
    counts = _queries(client, url, COUNTED if requests >= COUNTED else 2)
    alongside = (
        {"floor_p95_ms": round(p95(floors), 2), "floor_median_ms": round(statistics.median(floors), 2)}
        if floors
        else {}
    )
    if floor_url is not None:
        # Informational: the same page right after a write (the first view of it once anything changed).
        cold, cold_floors = _timed(client, url, max(COUNTED, requests // COLD_SHARE), floor_url, cold=True)
        alongside |= {
            "cold_median_ms": round(statistics.median(cold), 2),
            "cold_p95_ms": round(p95(cold), 2),
            "cold_p95_ratio": round(p95(cold) / p95(cold_floors), 2),
        }
    return {
        "url": url,
        "requests": requests,
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(p95(samples), 2),
        **alongside,
        # The fewest: the session's activity is written once a minute (taskforce.middleware), and a counted
        # request that falls on that minute carries the write; that is not the page's own cost.
        "queries": min(counts),
        "query_counts": counts,
        "queries_stable": max(counts) - min(counts) <= PERIODIC_WRITE_QUERIES,
    }


def measure(ctx: BenchContext) -> list[Result]:
    results: list[Result] = []
    for role in USERS:
        if role not in ctx.users:
            continue
        client = client_for(ctx.users[role])
        floor_url = FLOOR.url(ctx, role)
        if _get(client, floor_url) != 200:
            raise RuntimeError(f"the floor answered {_get(client, floor_url)} for {role}: is the MFA gate passed?")
        floor = measure_page(client, floor_url, ctx.requests_per_page)
        results.append(
            Result("pages", f"floor ({role})", floor["p95_ms"], "ms", detail={"page": "floor", "user": role, **floor})
        )
        for page in PAGES:
            try:
                url = page.url(ctx, role)
            except KeyError:  # e.g. no case this person can open
                results.append(_unavailable(page, role, "no object to open"))
                continue
            status = _get(client, url)
            if status != 200:
                # Admins see no case content without a grant (NO_SUPERUSER_BYPASS); liaisons no health page.
                results.append(_unavailable(page, role, f"HTTP {status}", url=url))
                continue
            figures = measure_page(client, url, ctx.requests_per_page, floor_url)
            print(
                f"    {page.name:<22} {role:<12} p95 {figures['p95_ms']:8.1f} ms  {figures['queries']:>3} queries",
                flush=True,
            )
            # Against the floor timed alternately with this page (figures["floor_p95_ms"]), not the run's first.
            ratio = figures["p95_ms"] / figures["floor_p95_ms"]
            detail = {
                "page": page.name,
                "user": role,
                "is_list": page.is_list,
                "p95_ratio": round(ratio, 2),
                "median_ratio": round(figures["median_ms"] / figures["floor_median_ms"], 2),
                **figures,
            }
            results.append(
                Result(
                    "pages",
                    f"{page.name} ({role}) p95",
                    round(ratio, 2),
                    "x floor",
                    target=f"<= {MAX_FLOOR_RATIO:g}x floor",
                    passed=ratio <= MAX_FLOOR_RATIO,
                    detail=detail,
                )
            )
            results.append(
                Result(
                    "pages",
                    f"{page.name} ({role}) queries",
                    figures["queries"],
                    "queries",
                    target=f"<= {MAX_QUERIES}",
                    passed=figures["queries"] <= MAX_QUERIES and figures["queries_stable"],
                    detail=detail,
                )
            )
    return results


def _unavailable(page: Page, role: str, why: str, url: str = "") -> Result:
    return Result(
        "pages",
        f"{page.name} ({role}) not measured",
        0,
        "",
        detail={"page": page.name, "user": role, "unavailable": why, "url": url},
    )
