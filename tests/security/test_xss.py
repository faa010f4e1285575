"""XSS: every payload of the corpus in every free-text field, every page that shows them, parsed and checked.

How: the permission matrix (tests/security/test_permission_matrix.py) already knows every URL of the app, how to
build the objects behind it and who may open it. We build all of them, then overwrite every free-text
column of every row in our apps with a payload (straight in the database: forms may trim or refuse
things, but the page must be safe whatever is stored), and open every page as up to two people allowed
to see it. Each field's value starts with its own marker (`QX017`), so the test also proves the payloads
really reached the pages it checks, not just that pages without them are clean.

The pages are parsed (tests/security/payloads.py), not searched for substrings: no script that is not
our own nonce'd static file, no `on*` attribute, no javascript:/data: URL, no srcdoc, no frames or
objects, and no more hx-* attributes than the same page has with benign values. PDFs among the pages are
read back with pypdf: the payload is there as text, and no JavaScript, action, attachment or
non-http link made it in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import models
from django.test import Client
from django.urls import reverse

from taskforce import audit
from tests.cast import Cast
from tests.security.payloads import (
    BENIGN,
    XSS_PAYLOADS,
    PageScan,
    csp_problems,
    extra_htmx,
    pdf_problems,
    scan_html,
)
from tests.security.test_permission_matrix import MATRIX, _normalise

OUR_APPS = ("taskforce", "members", "mous", "meetings", "cases")
# Columns that hold machine values, not text people type: hashes, tokens, storage names, MIME types,
# codes the app parses (notification kinds, audit actions, source references), JSON kept as text, and
# the audit table (append-only; its people-derived columns are covered by `_hostile_audit_rows`).
NOT_FREE_TEXT = {
    "members.user.password",
    "members.invitation.token_hash",
    "members.libraryversion.storage_name",
    "members.libraryversion.content_type",
    "members.libraryversion.sha256",
    "meetings.calendartoken.token_hash",
    "meetings.minutes.seal_general",
    "meetings.minutes.seal_restricted",
    "meetings.agendaitem.source_type",
    "meetings.agendaitem.source_id",
    "meetings.reportback.attachment_storage",
    "meetings.reportback.attachment_type",
    "mous.mouversion.sha256",
    "mous.mouversion.executed_pdf_sha256",
    "mous.signaturerequest.document_sha256",
    "cases.casechange.action",
    "cases.casechange.values",
    "taskforce.notification.kind",
    "taskforce.notification.subject_type",
    "taskforce.notification.subject_id",
    "taskforce.healthsnapshot.key",
}
# Who opens each page, most informed first: Bea leads the case and chairs the subcommittee, Alice
# coordinates, Larry has the case under a release, Fred facilitates, Ada administers.
VIEWERS = ("liaison_b", "coordinator", "liaison_a", "facilitator", "member_b", "admin")
VIEWERS_PER_PAGE = 1
ROUNDS = 3  # the corpus is spread over this many rounds so that short columns see all of it


# Generated documents and stored uploads are not HTML pages; test_pdf_documents.py covers the PDFs.
PDF_VIEWS = {name for name in MATRIX if name.endswith("_pdf") or name in {"mous:pdf", "members:training_certificate"}}
FILE_DOWNLOADS = {"members:document_download", "members:version_download", "meetings:report_back_attachment"}


@dataclass(frozen=True)
class Column:
    model: type[models.Model]
    name: str
    max_length: int | None
    marker: str

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"


def free_text_columns() -> list[Column]:
    columns = []
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS or model._meta.label_lower == "taskforce.auditevent":
            continue
        for f in model._meta.concrete_fields:
            if not isinstance(f, (models.CharField, models.TextField)) or f.choices:
                continue
            if isinstance(f, (models.EmailField, models.URLField, models.SlugField)):
                continue  # validated formats (URL schemes are Django's URLValidator: http, https, ftp)
            label = f"{model._meta.label_lower}.{f.name}"
            if label in NOT_FREE_TEXT:
                continue
            columns.append(Column(model, f.name, f.max_length, f"QX{len(columns):03d}"))
    return columns


def chunks_for(column: Column) -> list[str]:
    """The corpus packed into values the column can hold, each starting with the column's marker."""
    if column.max_length is None:
        return ["\n\n".join(XSS_PAYLOADS)]
    room = column.max_length - len(column.marker) - PK_ROOM - 1
    packed: list[str] = []
    current = ""
    for payload in XSS_PAYLOADS:
        if len(payload) > room:
            continue
        if current and len(current) + 1 + len(payload) > room:
            packed.append(current)
            current = ""
        current = f"{current} {payload}" if current else payload
    packed.append(current)
    return packed


PK_ROOM = 8  # ".1234567" after the marker: unique constraints on text (topic names, case numbers) hold


def value(column: Column, pk: int, text: str) -> str:
    return f"{column.marker}.{pk} {text}"[: column.max_length]


def flood(columns: list[Column], value_for) -> None:
    """Write `value_for(column, pk, n)` into the n-th row of every column (row by row: some are unique)."""
    for column in columns:
        manager = column.model._default_manager
        for n, pk in enumerate(manager.order_by("pk").values_list("pk", flat=True)):
            manager.filter(pk=pk).update(**{column.name: value_for(column, pk, n)})


@dataclass
class Page:
    url: str
    role: str
    status: int
    content_type: str
    scan: PageScan | None
    body: bytes
    csp: str


def crawl(cast: Cast, targets: list[tuple[str, str]], *, htmx: bool = False) -> dict[tuple[str, str], Page]:
    """GET every target; with `htmx`, as htmx asks (HX-Request), which makes many views answer a partial."""
    headers = {"HX-Request": "true"} if htmx else {}
    clients = {role: Client(headers=headers) for role in VIEWERS}
    for role, client in clients.items():
        client.force_login(getattr(cast, role))
    pages = {}
    for url, role in targets:
        cache.clear()  # rate limits and cached fragments must not differ between rounds
        response = clients[role].get(url)
        content_type = response.get("Content-Type", "")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        scan = scan_html(body.decode()) if content_type.startswith("text/html") else None
        csp = response.get("Content-Security-Policy", "")
        pages[(url, role)] = Page(url, role, response.status_code, content_type, scan, body, csp)
    return pages


def _hostile_audit_rows(cast: Cast) -> None:
    """The audit log shows who did what to which object and from which browser: all of it can be typed."""
    payload = " ".join(XSS_PAYLOADS)[:250]
    audit.AuditEvent.objects.create(
        actor=None,
        actor_label=payload,
        action="members.agency_updated",
        taskforce=cast.taskforce,
        object_type="members.agency",
        object_id=str(cast.agency_a.pk),
        object_label=payload,
        user_agent=payload,
        detail={"name": payload, "reason": payload},
    )


def _more_records(cast: Cast) -> None:
    """Records the matrix builds no page for, so their text reaches the crawl too: a discussion under each
    MOU objection, a written update on each of agency B's action items, a comment on each set of minutes
    (circulated for it) and a library folder."""
    from meetings import actions
    from meetings import services as meetings
    from meetings.models import ActionItem, Minutes
    from members import comms
    from mous import services as mous
    from mous.models import Objection

    comms.folder_save(taskforce=cast.taskforce, actor=cast.coordinator, name="Protocols", description="Signed")
    for minutes in Minutes.objects.all():
        meetings.minutes_circulate(minutes=minutes, actor=cast.facilitator)
        meetings.minutes_comment(minutes=minutes, actor=cast.liaison_b, body="Typo in item 2")

    for objection in Objection.objects.all():
        mous.objection_comment(objection=objection, actor=cast.coordinator, body="Discussed")
    for action in ActionItem.objects.filter(owner_membership=cast.agency_b, status="open"):
        actions.report_back_submit(
            action=action, actor=cast.liaison_b, status="on_track", progress="Done half", blockers="Staffing"
        )


@pytest.fixture(autouse=True)
def _plain_settings(settings):
    # The second-factor gate has its own tests; here it would only redirect every page.
    settings.REQUIRE_MFA = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "xss"}}
    cache.clear()
    yield
    cache.clear()


def page_targets(
    cast: Cast, monkeypatch, *, pdfs: bool | None = False, only: set[str] | None = None
) -> list[tuple[str, str]]:
    """(url, role) for every HTML page of the matrix (with `pdfs`, every generated PDF; None: both; `only`
    these URL names), with the objects of every row built."""
    # The cases rows each build the same case world; once is enough (a second case number would clash).
    from tests.cases import matrix_entries, world

    built: list[world.World] = []

    def build_once(c: Cast) -> world.World:
        if not built:
            built.append(world.build_world(c))
        return built[0]

    monkeypatch.setattr(matrix_entries, "build_world", build_once)
    targets = []
    for name, row in MATRIX.items():
        kwargs = row.build(cast)  # every row's objects, shown or not here: they appear on other pages
        if row.method != "GET" or name in FILE_DOWNLOADS or (pdfs is not None and (name in PDF_VIEWS) != pdfs):
            continue  # downloads are the uploaded bytes (tests/security/test_uploads.py)
        if only is not None and name not in only:
            continue
        url = reverse(name, kwargs=kwargs)
        allowed = [role for role in VIEWERS if row.expect[role] == 200]
        targets.extend((url, role) for role in allowed[:VIEWERS_PER_PAGE])
    return targets


def test_no_payload_in_any_free_text_field_becomes_markup_on_any_page(cast, monkeypatch):
    targets = page_targets(cast, monkeypatch)
    _more_records(cast)
    _hostile_audit_rows(cast)
    columns = free_text_columns()

    flood(columns, lambda column, pk, n: value(column, pk, BENIGN))
    benign = crawl(cast, targets)
    assert not [p for p in benign.values() if p.status >= 500], "a page fails with benign text"
    # The htmx partials: only the pages that answer HX-Request with something other than the full page.
    benign_htmx = {
        key: page
        for key, page in crawl(cast, targets, htmx=True).items()
        if page.status == 200 and _normalise(page.body) != _normalise(benign[key].body) and page.scan is not None
    }
    partials = [key for key in targets if key in benign_htmx]

    problems: list[str] = []
    shown: set[str] = set()
    chunks = {column.label: chunks_for(column) for column in columns}
    for round_number in range(ROUNDS):
        # Rows of one kind take turns through the chunks, so a list page shows many of them at once.
        flood(columns, lambda c, pk, n, r=round_number: value(c, pk, chunks[c.label][(n + r) % len(chunks[c.label])]))
        crawled = [(False, crawl(cast, targets))]
        if round_number == 0:
            crawled.append((True, crawl(cast, partials, htmx=True)))
        for htmx, key, page in [(htmx, key, page) for htmx, pages in crawled for key, page in pages.items()]:
            where = f"round {round_number} {page.url} as {page.role}{' (htmx partial)' if htmx else ''}"
            compare = benign_htmx[key] if htmx else benign[key]
            if page.status >= 500 or page.status != compare.status:
                problems.append(f"{where}: status {page.status} (benign {compare.status})")
                continue
            if page.scan is not None:
                problems.extend(f"{where}: {problem}" for problem in page.scan.problems)
                problems.extend(f"{where}: CSP {problem}" for problem in csp_problems(page.csp, page.scan.nonces))
                extra = extra_htmx(page.scan, compare.scan)
                if extra:
                    problems.append(f"{where}: hx attributes not in the template: {dict(extra)}")
                text = "".join(page.scan.text)
            elif page.content_type == "application/pdf" and page.body.startswith(b"%PDF-1.7"):
                found, text = pdf_problems(page.body)
                problems.extend(f"{where}: PDF {problem}" for problem in found)
            else:
                text = page.body.decode(errors="replace")
            shown.update(column.marker for column in columns if column.marker in text)

    assert not problems, "\n".join(problems[:60])
    # The payloads really were on the pages checked: the fields people type into most all showed up.
    labels = {column.marker: column.label for column in columns}
    shown_labels = {labels[marker] for marker in shown}
    must_show = {
        "taskforce.taskforce.name",
        "taskforce.taskforce.mission_statement",
        "taskforce.taskforce.shared_values",
        "members.user.full_name",
        "members.user.title",
        "members.agency.name",
        "members.agency.address",
        "members.membership.roles_and_responsibilities",
        "members.goal.title",
        "members.subcommittee.charge",
        "members.trainingevent.title",
        "members.announcement.title",
        "members.announcement.body",
        "members.librarydocument.title",
        "members.libraryversion.file_name",
        "mous.mou.title",
        "meetings.meeting.title",
        "meetings.meeting.location",
        "meetings.agendaitem.title",
        "meetings.agendaitem.description",
        "meetings.actionitem.title",
        "meetings.minutes.summary",
        "meetings.reportback.progress",
        "meetings.reportback.blockers",
        "mous.objectioncomment.body",
        "meetings.minutescomment.body",
        "members.libraryfolder.name",
        "cases.case.summary",
        "cases.case.service_needs",
        "cases.casereview.discussion",
        "cases.followup.task",
    }
    assert must_show <= shown_labels, f"never shown: {sorted(must_show - shown_labels)}"
    assert len(partials) >= 5, "the htmx partials were not reached"
    print(f"{len(targets)} page views x {ROUNDS + 1} rounds, {len(partials)} htmx partials;", end=" ")
    print(f"{len(shown_labels)}/{len(columns)} fields seen")
    print("never shown:", sorted(set(labels.values()) - shown_labels))


def test_a_strict_csp_is_sent_on_pages_nobody_signed_in_sees_too(db, client):
    """The signed-in pages are checked in the crawl above; these are sign-in, reset, errors and the like."""
    from tests.security.test_permission_matrix import ALLAUTH_KWARGS, ALLAUTH_PUBLIC

    urls = [reverse(name, kwargs=ALLAUTH_KWARGS.get(name)) for name in sorted(ALLAUTH_PUBLIC)]
    urls += ["/no-such-page/", reverse("home")]
    html_pages = 0
    for url in urls:
        response = client.get(url, follow=True)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        html_pages += 1
        scan = scan_html(response.content.decode())
        assert scan.problems == [], url
        assert csp_problems(response.get("Content-Security-Policy", ""), scan.nonces) == [], url
    assert html_pages >= 10
