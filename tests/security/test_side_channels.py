"""No side channel shows a case, a restricted agenda item or a restricted document to someone without access.

How: plant secrets whose every field holds a unique marker word — a case of the Sheriff's Office (agency A)
shared with nobody, reviewed at a Harbor meeting; a restricted agenda item Larry may see, with notes, an
action item and a restricted minutes summary; an announcement and a library document for the CAC (agency B)
only — then, as every cast member, request every page the URLconf offers without an object id (under the
slugs of the task forces they belong to), every page of the meeting, their calendar feed, the partials of
the views that answer htmx, and read every email the scenario sent. `leaks` scans each answer (HTML, CSV,
iCalendar, PDF text) for the markers the reader must not see. A page added later is crawled without anyone
listing it. There is no search, autocomplete or in-app notification list in the app to crawl; emails are the
notifications. PDFs are slow to render, so three readers read them (PDF_READERS).

Counts: a case nobody else may see must not move any number anyone else sees. Each reader's pages are
crawled before and after three more such cases are opened, and must come back identical. Exempt by design:
the site admin's audit log (it names "Case <number>" — the number, never the content: cases/models.py).
The task force health page and report count case reviews held (counts only, no case named: cases/health.py);
no review is held for the three extra cases, so those pages must stand still too.

Emails are rows sent later: whoever loses access before the sweep sends one gets nothing (the last test).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time, timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cases import services as cases
from cases.services import ACCESS_DECIDED
from meetings import actions
from meetings import services as meetings
from meetings.models import Minutes
from meetings.models import Tier as ItemTier
from members import comms
from members import services as member_services
from members.comms import ANNOUNCEMENT_EMAIL
from members.models import Tier
from mous.services import SIGNATURE_REQUESTED
from taskforce import agenda, notifications, permissions
from taskforce.models import Notification
from tests.cases.world import make_case
from tests.cast import Cast
from tests.mous.matrix_entries import build_world as build_mou_world
from tests.security.test_permission_matrix import PARAMETER, answers_htmx, urlconf_names

pytestmark = pytest.mark.usefixtures("plain_settings")

VIEW_TF = "taskforce.view_taskforce"
ROLES = ("admin", "coordinator", "facilitator", "liaison_a", "liaison_b", "member_b", "outsider")

# Marker words: letters and digits only, so HTML escaping, CSV quoting and PDF line breaks leave them whole.
CASE = {
    "number": "SO9Zq1",
    "label": "Zq2Wren",
    "county": "Zq3Countyx",
    "summary": "Zq4Summary",
    "service_needs": "Zq5Needs",
    "discussion": "Zq6Discussion",
    "review_needs": "Zq7Therapy",
    "follow_up": "Zq8FollowUp",
}
ITEM = {
    "title": "Zq11ItemTitle",
    "description": "Zq12ItemBody",
    "notes": "Zq13ItemNotes",
    "decisions": "Zq14ItemDecision",
    "action": "Zq15ActionTitle",
}
RESTRICTED_MINUTES = {"restricted_summary": "Zq16RestrictedSummary"}
FOR_AGENCY_B = {
    "announcement_title": "Zq21AnnTitle",
    "announcement_body": "Zq22AnnBody",
    "document_title": "Zq23DocTitle",
    "document_description": "Zq24DocDescription",
    "file_name": "Zq25filename",
}

# Who must not see each group: the case is the Sheriff's Office's alone (Larry); the restricted item is for
# the facilitators, coordinators, the admin and Larry, named on it; the restricted minutes summary is for
# those who facilitate; the announcement and the document are for the CAC's people (and the coordinators).
NOT_FOR: dict[str, set[str]] = {
    **dict.fromkeys(CASE.values(), set(ROLES) - {"liaison_a"}),
    **dict.fromkeys(ITEM.values(), {"liaison_b", "member_b", "outsider"}),
    **dict.fromkeys(RESTRICTED_MINUTES.values(), {"liaison_a", "liaison_b", "member_b", "outsider"}),
    **dict.fromkeys(FOR_AGENCY_B.values(), {"liaison_a", "outsider"}),
}


def forbidden_for(role: str) -> set[str]:
    return {marker for marker, roles in NOT_FOR.items() if role in roles}


@dataclass
class Secrets:
    meeting: object
    case: object
    case_item: object
    item: object
    action: object


def plant(cast: Cast) -> Secrets:
    """The secrets, through the real services, as the people who would create them."""
    meeting = meetings.meeting_create(
        taskforce=cast.taskforce,
        actor=cast.facilitator,
        title="Harbor case review meeting",
        day=timezone.localdate() + timedelta(days=7),
        start_time=time(10),
        end_time=time(12),
        time_zone="America/New_York",
        facilitator=cast.facilitator,
    )
    case = cases.case_create(
        taskforce=cast.taskforce,
        lead=cast.agency_a,
        actor=cast.liaison_a,
        involved=[],
        number=CASE["number"],
        label=CASE["label"],
        age_band="15_17",
        county=CASE["county"],
        referral_source="hotline",
        trafficking_type="sex",
        confidentiality="restricted",
        summary=CASE["summary"],
        service_needs=CASE["service_needs"],
        risk_flags=["runaway"],
    )
    case_item = agenda.propose(
        agenda.Proposal(
            taskforce=cast.taskforce,
            title="Case review",
            description="",
            item_type="case_review",
            actor=cast.liaison_a,
            source=case,
            restricted=True,
        )
    )
    item = meetings.item_add(
        meeting=meeting,
        actor=cast.facilitator,
        restricted_viewers=[cast.liaison_a],
        title=ITEM["title"],
        description=ITEM["description"],
        item_type="information_sharing",
        tier=ItemTier.RESTRICTED,
    )
    meetings.agenda_circulate(meeting=meeting, actor=cast.facilitator)
    meetings.meeting_start(meeting=meeting, actor=cast.facilitator)
    meetings.meeting_goto(meeting=meeting, actor=cast.facilitator, item=item)
    meetings.item_record(item=item, actor=cast.facilitator, notes=ITEM["notes"], decisions=ITEM["decisions"])
    action = meetings.action_item_create(
        meeting=meeting,
        actor=cast.facilitator,
        title=ITEM["action"],
        owner_person=cast.liaison_a,
        due_on=timezone.localdate() + timedelta(days=2),
        agenda_item=item,
    )
    review = cases.review_save(
        case=case,
        actor=cast.liaison_a,
        held_on=timezone.localdate(),
        participants=[cast.liaison_a],
        discussion=CASE["discussion"],
        service_needs=CASE["review_needs"],
        recommendations=[],
        agenda_item=case_item,
    )
    cases.follow_up_add(
        review=review,
        actor=cast.liaison_a,
        task=CASE["follow_up"],
        owner=cast.liaison_a,
        due_on=timezone.localdate() + timedelta(days=1),
    )
    meetings.meeting_end(meeting=meeting, actor=cast.facilitator)
    minutes = Minutes.objects.get(meeting=meeting)
    meetings.minutes_update(
        minutes=minutes,
        actor=cast.facilitator,
        expected_version=minutes.version,
        summary="The meeting went well.",
        restricted_summary=RESTRICTED_MINUTES["restricted_summary"],
        items={},
    )
    meetings.minutes_circulate(minutes=Minutes.objects.get(meeting=meeting), actor=cast.facilitator)
    comms.announcement_publish(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title=FOR_AGENCY_B["announcement_title"],
        body=FOR_AGENCY_B["announcement_body"],
        tier=Tier.NAMED_AGENCIES,
        agencies=[cast.agency_b],
        send_email=True,
    )
    comms.document_create(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title=FOR_AGENCY_B["document_title"],
        description=FOR_AGENCY_B["document_description"],
        kind="protocol",
        tier=Tier.NAMED_AGENCIES,
        agencies=[cast.agency_b],
        upload=SimpleUploadedFile(FOR_AGENCY_B["file_name"] + ".pdf", b"%PDF-1.4\n%%EOF\n"),
    )
    return Secrets(meeting=meeting, case=case, case_item=case_item, item=item, action=action)


# --- reading answers ------------------------------------------------------------------------------------


def text_of(content_type: str, body: bytes) -> str:
    """What a reader gets out of an answer, whatever its format; PDFs through their extracted text."""
    if content_type.startswith("application/pdf"):
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    return body.decode("utf-8", errors="replace")


def leaks(text: str, markers: set[str]) -> set[str]:
    squeezed = re.sub(r"\s+", "", text)  # PDF text may break a word across lines
    return {marker for marker in markers if marker in text or marker in squeezed}


# --- the crawl ------------------------------------------------------------------------------------------

# Routes answered by allauth (sign-in, password, second factor): they show the account, not task force data.
ACCOUNT_PREFIX = "/accounts/"


@functools.cache
def routes() -> dict[str, tuple[str, ...]]:
    """Every named route of ours -> the names of its path parameters."""
    return {
        name: tuple(PARAMETER.findall(route))
        for name, route in urlconf_names().items()
        if not name.startswith("<unnamed") and not route.startswith(ACCOUNT_PREFIX)
    }


def slugs_of(cast: Cast, reader) -> list[str]:
    """The task forces the reader belongs to (another's pages are a 404, which the matrix checks)."""
    return [tf.slug for tf in (cast.taskforce, cast.other_taskforce) if permissions.has_perm(reader, VIEW_TF, tf)]


def urls_for(cast: Cast, secrets: Secrets, reader) -> Iterator[str]:
    """Every page reachable without guessing an id, plus every page of the secrets' meeting."""
    slugs = slugs_of(cast, reader)
    meeting_kwargs = {"slug": cast.taskforce.slug, "pk": secrets.meeting.pk}
    for name, params in sorted(routes().items()):
        if set(params) <= {"slug"}:
            for slug in slugs if params else [None]:
                yield reverse(name, kwargs={"slug": slug} if slug else None)
        elif name.startswith("meetings:") and set(params) == {"slug", "pk"}:
            yield reverse(name, kwargs=meeting_kwargs)
    for edition in (meetings.GENERAL, meetings.RESTRICTED):
        yield reverse("meetings:minutes_pdf", kwargs={**meeting_kwargs, "edition": edition})
    yield reverse("meetings:feed", kwargs={"token": meetings.calendar_token_issue(user=reader)})
    # The secrets' own pages and their neighbours, which a reader without access must get nothing from.
    yield reverse("meetings:action_detail", kwargs={"slug": cast.taskforce.slug, "action_pk": secrets.action.pk})
    yield reverse("cases:detail", kwargs={"slug": cast.taskforce.slug, "pk": secrets.case.pk})
    for membership in (cast.agency_a, cast.agency_b, cast.agency_c):
        yield reverse("members:membership_detail", kwargs={"slug": cast.taskforce.slug, "pk": membership.pk})
    for person in (cast.liaison_a, cast.liaison_b, cast.member_b):
        yield reverse("members:person_detail", kwargs={"slug": cast.taskforce.slug, "pk": person.pk})


# Rendering a PDF is slow, so PDFs are read by three readers who between them are denied every marker with
# the most access otherwise: the site admin (every record but cases), Larry (a restricted item's named
# viewer, outside the CAC) and Bea (a liaison outside the restricted item). The others read every other page.
PDF_READERS = ("admin", "liaison_a", "liaison_b")


def crawl(client: Client, urls: list[str], *, pdfs: bool) -> Iterator[tuple[str, str, int, str]]:
    """(url, how it was asked, status, text) for each GET, and again as htmx asks for its partial."""
    for url in urls:
        if url.endswith(".pdf") and not pdfs:
            continue
        response = client.get(url)
        content_type = response.get("Content-Type", "")
        yield url, "GET", response.status_code, text_of(content_type, response.content)
        if answers_htmx(url):
            partial = client.get(url, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver" + url})
            yield url, "htmx", partial.status_code, text_of(partial.get("Content-Type", ""), partial.content)


# --- counts -----------------------------------------------------------------------------------------------

PER_REQUEST = re.compile(r'(nonce="|"X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]*')
# Without access to agency A's cases: the site admin and a coordinator (who see every count there is) and a
# member of another agency (whose own pages count what is hers).
COUNT_READERS = ("admin", "coordinator", "member_b")


def normalise(text: str) -> str:
    return PER_REQUEST.sub(r"\1-", text)


def counted_pages(cast: Cast, reader) -> list[str]:
    """The pages compared before and after: every HTML or CSV page without an object id (the admin's audit
    log aside: it records the new cases, by number, by design)."""
    urls = []
    for name, params in sorted(routes().items()):
        if not set(params) <= {"slug"} or name == "taskforce:audit_log":
            continue
        for slug in slugs_of(cast, reader) if params else [None]:
            url = reverse(name, kwargs={"slug": slug} if slug else None)
            if not url.endswith(".pdf"):
                urls.append(url)
    return urls


@pytest.fixture
def cast(shared_cast):
    return shared_cast


@pytest.fixture
def scenario(cast, settings, django_capture_on_commit_callbacks):
    """The secrets planted, every notification due in the next month sent to the locmem outbox."""
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        secrets = plant(cast)
    later = timezone.now() + timedelta(days=30)
    notifications.run_schedulers(later)
    while notifications.sweep(now=later):
        pass
    return secrets


def test_no_page_feed_or_partial_shows_a_reader_what_they_may_not_see(cast, scenario, client_for, time_machine):
    """The markers, in every answer; then the counts: three more hidden cases change no page (see above)."""
    time_machine.move_to(timezone.now(), tick=False)  # "3 minutes ago" must read the same in both crawls
    found: list[str] = []
    before: dict[tuple[str, str], str] = {}
    for role in ROLES:
        reader = getattr(cast, role)
        client = client_for(reader)
        counted = set(counted_pages(cast, reader)) if role in COUNT_READERS else set()
        for url, how, status, text in crawl(client, list(urls_for(cast, scenario, reader)), pdfs=role in PDF_READERS):
            assert status < 500, f"{how} {url} as {role}: {status}"
            markers = forbidden_for(role)
            if role == "admin" and url == reverse("taskforce:audit_log"):
                markers -= {CASE["number"]}  # the audit trail names "Case <number>" to the site admin, by design
            found += [f"{role} sees {marker} at {how} {url} ({status})" for marker in sorted(leaks(text, markers))]
            if how == "GET" and url in counted:
                before[role, url] = normalise(text)
    assert not found, "\n".join(found)
    assert len(before) > 80  # the crawl really walked the site

    for number in ("SO9Zq31", "SO9Zq32", "SO9Zq33"):
        cases.case_create(
            taskforce=cast.taskforce,
            lead=cast.agency_a,
            actor=cast.liaison_a,
            involved=[],
            number=number,
            label="Zq34",
            age_band="15_17",
            referral_source="hotline",
            trafficking_type="labor",
            summary="Zq35",
        )
    changed = []
    for role in COUNT_READERS:
        client = client_for(getattr(cast, role))
        for url in counted_pages(cast, getattr(cast, role)):
            if before.get((role, url)) != normalise(client.get(url).content.decode()):
                changed.append(f"{role} {url}")
    assert not changed, "pages that changed when cases their reader cannot see were opened: " + ", ".join(changed)


def test_the_crawl_sees_the_secrets_where_they_belong(cast, scenario, client_for):
    """The markers are findable: the readers who may see them do, in pages, partials, PDFs and feeds."""
    larry, fred, bea = client_for(cast.liaison_a), client_for(cast.facilitator), client_for(cast.liaison_b)
    slug, meeting = cast.taskforce.slug, scenario.meeting.pk

    def seen(client: Client, url: str) -> set[str]:
        response = client.get(url)
        assert response.status_code == 200, url
        return leaks(text_of(response["Content-Type"], response.content), set(NOT_FOR))

    assert {CASE["label"], CASE["summary"]} <= seen(larry, reverse("cases:detail", args=[slug, scenario.case.pk]))
    assert CASE["discussion"] in seen(larry, reverse("meetings:detail", args=[slug, meeting]))
    assert ITEM["title"] in seen(fred, reverse("meetings:detail", args=[slug, meeting]))
    restricted_pdf = reverse("meetings:minutes_pdf", args=[slug, meeting, meetings.RESTRICTED])
    assert RESTRICTED_MINUTES["restricted_summary"] in seen(fred, restricted_pdf)
    assert ITEM["action"] in seen(fred, reverse("meetings:actions", args=[slug]))
    assert FOR_AGENCY_B["announcement_title"] in seen(bea, reverse("members:announcements", args=[slug]))
    assert FOR_AGENCY_B["document_title"] in seen(bea, reverse("members:library", args=[slug]))
    token = meetings.calendar_token_issue(user=cast.facilitator)
    assert ITEM["title"] not in seen(fred, reverse("meetings:feed", args=[token]))  # feeds carry no agenda


def test_no_email_tells_its_recipient_what_they_may_not_see(cast, scenario):
    by_address = {getattr(cast, role).email: role for role in ROLES}
    assert len(mail.outbox) >= 10, [m.subject for m in mail.outbox]  # agenda, minutes, announcement, reminders
    found = []
    for message in mail.outbox:
        bodies = [message.subject, message.body] + [content for content, _type in getattr(message, "alternatives", [])]
        for address in message.to + message.cc + message.bcc:
            role = by_address.get(address)
            if role is None:
                continue
            for marker in sorted(leaks("\n".join(bodies), forbidden_for(role))):
                found.append(f"{role} was emailed {marker} in {message.subject!r}")
    assert not found, "\n".join(found)
    # The announcement went to its audience, so the check above had something to look at.
    announced = [m for m in mail.outbox if FOR_AGENCY_B["announcement_title"] in m.subject + m.body]
    assert {address for m in announced for address in m.to} >= {cast.liaison_b.email, cast.member_b.email}


def test_who_loses_access_before_a_queued_email_goes_out_gets_nothing(
    cast, settings, django_capture_on_commit_callbacks
):
    """Emails are rows sent later (taskforce/notifications.py): the sweep must ask again who may read them.

    The agenda goes out to everyone invited, an announcement for all members is published, Larry owns an
    action item with a report-back due, is asked to sign the MOU and is told why his request for a case was
    declined, and co-coordinates with a goal due for review; then the Sheriff's Office withdraws from Harbor
    before the sweep runs. Larry must get nothing of Harbor: no agenda, announcement, reminder, signature
    request, case decision or goal review.
    """
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        meeting = meetings.meeting_create(
            taskforce=cast.taskforce,
            actor=cast.facilitator,
            title="Zq41MeetingTitle",
            day=timezone.localdate() + timedelta(days=2),
            start_time=time(10),
            end_time=time(11),
            time_zone="America/New_York",
        )
        meetings.item_add(meeting=meeting, actor=cast.facilitator, title="Zq42ItemTitle", item_type="other")
        meetings.agenda_circulate(meeting=meeting, actor=cast.facilitator)
        comms.announcement_publish(
            taskforce=cast.taskforce,
            actor=cast.coordinator,
            title="Zq43Announcement",
            body="For everyone in Harbor.",
            tier=Tier.ALL_MEMBERS,
            send_email=True,
        )
        action = actions.action_item_save(
            taskforce=cast.taskforce,
            actor=cast.coordinator,
            title="Zq44ActionTitle",
            owner_person=cast.liaison_a,
            report_back_on=timezone.localdate() + timedelta(days=1),
        )
        # The reminder row as the hourly scheduler makes it the day before (its window depends on the hour).
        notifications.schedule(
            kind=actions.DUE_IN_1,
            subject=action,
            recipient=cast.liaison_a,
            due_at=timezone.now(),
            context={"due": action.report_back_due.isoformat()},
        )
        build_mou_world(cast)  # Larry signs the Harbor MOU for the Sheriff's Office: his request is queued
        # Larry, involved in the CAC's case at summary level, asks for more; the CAC declines, with its reason.
        involved = make_case(cast, number="2026-045")
        asked = cases.access_request_create(
            case=involved, actor=cast.liaison_a, level="full", justification="Our investigation"
        )
        cases.access_request_decide(access_request=asked, actor=cast.liaison_b, approve=False, reason="Zq45Reason")
        # Larry co-coordinates too, and a goal of the action plan is due for its yearly review.
        member_services.role_grant(taskforce=cast.taskforce, user=cast.liaison_a, role="coordinator", actor=cast.admin)
        goal = member_services.goal_save(
            taskforce=cast.taskforce,
            actor=cast.coordinator,
            title="Zq46Goal",
            objective="Write the protocol",
            target_on=timezone.localdate() + timedelta(days=200),
            status="on_track",
            progress=0,
        )
        notifications.schedule(
            kind=member_services.GOAL_REVIEW_DUE, subject=goal, recipient=cast.liaison_a, due_at=timezone.now()
        )
        queued = Notification.objects.filter(recipient=cast.liaison_a, sent_at__isnull=True)
        kinds = {"meetings.agenda", ANNOUNCEMENT_EMAIL, actions.DUE_IN_1, SIGNATURE_REQUESTED, ACCESS_DECIDED}
        assert kinds | {member_services.GOAL_REVIEW_DUE} <= set(queued.values_list("kind", flat=True))
        member_services.membership_withdraw(membership=cast.agency_a, actor=cast.coordinator, reason="Leaving")
    later = timezone.now() + timedelta(days=30)
    notifications.run_schedulers(later)
    while notifications.sweep(now=later):
        pass

    to_larry = [m for m in mail.outbox if cast.liaison_a.email in m.to]
    assert [m.subject for m in to_larry] == []
    # The others still get theirs, so the sweep did run.
    assert any("Zq41MeetingTitle" in m.subject for m in mail.outbox if cast.liaison_b.email in m.to)
