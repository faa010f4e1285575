"""PDF: a 12-page minutes document and an executed MOU with 40 parties, each timed on the app's real path
against WeasyPrint rendering the same finished HTML alone; and the peak memory of a process rendering one.

The documents are built through the app's own services in a task force of their own ("Bench PDF
documents"), so the seeded task force the pages are measured in is untouched; a later run reuses them.
The minutes go through the view (`meetings:minutes_pdf`, Django's test Client, the whole middleware
stack); the MOU through `mous.documents.executed_pdf`, which is what runs when an MOU is executed (the
download serves the stored bytes). The baseline is `weasyprint.HTML(string=..., base_url=...,
url_fetcher=<the same StaticOnlyFetcher>).write_pdf()` on the HTML the app produced on a captured run.
"""

from __future__ import annotations

import functools
import io
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time as clock
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pypdf
import weasyprint
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from bench.context import BenchContext, Result

SECTION = "pdf"
MAX_RATIO = 1.3
MAX_PEAK_MB = 300.0
BASE_DIR = Path(settings.BASE_DIR)
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOCMEM_MAIL = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@dataclass(frozen=True)
class Shape:
    parties: int  # MOU parties, each with its liaison as signatory
    items: int  # agenda items minuted, each with notes and a decision
    guests: int  # attendance beyond the parties' liaisons
    actions: int  # action items
    repeats: int  # timed renders of each kind

    @property
    def taskforce_name(self) -> str:
        # The shape is in the name, so a changed shape builds new documents instead of reusing old ones.
        return f"Bench PDF documents ({self.parties} parties, {self.items} items)"


# The documents: a 40-party executed MOU and minutes of 12 pages (the page count is reported).
FULL = Shape(parties=40, items=21, guests=12, actions=30, repeats=5)
# The smoke test's: still multi-page, built in seconds.
SHAPES = {"T": Shape(parties=4, items=4, guests=2, actions=4, repeats=1)}
ITEM_TYPES = ["information_sharing", "subcommittee_report", "training", "other"]
NOTES = (
    "The presenter summarised the month's referrals, the agencies involved and the gaps seen in after-hours "
    "response. Members asked about the hand-off between the hotline and the on-call advocate, and about "
    "interpreter availability at weekends. The group discussed whether the hospital protocol should name a "
    "single point of contact and how the change would be communicated to emergency department staff."
)
DECISION = (
    "Agreed that the protocol names one on-call contact per agency, reviewed quarterly; the victim services "
    "subcommittee drafts the revision and circulates it two weeks before the next meeting."
)


@dataclass
class Documents:
    taskforce_slug: str
    minutes_meeting_id: int
    mou_version_id: int
    viewer_id: int  # who downloads the minutes: a facilitator of the bench task force


# --- building the documents through the services ----------------------------------------------------------


def ensure_documents(shape: Shape) -> Documents:
    """The bench task force with its executed MOU and its minuted meeting, built once and then reused."""
    from meetings.models import Meeting
    from mous.models import MouStatus, MouVersion
    from taskforce.models import TaskForce

    taskforce = TaskForce.objects.filter(name=shape.taskforce_name).first()
    if taskforce is not None:
        version = MouVersion.objects.filter(mou__taskforce=taskforce, mou__status=MouStatus.EXECUTED).first()
        meeting = Meeting.objects.filter(taskforce=taskforce, minutes__isnull=False).first()
        if version is not None and meeting is not None:
            return Documents(taskforce.slug, meeting.pk, version.pk, meeting.facilitator_id)
    # Nobody signs in with these passwords (the bench uses force_login): a cheap hasher keeps the build fast.
    with override_settings(MAILERS=LOCMEM_MAIL, PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        return _build(shape)


def _build(shape: Shape) -> Documents:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from members import services as members
    from members.models import Role, User
    from taskforce.services import taskforce_create

    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    admin = User.objects.create_superuser(f"bench-pdf-admin-{stamp}@bench.invalid", None, full_name="Bench Admin")
    taskforce = taskforce_create(actor=admin, name=shape.taskforce_name, region="Bench County")
    memberships, people = [], []
    for n in range(1, shape.parties + 1):
        onboarded = members.organization_onboard(
            taskforce=taskforce,
            actor=admin,
            agency_fields={"name": f"Agency {n:02d} of Bench County", "sector": "ngo", "jurisdiction": "Bench County"},
            liaison_email=f"bench-pdf-{stamp}-{n}@bench.invalid",
            liaison_name=f"Liaison Number {n:02d}",
        )
        person = members.invitation_accept(
            token=onboarded.invitation.token,
            password=secrets.token_urlsafe(16),
            full_name=f"Liaison Number {n:02d}",
            title="Director",
        )
        membership = onboarded.membership
        members.membership_update_profile(
            membership=membership,
            actor=person,
            roles_and_responsibilities="Refers and supports survivors; shares information under the MOU.",
            response_commitments="Responds to referrals within one business day.",
            signatory=person,
            alternate_liaison=None,
            acknowledge_commitment=True,
        )
        membership.refresh_from_db()
        memberships.append(membership)
        people.append(person)
    facilitator = people[0]
    members.role_grant(taskforce=taskforce, user=facilitator, role=Role.FACILITATOR, actor=admin)
    if not Authenticator.objects.filter(user=facilitator, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(facilitator, generate_totp_secret())  # what the MFA gate checks, as for any real user
    version_id = _execute_mou(taskforce, admin, memberships)
    meeting_id = _minute_meeting(taskforce, facilitator, people, shape)
    return Documents(taskforce.slug, meeting_id, version_id, facilitator.pk)


def _execute_mou(taskforce, admin, memberships) -> int:
    from mous import services

    today = timezone.localdate()
    mou = services.mou_create(
        taskforce=taskforce,
        actor=admin,
        title="Bench County Anti-Trafficking Memorandum of Understanding",
        parties=memberships,
        effective_on=today,
        expires_on=today + timedelta(days=3 * 365),
    )
    services.version_circulate(mou=mou, actor=admin, note="For signature")
    mou.refresh_from_db()
    services.mou_send_for_signature(mou=mou, actor=admin)
    mou.refresh_from_db()
    version = mou.signing_version
    for req in version.requests.select_related("user").order_by("pk"):
        if req.role == "approver":
            services.request_approve(req=req, actor=req.user)
            continue
        services.request_sign(
            req=req,
            actor=req.user,
            typed_name=req.user.full_name,
            typed_title="Director",
            attest=True,
            document_sha256=version.sha256,
        )
    mou.refresh_from_db()
    if mou.status != "executed":
        raise RuntimeError(f"the bench MOU did not execute (status {mou.status})")
    return version.pk


def _minute_meeting(taskforce, facilitator, people, shape: Shape) -> int:
    from meetings import services
    from meetings.models import Attendance, Minutes

    day = timezone.localdate() - timedelta(days=2)
    meeting = services.meeting_create(
        taskforce=taskforce,
        actor=facilitator,
        title="Quarterly task force meeting",
        day=day,
        start_time=clock(9, 30),
        end_time=clock(12, 0),
        time_zone=taskforce.time_zone,
        location="Bench County Building, Room 204",
        facilitator=facilitator,
        note_taker=people[1],
    )
    items = []
    for n in range(shape.items):
        items.append(
            services.item_add(
                meeting=meeting,
                actor=facilitator,
                title=f"Item {n + 1}: referral pathway and protocol review, part {n + 1}",
                item_type=ITEM_TYPES[n % len(ITEM_TYPES)],
                planned_minutes=5 + n % 4 * 5,
                presenter=people[n % len(people)],
            )
        )
    services.meeting_start(meeting=meeting, actor=facilitator)
    for attendance in Attendance.objects.filter(meeting=meeting, person__isnull=False).order_by("pk"):
        services.attendance_mark(attendance=attendance, actor=facilitator, status="present", acknowledged=True)
    for n in range(shape.guests):
        services.attendance_add_guest(
            meeting=meeting,
            actor=facilitator,
            name=f"Guest Observer {n + 1}",
            role="Observer",
            organization=f"Partner Organization {n + 1}",
            acknowledged=True,
        )
    for n in range(shape.actions):
        services.action_item_create(
            meeting=meeting,
            actor=facilitator,
            title=f"Circulate the revised contact list and protocol section {n + 1} to every agency",
            owner_person=people[n % len(people)],
            due_on=day + timedelta(days=14 + n),
            agenda_item=items[n % len(items)],
        )
    services.meeting_end(meeting=meeting, actor=facilitator)
    minutes = Minutes.objects.get(meeting=meeting)
    services.minutes_update(
        minutes=minutes,
        actor=facilitator,
        expected_version=minutes.version,
        summary="The task force reviewed the referral pathway item by item and agreed the revisions below.\n" + NOTES,
        restricted_summary="",
        items={item.pk: (NOTES, DECISION) for item in items},
    )
    return meeting.pk


# --- the two real paths, and the captured HTML ----------------------------------------------------------


def minutes_url(docs: Documents) -> str:
    return reverse(
        "meetings:minutes_pdf",
        kwargs={"slug": docs.taskforce_slug, "pk": docs.minutes_meeting_id, "edition": "general"},
    )


def minutes_renderer(docs: Documents) -> Callable[[], bytes]:
    from members.models import User

    # A host this process accepts: the memory probe runs without the test runner's "testserver".
    host = next((h for h in settings.ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")), "testserver")
    client = Client(SERVER_NAME=host)
    client.force_login(User.objects.get(pk=docs.viewer_id))
    url = minutes_url(docs)

    def render() -> bytes:
        response = client.get(url, secure=True)
        if response.status_code != 200 or response["Content-Type"] != "application/pdf":
            raise RuntimeError(f"{url} answered {response.status_code} {response['Content-Type']}")
        return response.content

    return render


def mou_renderer(docs: Documents) -> Callable[[], bytes]:
    from mous import documents
    from mous.models import MouVersion

    def render() -> bytes:
        version = MouVersion.objects.select_related("mou__taskforce").get(pk=docs.mou_version_id)
        return documents.executed_pdf(version)

    return render


RENDERERS: dict[str, Callable[[Documents], Callable[[], bytes]]] = {
    "minutes": minutes_renderer,
    "executed MOU": mou_renderer,
}


@dataclass
class Captured:
    html: str
    base_url: str
    static_prefixes: list[str]


def capture(render: Callable[[], bytes]) -> tuple[bytes, Captured]:
    """Run the real path once, keeping the HTML, base URL and static prefixes it handed to the layout.

    taskforce.pdf lays the document out in a forked child (`_render_in_child`); the spy sits in front of it,
    in this process, so it sees exactly what the child is given.
    """
    from taskforce import pdf as app_pdf

    seen: list[Captured] = []
    real = app_pdf._render_in_child

    def spy(html: str, base_url: str, prefixes: list[str]):
        seen.append(Captured(html, base_url, list(prefixes)))
        return real(html, base_url, prefixes)

    with mock.patch.object(app_pdf, "_render_in_child", spy):
        pdf = render()
    if len(seen) != 1:
        raise RuntimeError(f"expected one PDF layout, saw {len(seen)}")
    return pdf, seen[0]


def weasyprint_alone(captured: Captured) -> bytes:
    from taskforce.pdf import StaticOnlyFetcher

    fetcher = StaticOnlyFetcher(static_prefixes=captured.static_prefixes)
    return weasyprint.HTML(string=captured.html, base_url=captured.base_url, url_fetcher=fetcher).write_pdf()


def pdf_facts(pdf: bytes) -> dict:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return {"pages": len(reader.pages), "bytes": len(pdf), "text": [page.extract_text() for page in reader.pages]}


def timed(func: Callable[[], bytes]) -> tuple[float, bytes]:
    started = time.perf_counter()
    result = func()
    return (time.perf_counter() - started) * 1000, result


# --- peak memory, in a process of its own ---------------------------------------------------------------


def peak_memory_mb(document: str, docs: Documents, database_url: str) -> dict:
    """Render once in a fresh child process; its peak RSS (ru_maxrss) before and after rendering."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.pdf", document, json.dumps(docs.__dict__)],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(BASE_DIR)},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"the memory probe failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _probe(document: str, docs_json: str) -> None:
    import django

    django.setup()
    docs = Documents(**json.loads(docs_json))
    render = RENDERERS[document](docs)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pdf = render()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The layout runs in a child forked by taskforce.pdf: its peak is that of RUSAGE_CHILDREN.
    layout = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak = max(own, layout)
    print(
        json.dumps(
            {
                "peak_mb": round(peak, 1),
                "before_render_mb": round(before, 1),
                "process_mb": round(own, 1),
                "layout_child_mb": round(layout, 1),
                "pdf_bytes": len(pdf),
            }
        )
    )


# --- the section ------------------------------------------------------------------------------------------


def measure(ctx: BenchContext) -> list[Result]:
    shape = SHAPES.get(ctx.size, FULL)
    started = time.perf_counter()
    docs = ensure_documents(shape)
    build_seconds = time.perf_counter() - started
    results = []
    for document, make in RENDERERS.items():
        render = make(docs)
        pdf, captured = capture(render)  # also the warm-up: templates and fonts loaded once
        facts = pdf_facts(pdf)
        app_ms, alone_ms = [], []
        alone_pdf = b""
        for _ in range(shape.repeats):  # interleaved, so a busy moment on the machine hits both alike
            app_ms.append(timed(render)[0])
            ms, alone_pdf = timed(functools.partial(weasyprint_alone, captured))
            alone_ms.append(ms)
        alone_facts = pdf_facts(alone_pdf)
        ratio = statistics.median(app_ms) / statistics.median(alone_ms)
        probe_started = time.perf_counter()
        memory = peak_memory_mb(document, docs, ctx.database_url)
        memory["probe_s"] = round(time.perf_counter() - probe_started, 1)
        path = ctx.workdir / f"bench-{document.replace(' ', '-')}.pdf"
        path.write_bytes(pdf)
        detail = {
            "pdf_path": str(path),
            "parties": shape.parties,
            "agenda_items": shape.items,
            "pages": facts["pages"],
            "pages_weasyprint_alone": alone_facts["pages"],
            "pdf_bytes": facts["bytes"],
            "html_chars": len(captured.html),
            "app_ms": [round(v, 1) for v in app_ms],
            "weasyprint_alone_ms": [round(v, 1) for v in alone_ms],
            "app_median_ms": round(statistics.median(app_ms), 1),
            "weasyprint_alone_median_ms": round(statistics.median(alone_ms), 1),
            "build_documents_s": round(build_seconds, 1),
            "memory": memory,
        }
        results.append(
            Result(
                SECTION,
                f"{document} ({facts['pages']} pages) vs WeasyPrint alone",
                round(ratio, 2),
                "x",
                target=f"<= {MAX_RATIO}x",
                passed=ratio <= MAX_RATIO,
                detail=detail,
            )
        )
        results.append(
            Result(
                SECTION,
                f"{document} peak memory (one render in a fresh process)",
                memory["peak_mb"],
                "MB",
                target=f"< {MAX_PEAK_MB:.0f} MB",
                passed=memory["peak_mb"] < MAX_PEAK_MB,
                detail=detail,
            )
        )
    return results


if __name__ == "__main__":
    _probe(sys.argv[1], sys.argv[2])
