"""The bench sections pdf, jobs and throughput, run at a tiny scale against the pytest-managed PostgreSQL.

Each runs its real machinery: two Celery workers on Redis, WeasyPrint (PDFs read back with pypdf), gunicorn
under wrk. Nothing here asserts a timing; each test checks that the section measured what it claims to.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import os
import sys

import pypdf
import pytest
from django.urls import clear_url_caches

from bench import jobs, pdf, throughput
from bench.context import BenchContext
from tests.reliability.conftest import test_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ctx(tmp_path) -> BenchContext:
    return BenchContext(
        size="T",
        database_url=test_database_url(),
        redis_url=os.environ.get("REDIS_URL", ""),
        workdir=tmp_path,
        taskforce_slug="",
        users={},
    )


def pdf_pages(path: str) -> list[str]:
    with open(path, "rb") as f:
        return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(f.read())).pages]


# --- jobs ---------------------------------------------------------------------------------------------------


@pytest.mark.celery_worker
def test_jobs_two_workers_send_every_notification_exactly_once(ctx):
    from members.models import User
    from taskforce.models import Notification

    rate, duplicates = jobs.measure(ctx)

    detail = duplicates.detail
    assert detail["notifications"] == jobs.COUNTS["T"] and detail["timed_out"] is False
    assert duplicates.value == 0 and duplicates.passed
    assert detail["delivered"] == jobs.COUNTS["T"] and detail["missing"] == 0
    assert detail["rows_not_sent_once"] == 0
    assert all(detail["per_worker"].values()), f"both workers should have swept: {detail['per_worker']}"
    assert rate.value > 0 and rate.unit == "per s"
    # The run cleaned up after itself: no bench rows or recipients left in the database.
    assert not Notification.objects.filter(subject_type__startswith="bench.").exists()
    assert not User.objects.filter(email__startswith="bench-jobs-").exists()


def test_the_delivery_log_counts_a_message_sent_twice(tmp_path):
    """Duplicates are counted from the delivery logs: a repeat must show up there, not collapse."""
    from django.core.mail import EmailMessage

    backend = jobs.DeliveryLogBackend(path=str(tmp_path / "w.deliveries"))
    message = EmailMessage(
        "Hi", "Body", "from@example.org", ["to@example.org"], headers={"X-Taskforce-Notification": "7"}
    )
    assert backend.send_messages([message]) == 1
    assert backend.send_messages([message]) == 1

    assert jobs.read_delivery_log(tmp_path / "w.deliveries") == ["7", "7"]


# --- pdf ----------------------------------------------------------------------------------------------------


def test_pdf_section_times_real_documents_and_reads_them_back(ctx):
    minutes_ratio, minutes_memory, mou_ratio, mou_memory = pdf.measure(ctx)
    shape = pdf.SHAPES["T"]

    for ratio, memory in ((minutes_ratio, minutes_memory), (mou_ratio, mou_memory)):
        detail = ratio.detail
        pages = pdf_pages(detail["pdf_path"])
        assert len(pages) == detail["pages"] >= 2
        assert f"Page 1 of {len(pages)}" in pages[0]
        # The baseline laid out the very same HTML: the same document, page for page.
        assert detail["pages_weasyprint_alone"] == detail["pages"]
        assert ratio.value > 0 and ratio.unit == "x"
        assert len(detail["app_ms"]) == len(detail["weasyprint_alone_ms"]) == shape.repeats
        # The probe measured a real layout in a fresh process (taskforce.pdf's forked child).
        assert memory.unit == "MB" and memory.value >= detail["memory"]["layout_child_mb"] > 0

    minutes = "\n".join(pdf_pages(minutes_ratio.detail["pdf_path"]))
    assert "Quarterly task force meeting" in minutes
    assert f"Item {shape.items}: referral pathway" in minutes
    assert "Guest Observer 1" in minutes and "Decision:" in minutes
    mou = "\n".join(pdf_pages(mou_ratio.detail["pdf_path"]))
    assert "Signing certificate" in mou
    for n in range(1, shape.parties + 1):
        assert f"Agency {n:02d} of Bench County" in mou
        assert f"/s/ Liaison Number {n:02d}" in mou

    # A second run reuses the documents instead of building another task force.
    from taskforce.models import TaskForce

    pdf.ensure_documents(shape)
    assert TaskForce.objects.filter(name=shape.taskforce_name).count() == 1


# --- throughput ---------------------------------------------------------------------------------------------


@pytest.fixture
def floor_routed(settings):
    """Route the floor view, as bench.run does for the bench process (gunicorn's factory does the same)."""

    def reload() -> None:
        importlib.reload(sys.modules["taskforce.urls"])
        clear_url_caches()

    settings.BENCH_FLOOR = True
    reload()
    yield
    settings.BENCH_FLOOR = False
    reload()


@pytest.fixture
def liaison_ctx(ctx, cast, monkeypatch):
    """The cast's liaison with a TOTP authenticator, in the cast's task force; gunicorn runs the MFA gate."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(cast.liaison_a, generate_totp_secret())
    monkeypatch.setenv("REQUIRE_MFA", "1")  # gunicorn's settings read it: the session must pass the gate
    return dataclasses.replace(ctx, taskforce_slug=cast.taskforce.slug, users={"liaison": cast.liaison_a.pk})


@pytest.mark.redis
def test_throughput_section_counts_every_status(liaison_ctx, floor_routed):
    with throughput.serving(liaison_ctx) as server:
        floor, mine, ratio = throughput.measure_on(server, liaison_ctx)
        # Without the session every answer is a redirect to sign-in: wrk would call that a success.
        signed_out = throughput.wrk(
            server.port, f"/tf/{liaison_ctx.taskforce_slug}/cases/mine/", "sessionid=nobody", 1,
            throughput.status_script(liaison_ctx),
        )  # fmt: skip

    assert floor.value > 0 and mine.value > 0
    assert ratio.detail["all_200"] is True and ratio.passed is not None
    for runs in ratio.detail["runs"].values():
        assert len(runs) == throughput.ROUNDS
        for run in runs:
            assert run["statuses"] == {200: run["requests"]}
    assert ratio.value == pytest.approx(mine.value / floor.value, rel=0.02)
    assert set(signed_out.statuses) == {302}, signed_out.output
    assert not signed_out.all_ok
