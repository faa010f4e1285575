"""Task force health: the measures and report sections of the MOU, meetings and cases apps, each computed from
records seeded through the apps' own services, with known answers; the report reconciles with the records;
no case's number or label ever reaches the dashboard or the report.

Harbor, as the cast leaves it: three active agencies (A Sheriff's Office, Larry; B Child Advocacy Center, Bea,
Mia and Fred the facilitator; C Social Services, Alice the coordinator). The meetings tests run on a fixed
"today", 2026-11-20, with the task force established in January 2025 and meeting monthly:

    Sep 10  held    agenda 9 days ahead  started 10:02, ended 11:03 (on time)   A, B          feedback 4, 5
    Oct  8  held    agenda 2 days ahead  started 10:12 (late)                   B
    Oct 22  cancelled
    Nov  5  held    agenda 4 days ahead  ended 11:20 (over)                     B (2), C, a guest   feedback 3
    Nov 25  scheduled, not yet held
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cases import health as cases_health
from cases import services as case_services
from cases.models import CaseReview
from meetings import health as meetings_health
from meetings import services as meeting_services
from meetings.models import AgendaItem, Attendance, ItemStatus, ItemType, Meeting, Tier
from members import services as member_services
from mous import health as mous_health
from mous import services as mou_services
from mous.models import LetterOfUnderstanding, RequestStatus, SignatureRequest
from taskforce import health
from taskforce.models import Cadence, TaskForce
from tests.cases.world import SUMMARY_SECRET, make_case

NY = "America/New_York"
TODAY = date(2026, 11, 20)
Q4 = health.Period("quarter", 2026, 4)


@pytest.fixture(autouse=True)
def _plain(settings):
    settings.REQUIRE_MFA = False


def measure(taskforce, key: str, today: date | None = None) -> health.Measure:
    return {m.key: m for m in health.measures_for(taskforce, today or timezone.localdate())}[key]


def section(taskforce, key: str, period: health.Period) -> health.ReportSection:
    return {s.key: s for s in health.report_for(taskforce, period)}[key]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zoneinfo.ZoneInfo(NY))


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


# --- meetings -------------------------------------------------------------------------------------------------


def schedule(cast, day: date, *, taskforce=None, actor=None) -> Meeting:
    with time_machine.travel(at(day - timedelta(days=30), 9), tick=False):
        return meeting_services.meeting_create(
            taskforce=taskforce or cast.taskforce,
            actor=actor or cast.coordinator,
            title="Harbor monthly meeting",
            day=day,
            start_time=time(10),
            end_time=time(11),
            time_zone=NY,
        )


def hold(
    cast, day: date, *, circulated: datetime | None, started: datetime, ended: datetime, attendees=(), guest=False
):
    """A meeting run through the services: agenda circulated, started by Fred (who is checked in), people
    checking themselves in, ended."""
    meeting = schedule(cast, day)
    if circulated is not None:
        with time_machine.travel(circulated, tick=False):
            meeting_services.agenda_circulate(meeting=meeting, actor=cast.coordinator)
    with time_machine.travel(started, tick=False):
        meeting_services.meeting_start(meeting=meeting, actor=cast.facilitator)
        for person in attendees:
            meeting_services.attendance_check_in(meeting=meeting, person=person)
        if guest:
            meeting_services.attendance_add_guest(
                meeting=meeting,
                actor=cast.facilitator,
                name="Gail Guest",
                role="Nurse",
                organization="Harbor Hospital",
                acknowledged=True,
            )
    with time_machine.travel(ended, tick=False):
        meeting_services.meeting_end(meeting=meeting, actor=cast.facilitator)
    meeting.refresh_from_db()
    return meeting


@pytest.fixture
def meetings(cast):
    TaskForce.objects.filter(pk=cast.taskforce.pk).update(established_on=date(2025, 1, 1), meeting_cadence="monthly")
    cast.taskforce.refresh_from_db()
    sep = hold(
        cast,
        date(2026, 9, 10),
        circulated=at(date(2026, 9, 1), 10),
        started=at(date(2026, 9, 10), 10, 2),
        ended=at(date(2026, 9, 10), 11, 3),
        attendees=[cast.liaison_a],
    )
    oct_ = hold(
        cast,
        date(2026, 10, 8),
        circulated=at(date(2026, 10, 6), 10),
        started=at(date(2026, 10, 8), 10, 12),
        ended=at(date(2026, 10, 8), 11),
    )
    cancelled = schedule(cast, date(2026, 10, 22))
    meeting_services.meeting_cancel(meeting=cancelled, actor=cast.coordinator, reason="Holiday")
    nov = hold(
        cast,
        date(2026, 11, 5),
        circulated=at(date(2026, 11, 1), 10),
        started=at(date(2026, 11, 5), 9, 58),
        ended=at(date(2026, 11, 5), 11, 20),
        attendees=[cast.member_b, cast.coordinator],
        guest=True,
    )
    upcoming = schedule(cast, date(2026, 11, 25))
    for meeting, person, score in [(sep, cast.liaison_a, 4), (sep, cast.facilitator, 5), (nov, cast.member_b, 3)]:
        with time_machine.travel(meeting.ended_at + timedelta(hours=1), tick=False):
            meeting_services.feedback_submit(
                meeting=meeting, person=person, usefulness=score, started_on_time=True, ended_on_time=True
            )
    # Another task force's meeting, held in October, counts nowhere in Harbor.
    lake = schedule(cast, date(2026, 10, 15), taskforce=cast.other_taskforce, actor=cast.outsider)
    Meeting.objects.filter(pk=lake.pk).update(started_at=lake.starts_at, ended_at=lake.ends_at)
    return {"sep": sep, "oct": oct_, "cancelled": cancelled, "nov": nov, "upcoming": upcoming}


def test_cadence_counts_held_meetings_against_the_charter(cast, meetings):
    m = measure(cast.taskforce, "meetings.cadence", TODAY)
    # The six complete months May-October; monthly expects six, two were held (one cancelled, none before).
    assert m.value == "2 of 6 expected"
    assert m.status == health.BAD
    assert [value for _label, value in m.trend] == [0, 0, 0, 0, 1, 1]
    assert m.table.rows[-1] == [m.trend[-1][0], 1, "1", 1]  # October: held, expected, cancelled
    TaskForce.objects.filter(pk=cast.taskforce.pk).update(meeting_cadence=Cadence.QUARTERLY)
    cast.taskforce.refresh_from_db()
    m = measure(cast.taskforce, "meetings.cadence", TODAY)
    assert (m.value, m.status) == ("2 of 2 expected", health.GOOD)


def test_a_new_task_force_is_held_to_monthly_whatever_its_charter_says(cast, meetings):
    TaskForce.objects.filter(pk=cast.taskforce.pk).update(
        established_on=date(2026, 8, 15), meeting_cadence=Cadence.QUARTERLY
    )
    cast.taskforce.refresh_from_db()
    m = measure(cast.taskforce, "meetings.cadence", TODAY)
    # August (established mid-month), September, October: monthly in the first six months.
    assert m.value == "2 of 3 expected"
    assert m.summary == "meetings held in the last 3 complete months"
    assert m.status == health.WARN


def test_a_task_force_founded_this_month_has_no_cadence_to_judge_yet(cast):
    TaskForce.objects.filter(pk=cast.taskforce.pk).update(established_on=TODAY.replace(day=1))
    cast.taskforce.refresh_from_db()
    m = measure(cast.taskforce, "meetings.cadence", TODAY)
    assert (m.value, m.status) == ("No complete month yet", health.INFO)


def test_meetings_on_time_from_the_live_run(cast, meetings):
    m = measure(cast.taskforce, "meetings.on_time", TODAY)
    assert (m.value, m.status) == ("33%", health.BAD)
    assert m.summary == "1 of 3 meetings in the last six months"
    assert m.trend[-3:] == [("Sep 26", 100), ("Oct 26", 0), ("Nov 26", 0)]
    rows = {row[1]: row[2:] for row in m.table.rows}
    assert rows["2026-09-10"] == [2, 3, "Yes"]
    assert rows["2026-10-08"] == [12, 0, "No"]
    assert rows["2026-11-05"] == [-2, 20, "No"]


def test_agendas_circulated_three_days_ahead(cast, meetings):
    m = measure(cast.taskforce, "meetings.agenda_ahead", TODAY)
    assert (m.value, m.status) == ("67%", health.WARN)
    assert m.target == "the agenda out at least 3 days before the meeting"
    rows = {row[1]: row[2:] for row in m.table.rows}
    assert rows == {"2026-09-10": ["9", "Yes"], "2026-10-08": ["2", "No"], "2026-11-05": ["4", "Yes"]}
    # A later re-circulation does not make a late first one early, nor an early one late.
    with time_machine.travel(at(date(2026, 11, 4), 18), tick=False):
        meeting_services.agenda_circulate(meeting=meetings["nov"], actor=cast.coordinator)
    assert measure(cast.taskforce, "meetings.agenda_ahead", TODAY).value == "67%"


def test_attendance_rate_by_agency(cast, meetings):
    m = measure(cast.taskforce, "meetings.attendance", TODAY)
    # Nine agency invitations (three agencies, three held meetings): A came once, B three times, C once.
    assert (m.value, m.status) == ("56%", health.WARN)
    assert m.summary == "5 of 9 agency invitations to 3 meetings in the last six months"
    assert m.table.rows == [
        ["Sheriff's Office", 1, 3, "33%"],
        ["Social Services", 1, 3, "33%"],
        ["Child Advocacy Center", 3, 3, "100%"],
    ]
    assert m.trend[-3:] == [("Sep 26", 67), ("Oct 26", 33), ("Nov 26", 67)]


def test_an_agency_absent_three_meetings_in_a_row_is_dormant(cast, meetings):
    m = measure(cast.taskforce, "meetings.dormant", TODAY)
    assert (m.value, m.status) == ("0", health.GOOD)
    assert m.table.rows[0] == ["Sheriff's Office", 2, "2026-09-10"]
    hold(
        cast, date(2026, 11, 12), circulated=None, started=at(date(2026, 11, 12), 10), ended=at(date(2026, 11, 12), 11)
    )
    m = measure(cast.taskforce, "meetings.dormant", TODAY)
    assert (m.value, m.status) == ("1", health.WARN)
    assert m.summary == "Absent 3 meetings in a row or more: Sheriff's Office"
    assert m.table.rows[:2] == [["Sheriff's Office", 3, "2026-09-10"], ["Social Services", 1, "2026-11-05"]]


def test_feedback_scores_by_meeting(cast, meetings):
    m = measure(cast.taskforce, "meetings.feedback", TODAY)
    assert (m.value, m.status) == ("4.0 of 5", health.GOOD)
    assert m.trend == [("Sep 10", 4.5), ("Nov 5", 3.0)]
    assert m.summary == "3 answers over the last 2 meetings with feedback"


def test_meetings_held_and_attendance_reconcile_with_the_records(cast, meetings):
    s = section(cast.taskforce, "meetings.held", Q4)
    held = [meetings["oct"], meetings["nov"]]
    attended = Attendance.objects.filter(meeting__in=held, status__in=["present", "guest"])
    assert s.totals == {
        "meetings": 2,
        "cancelled": 1,
        "attendances": 5,
        "guests_and_others": 1,
        "agencies_attending": 2,
        "average_attendance": 2.5,
        "on_time": 0,
        "agendas_ahead": 1,
    }
    assert attended.count() == s.totals["attendances"]
    rows = {row[0]: row[1:] for row in s.table.rows}
    assert rows["Child Advocacy Center"] == [2, 2, 3]  # Fred twice, Mia once
    assert rows["Social Services"] == [1, 2, 1]
    assert rows["Sheriff's Office"] == [0, 2, 0]
    assert rows["Guests and others"][-1] == 1
    assert sum(row[-1] for row in s.table.rows[:-1]) == rows["Total"][-1] == s.totals["attendances"]
    listing = section(cast.taskforce, "meetings.list", Q4)
    assert [row[:3] for row in listing.table.rows] == [
        ["2026-10-08", "Harbor monthly meeting", 1],
        ["2026-11-05", "Harbor monthly meeting", 4],
    ]
    assert listing.totals["attendances"] == s.totals["attendances"]
    assert section(cast.taskforce, "meetings.held", health.Period("quarter", 2026, 3)).totals["meetings"] == 1


# --- MOUs -------------------------------------------------------------------------------------------------------


def name_signatory(membership, person):
    member_services.membership_update_profile(
        membership=membership,
        actor=person,
        roles_and_responsibilities="Investigates trafficking of minors.",
        response_commitments="Responds within 24 hours.",
        signatory=person,
        alternate_liaison=membership.alternate_liaison,
        acknowledge_commitment=True,
    )


@pytest.fixture
def signing(cast):
    name_signatory(cast.agency_a, cast.liaison_a)
    name_signatory(cast.agency_b, cast.liaison_b)
    cast.agency_a.refresh_from_db()
    cast.agency_b.refresh_from_db()
    mou = mou_services.mou_create(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Harbor Anti-Trafficking MOU",
        parties=[cast.agency_a, cast.agency_b],
    )
    mou_services.version_circulate(mou=mou, actor=cast.coordinator)
    mou.refresh_from_db()
    mou_services.mou_send_for_signature(mou=mou, actor=cast.coordinator)
    mou.refresh_from_db()
    return mou


def step(mou, user) -> SignatureRequest:
    return mou.signing_version.requests.get(user=user)


def test_mou_coverage_follows_signatures_declines_and_letters(cast, signing):
    m = measure(cast.taskforce, "mous.coverage")
    assert (m.value, m.status) == ("0 of 3 agencies", health.BAD)
    assert m.summary == "Harbor Anti-Trafficking MOU: 0 signed, 2 pending, 0 declined, 0 letters"
    assert m.link == reverse("mous:detail", args=[cast.taskforce.slug, signing.pk])

    mou_services.request_sign(
        req=step(signing, cast.liaison_a),
        actor=cast.liaison_a,
        typed_name="Larry Liaison",
        typed_title="Sheriff",
        attest=True,
        document_sha256=signing.signing_version.sha256,
    )
    mou_services.request_decline(req=step(signing, cast.liaison_b), actor=cast.liaison_b, reason="terms", text="")
    m = measure(cast.taskforce, "mous.coverage")
    assert m.summary == "Harbor Anti-Trafficking MOU: 1 signed, 0 pending, 1 declined, 0 letters"
    today = timezone.localdate().isoformat()
    assert m.table.rows == [
        ["Child Advocacy Center", "Declined", "—"],
        ["Social Services", "Not a party", "—"],
        ["Sheriff's Office", "Signed", today],
    ]
    assert m.trend[-1][1] == 1

    mou_services.lou_issue(party=signing.parties.get(membership=cast.agency_b), actor=cast.coordinator)
    m = measure(cast.taskforce, "mous.coverage")
    assert (m.value, m.status) == ("2 of 3 agencies", health.BAD)  # 67%: Social Services is no party
    signing.refresh_from_db()
    assert signing.status == "executed"
    assert m.summary.endswith("1 signed, 0 pending, 0 declined, 1 letters")


def test_no_agreement_yet(cast):
    m = measure(cast.taskforce, "mous.coverage")
    assert (m.value, m.status, m.summary) == ("0 of 3 agencies", health.BAD, "No agreement drafted yet")
    assert m.link == reverse("mous:list", args=[cast.taskforce.slug])
    assert measure(cast.taskforce, "mous.expiry").status == health.INFO
    s = section(cast.taskforce, "mous.status", Q4)
    assert s.totals["not_party"] == 3 and s.note == "No agreement has been drafted yet."


def _execute(cast, mou):
    mou_services.request_sign(
        req=step(mou, cast.liaison_a),
        actor=cast.liaison_a,
        typed_name="Larry Liaison",
        typed_title="Sheriff",
        attest=True,
        document_sha256=mou.signing_version.sha256,
    )
    mou_services.lou_issue(party=mou.parties.get(membership=cast.agency_b), actor=cast.coordinator)
    mou.refresh_from_db()
    return mou


def test_upcoming_expiries_at_60_and_30_days(cast, signing):
    mou = _execute(cast, signing)
    today = timezone.localdate()

    def expires(days):
        mou_services.mou_update(
            mou=mou,
            actor=cast.coordinator,
            title=mou.title,
            effective_on=mou.effective_on,
            expires_on=today + timedelta(days=days),
            reminder_delay_days=5,
        )
        return measure(cast.taskforce, "mous.expiry")

    m = expires(90)
    assert (m.value, m.status, m.table.rows) == ("0 within 60 days", health.GOOD, [])
    m = expires(45)
    assert (m.value, m.status) == ("1 within 60 days", health.WARN)
    assert m.table.rows == [[mou.title, (today + timedelta(days=45)).isoformat(), "Expires in 45 days", "No"]]
    m = expires(20)
    assert (m.status, m.summary) == (health.BAD, "1 within 30 days, 1 within 60, 0 expired")
    type(mou).objects.filter(pk=mou.pk).update(expires_on=today - timedelta(days=3))
    m = measure(cast.taskforce, "mous.expiry")
    assert (m.status, m.summary) == (health.BAD, "0 within 30 days, 0 within 60, 1 expired")


def test_a_renewal_in_review_keeps_the_agreement_in_force_counted(cast, signing):
    mou = _execute(cast, signing)
    today = timezone.localdate()
    mou_services.mou_renew(mou=mou, actor=cast.coordinator, expires_on=today + timedelta(days=40))
    mou_services.version_circulate(mou=mou, actor=cast.coordinator)
    mou.refresh_from_db()
    assert mou.status == "review"
    m = measure(cast.taskforce, "mous.coverage")
    # The executed version's signature still counts; the letter was withdrawn by the renewal (to be re-issued).
    assert m.value == "1 of 3 agencies"
    assert ["Sheriff's Office", "Signed", today.isoformat()] in m.table.rows
    m = measure(cast.taskforce, "mous.expiry")
    assert m.status == health.WARN
    assert m.table.rows[0][-1] == "Yes"  # renewal under way


def test_mou_status_section_reconciles_with_the_records(cast, signing):
    _execute(cast, signing)
    period = health.Period("quarter", timezone.localdate().year, (timezone.localdate().month - 1) // 3 + 1)
    s = section(cast.taskforce, "mous.status", period)
    signed = SignatureRequest.objects.filter(party__mou=signing, role="signer", status=RequestStatus.SIGNED).count()
    letters = LetterOfUnderstanding.objects.filter(mou=signing).exclude(status="withdrawn").count()
    assert (signed, letters) == (1, 1)
    assert s.totals == {
        "agencies": 3,
        "signed": signed,
        "pending": 0,
        "declined": 0,
        "letters": letters,
        "not_sent": 0,
        "not_party": 1,
        "signed_in_period": signed,
        "letters_in_period": letters,
    }
    assert s.title == "MOU status"
    rows = {row[0]: row[1] for row in s.table.rows}
    assert rows["Sheriff's Office"] == "Signed"
    assert rows["Child Advocacy Center"] == "Letter of understanding"
    assert rows["Total: Signed"] == 1 and rows["Total: Not a party"] == 1
    # The period before: nothing signed or issued in it.
    before = section(cast.taskforce, "mous.status", health.Period("year", period.year - 1, 1))
    assert (before.totals["signed_in_period"], before.totals["letters_in_period"]) == (0, 0)


# --- case reviews: counts only ----------------------------------------------------------------------------------

CASE_NUMBER, CASE_LABEL = "HT-7781", "Q.X.Z."


def review(cast, case, held_on: date, agenda_item=None) -> CaseReview:
    return case_services.review_save(
        case=case,
        actor=cast.liaison_b,
        held_on=held_on,
        participants=[cast.liaison_b],
        discussion="Placement discussed.",
        service_needs="Housing",
        recommendations=[],
        agenda_item=agenda_item,
    )


def review_item(cast, meeting, case) -> AgendaItem:
    return AgendaItem.objects.create(
        taskforce=cast.taskforce,
        meeting=meeting,
        status=ItemStatus.ACCEPTED,
        title="Restricted case",
        item_type=ItemType.CASE_REVIEW,
        tier=Tier.RESTRICTED,
        source_type="cases.case",
        source_id=str(case.pk),
    )


@pytest.fixture
def reviews(cast):
    one = make_case(cast, number=CASE_NUMBER, label=CASE_LABEL)
    two = make_case(cast, number="HT-7782", label="R.S.")
    meeting = schedule(cast, date(2026, 11, 5))
    review(cast, one, date(2026, 3, 1))  # before the six months and the quarter
    review(cast, one, date(2026, 10, 8))
    review(cast, one, date(2026, 11, 5), review_item(cast, meeting, one))
    review(cast, two, date(2026, 11, 5), review_item(cast, meeting, two))
    # Lakeshore's review, the same day, counts nowhere in Harbor.
    lake = case_services.case_create(
        taskforce=cast.other_taskforce,
        lead=cast.other_membership,
        actor=cast.outsider,
        number="L-1",
        label="L.L.",
        trafficking_type="labor",
    )
    case_services.review_save(
        case=lake,
        actor=cast.outsider,
        held_on=date(2026, 11, 5),
        participants=[],
        discussion="",
        service_needs="",
        recommendations=[],
    )
    return one, two


def test_case_reviews_held_measure_counts_only(cast, reviews):
    m = measure(cast.taskforce, "cases.reviews", TODAY)
    assert (m.value, m.status) == ("3", health.INFO)
    assert m.summary == "2 different cases at 1 meetings in the last six months"
    assert [value for _label, value in m.trend] == [0, 0, 0, 0, 1, 2]
    assert m.table.rows[-1] == [m.trend[-1][0], 2, 2]
    assert CASE_NUMBER not in str(m) and CASE_LABEL not in str(m)


def test_case_reviews_section_reconciles_with_the_records(cast, reviews):
    s = section(cast.taskforce, "cases.reviews", Q4)
    in_period = CaseReview.objects.filter(case__taskforce=cast.taskforce, held_on__range=(Q4.start, Q4.end))
    assert s.totals == {"reviews": in_period.count(), "cases": 2, "meetings": 1}
    assert s.totals["reviews"] == 3
    assert s.table.rows == [["October 2026", 1, 1], ["November 2026", 2, 2], ["December 2026", 0, 0], ["Total", 3, 2]]
    assert sum(row[1] for row in s.table.rows[:-1]) == s.totals["reviews"]


def test_no_case_detail_on_the_dashboard_or_in_the_report(cast, reviews, meetings):
    client = _client(cast.coordinator)
    page = client.get(reverse("taskforce:health", args=[cast.taskforce.slug])).content.decode()
    assert "Case reviews held" in page
    params = {"period": "quarter", "year": Q4.year, "n": Q4.number}
    report = client.get(reverse("taskforce:health_report_csv", args=[cast.taskforce.slug]), params).content.decode()
    rows = list(csv.reader(io.StringIO(report)))
    assert ["cases.reviews", "Case reviews held", "Total", "3", "2"] in rows
    pdf = client.get(reverse("taskforce:health_report_pdf", args=[cast.taskforce.slug]), params).content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Case reviews held: 3, of 2 different cases, at 1 meetings." in text
    assert "Meetings held: 2 (cancelled: 1); attendances: 5" in text
    for secret in (CASE_NUMBER, CASE_LABEL, "HT-7782", "R.S.", SUMMARY_SECRET, "Placement discussed"):
        assert secret not in page
        assert secret not in report
        assert secret not in text


# --- bounded queries and registration -----------------------------------------------------------------------------


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


def test_queries_do_not_grow_with_the_records(cast, meetings, reviews, signing):
    tf = cast.taskforce
    calls = [
        lambda: meetings_health.meeting_measures(tf, TODAY),
        lambda: meetings_health.meeting_report_sections(tf, Q4),
        lambda: mous_health.measures(tf, TODAY),
        lambda: mous_health.report_sections(tf, Q4),
        lambda: cases_health.measures(tf, TODAY),
        lambda: cases_health.report_sections(tf, Q4),
    ]
    before = [_queries(call) for call in calls]
    for day in (date(2026, 10, 1), date(2026, 10, 15), date(2026, 11, 10)):
        meeting = hold(cast, day, circulated=None, started=at(day, 10), ended=at(day, 11), attendees=[cast.member_b])
        review(cast, reviews[1], day, review_item(cast, meeting, reviews[1]))
    assert [_queries(call) for call in calls] == before


def test_each_app_registers_its_providers_once():
    mous_health.register_providers()
    cases_health.register_providers()
    meetings_health.register_meeting_providers()
    for provider in (mous_health.measures, cases_health.measures, meetings_health.meeting_measures):
        assert health._measure_providers.count(provider) == 1
    for provider in (
        mous_health.report_sections,
        cases_health.report_sections,
        meetings_health.meeting_report_sections,
    ):
        assert health._section_providers.count(provider) == 1
