"""Task force health: the registry, every members measure from seeded records with known answers, and the
period report (PDF and CSV) reconciled with the records it counts.

Harbor, as the cast leaves it: three active agencies (A law enforcement, B NGO, C social services), each with
a liaison; five people with roles (Alice, Fred, Larry, Bea, Mia). The tests add what each measure reads.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from members import health as members_health
from members import services
from members.models import GoalStatus, Membership, MembershipStatus, TrainingKind
from taskforce import health
from taskforce.models import AuditEvent


@pytest.fixture(autouse=True)
def _plain(settings):
    settings.REQUIRE_MFA = False


def measure(taskforce, key: str, today: date | None = None) -> health.Measure:
    found = {m.key: m for m in health.measures_for(taskforce, today or timezone.localdate())}
    return found[key]


def section(taskforce, key: str, period: health.Period) -> health.ReportSection:
    return {s.key: s for s in health.report_for(taskforce, period)}[key]


def this_quarter() -> health.Period:
    today = timezone.localdate()
    return health.Period("quarter", today.year, (today.month - 1) // 3 + 1)


def invite_only(cast, name: str, sector: str, **fields) -> Membership:
    """An agency invited but whose liaison has not joined: present, without a liaison."""
    result = services.organization_onboard(
        taskforce=cast.taskforce,
        actor=cast.admin,
        agency_fields={"name": name, "sector": sector, "jurisdiction": "Harbor County", **fields},
        liaison_email=f"{sector}@example.org",
        liaison_name="Not Yet",
    )
    return result.membership


def training(cast, *, held_on: date, attendees, kind=TrainingKind.JOINT, topics=2, title="CSEC 101"):
    services.training_topics_ensure(taskforce=cast.taskforce)
    return services.training_event_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title=title,
        kind=kind,
        topics=list(cast.taskforce.training_topics.order_by("name")[:topics]),
        trainer="",
        held_on=held_on,
        duration_minutes=90,
        attendees=attendees,
    )


def goal(cast, title: str, *, status: str, progress: int, target_on: date):
    return services.goal_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title=title,
        objective="Measurable",
        target_on=target_on,
        status=status,
        progress=progress,
    )


# --- the registry -----------------------------------------------------------------------------------------


@pytest.fixture
def extra_provider(monkeypatch):
    """A provider registered the way another app would, removed again after the test."""
    monkeypatch.setattr(health, "_measure_providers", list(health._measure_providers))
    monkeypatch.setattr(health, "_section_providers", list(health._section_providers))

    def measures(taskforce, today):
        return [
            health.Measure(
                key="tests.meetings",
                label="Meetings held on time",
                value="4 of 5",
                status=health.WARN,
                trend=[("Q1", 2), ("Q2", 4)],
                link="/somewhere/",
                link_label="Fix the agenda",
                table=health.Table(headers=["Meeting", "On time"], rows=[["May", "No"]]),
                group="Meetings",
                order=50,
            )
        ]

    def sections(taskforce, period):
        return [
            health.ReportSection(
                key="tests.cases",
                title="Case reviews held",
                table=health.Table(headers=["Month", "Reviews"], rows=[["=HYPERLINK(1)", 3]]),
                totals={"reviews": 3},
                order=60,
            )
        ]

    health.register_measures(measures)
    health.register_report_section(sections)
    health.register_measures(measures)  # registering twice is a no-op
    return measures


def test_providers_registered_by_another_app_appear_in_order(cast, extra_provider):
    keys = [m.key for m in health.measures_for(cast.taskforce, timezone.localdate())]
    assert keys.count("tests.meetings") == 1
    assert keys.index("members.rural_tribal") < keys.index("tests.meetings") < keys.index("members.training")
    page = _client(cast.coordinator).get(reverse("taskforce:health", args=[cast.taskforce.slug]))
    assert b"Meetings held on time" in page.content
    assert b'href="/somewhere/"' in page.content
    assert b"Fix the agenda" in page.content


def test_the_csv_neutralises_formulas_from_any_provider(cast, extra_provider):
    period = this_quarter()
    response = _client(cast.coordinator).get(
        reverse("taskforce:health_report_csv", args=[cast.taskforce.slug]),
        {"period": "quarter", "year": period.year, "n": period.number},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert ["tests.cases", "Case reviews held", "'=HYPERLINK(1)", "3"] in rows


def test_periods():
    assert health.Period("quarter", 2026, 3).start == date(2026, 7, 1)
    assert health.Period("quarter", 2026, 3).end == date(2026, 9, 30)
    assert health.Period("half", 2026, 2).start == date(2026, 7, 1)
    assert health.Period("year", 2024, 1).end == date(2024, 12, 31)
    assert health.Period("quarter", 2026, 1).label == "Q1 2026"
    assert health.Period.last_complete("quarter", date(2026, 11, 28)) == health.Period("quarter", 2026, 3)
    assert health.Period.last_complete("quarter", date(2026, 2, 1)) == health.Period("quarter", 2025, 4)
    assert health.Period.last_complete("half", date(2026, 3, 1)) == health.Period("half", 2025, 2)
    assert health.Period.last_complete("year", date(2026, 3, 1)) == health.Period("year", 2025, 1)
    assert health.Period.parse("quarter", "2026", "5") is None
    assert health.Period.parse("decade", "2026", "1") is None
    assert health.Period.parse("half", "x", "1") is None
    assert health.Period.parse("half", "2026", "2") == health.Period("half", 2026, 2)


def test_months_and_quarters_back_line_up():
    months = health.months_back(date(2026, 2, 15), 3)
    assert [(first, last) for _label, first, last in months] == [
        (date(2025, 12, 1), date(2025, 12, 31)),
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
    ]
    quarters = health.quarters_back(date(2026, 2, 15), 2)
    assert [label for label, _first, _last in quarters] == ["Q4 2025", "Q1 2026"]


def test_chart_bars_are_proportional_and_labelled():
    chart = health.chart([("Jan", 0), ("Feb", 50), ("Mar", 100)], unit="%")
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0
    assert heights[2] == pytest.approx(2 * heights[1], abs=0.2)
    assert [bar.text for bar in chart.bars] == ["0%", "50%", "100%"]
    assert all(bar.y + bar.height == pytest.approx(chart.baseline, abs=0.2) for bar in chart.bars)


# --- the members measures, from seeded records --------------------------------------------------------------


def test_sector_coverage(cast):
    invite_only(cast, "Harbor General", "health_care")
    m = measure(cast.taskforce, "members.sectors")
    assert m.value == "3 of 20"
    assert m.summary == "1 present without a liaison, 16 missing"
    assert m.status == health.BAD
    assert m.trend[-1][1] == 3  # the invited hospital has not joined
    states = {row[0]: row[1] for row in m.table.rows}
    assert states["Law enforcement"] == "Covered"
    assert states["Health care providers"] == "Present, no liaison"
    assert states["Media"] == "Missing"
    assert m.link == reverse("members:sectors", args=[cast.taskforce.slug])


def test_sector_coverage_trend_follows_joining_and_withdrawal(cast):
    today = timezone.localdate()
    windows = health.months_back(today, 6)
    Membership.objects.filter(pk=cast.agency_a.pk).update(joined_on=windows[2][2])  # the last day of a month
    services.membership_withdraw(membership=cast.agency_c, actor=cast.admin)
    m = measure(cast.taskforce, "members.sectors")
    assert [label for label, _value in m.trend] == [label for label, _first, _last in windows]
    # A alone from that month on; B joined this month; C joined and withdrew today.
    assert [value for _label, value in m.trend] == [0, 0, 1, 1, 1, 2]


def test_charter_adoption(cast):
    assert measure(cast.taskforce, "members.charter").status == health.BAD
    cast.taskforce.mission_statement = "Every child safe."
    cast.taskforce.save()
    m = measure(cast.taskforce, "members.charter")
    assert (m.status, m.value) == (health.WARN, "Drafted, not adopted")
    cast.taskforce.shared_values = "Respect\nConfidentiality\n"
    cast.taskforce.charter_adopted_on = date(2026, 3, 1)
    cast.taskforce.save()
    m = measure(cast.taskforce, "members.charter")
    assert (m.status, m.value) == (health.GOOD, "Adopted")
    assert ["Shared values", "2 listed"] in m.table.rows


def test_roles_defined_per_agency(cast):
    Membership.objects.filter(pk__in=[cast.agency_a.pk, cast.agency_b.pk]).update(
        roles_and_responsibilities="Investigate"
    )
    invite_only(cast, "Harbor General", "health_care")  # invited, not active: not counted
    m = measure(cast.taskforce, "members.roles")
    assert m.value == "2 of 3 agencies"
    assert m.summary == "67% of active agencies"
    assert m.status == health.BAD
    assert m.table.rows[0][:2] == ["Social Services", "No"]  # the missing ones first
    Membership.objects.filter(pk=cast.agency_c.pk).update(roles_and_responsibilities="Shelter")
    assert measure(cast.taskforce, "members.roles").status == health.GOOD


def test_training_coverage_by_agency(cast):
    today = timezone.localdate()
    training(cast, held_on=today, attendees=[cast.member_b], topics=2)
    m = measure(cast.taskforce, "members.training")
    # Five people by four core topics; Mia is current on two.
    assert m.value == "10%"
    assert m.status == health.BAD
    rows = {row[0]: row[1:] for row in m.table.rows}
    assert rows["Child Advocacy Center"] == [3, 10, "17%"]
    assert rows["Sheriff's Office"] == [1, 4, "0%"]
    assert m.trend[-1] == (m.trend[-1][0], 1)


def test_joint_training_and_team_activities(cast):
    today = timezone.localdate()
    assert measure(cast.taskforce, "members.team").status == health.BAD
    training(cast, held_on=today - timedelta(days=30), attendees=[cast.member_b])
    m = measure(cast.taskforce, "members.team")
    assert (m.status, m.value) == (health.WARN, "1 joint · 0 team")
    training(cast, held_on=today, attendees=[], kind=TrainingKind.TEAM_ACTIVITY, topics=0, title="Picnic")
    assert measure(cast.taskforce, "members.team").status == health.GOOD


def test_rural_and_tribal_participation(cast):
    services.agency_update(agency=cast.agency_a.agency, actor=cast.admin, is_rural=True)
    training(cast, held_on=timezone.localdate(), attendees=[cast.liaison_a, cast.member_b])
    m = measure(cast.taskforce, "members.rural_tribal")
    assert (m.value, m.status) == ("1 rural · 0 tribal", health.WARN)
    assert m.table.rows == [["Sheriff's Office", "Yes", "No", 1]]
    assert [value for _label, value in m.trend] == [0, 0, 0, 0, 0, 1]
    services.agency_update(agency=cast.agency_b.agency, actor=cast.admin, is_tribal=True)
    assert measure(cast.taskforce, "members.rural_tribal").status == health.GOOD


def test_action_plan_progress(cast):
    today = timezone.localdate()
    goal(cast, "Protocol", status=GoalStatus.ON_TRACK, progress=50, target_on=today + timedelta(days=30))
    goal(cast, "Training", status=GoalStatus.AT_RISK, progress=20, target_on=today - timedelta(days=1))
    goal(cast, "Dropped", status=GoalStatus.DROPPED, progress=0, target_on=today - timedelta(days=90))
    m = measure(cast.taskforce, "members.action_plan")
    assert m.value == "35%"
    assert m.summary == "2 goals: 1 overdue, 1 at risk, 0 achieved"
    assert m.status == health.BAD


# --- the dashboard ----------------------------------------------------------------------------------------


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_shows_every_measure_with_its_table_and_link(cast):
    response = _client(cast.coordinator).get(reverse("taskforce:health", args=[cast.taskforce.slug]))
    assert response.status_code == 200
    for m in health.measures_for(cast.taskforce, timezone.localdate()):
        assert m.label.encode() in response.content
    assert b"<svg" in response.content and b"<title" in response.content  # charts, with text behind them
    assert b"The numbers behind it" in response.content
    assert b"style=" not in response.content  # strict CSP: no inline styles


def test_only_coordinators_see_health(cast):
    url = reverse("taskforce:health", args=[cast.taskforce.slug])
    assert _client(cast.coordinator).get(url).status_code == 200  # the figures are now in the cache
    for user in (cast.facilitator, cast.member_b, cast.liaison_a):
        assert _client(user).get(url).status_code == 403
    assert _client(cast.outsider).get(url).status_code == 404


def test_the_dashboard_reads_its_figures_once_an_hour(cast):
    """The figures come from the cache within the hour (a few queries, however many records), then are fresh."""
    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("taskforce:health", args=[cast.taskforce.slug])
    start = timezone.now().replace(minute=5)
    with time_machine.travel(start, tick=False):
        client = _client(cast.coordinator)
        assert b"0 present without a liaison, 17 missing" in client.get(url).content
        invite_only(cast, "Harbor General", "health_care")
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url).content
        assert b"0 present without a liaison, 17 missing" in page  # the hour's figures
        assert len(queries) <= 8  # the layout's few, no provider's
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert b"1 present without a liaison, 16 missing" in _client(cast.coordinator).get(url).content


def test_the_hourly_warm_up_computes_the_figures_before_anyone_opens_the_page(cast):
    """After the beat task, the first visit of the hour shows the warmed figures: it computed none itself."""
    import time_machine

    from taskforce import tasks

    url = reverse("taskforce:health", args=[cast.taskforce.slug])
    with time_machine.travel(timezone.now().replace(minute=0, second=1), tick=False):
        assert tasks.warm_health_dashboards() >= 2  # this task force, in each language the site speaks
        invite_only(cast, "Harbor General", "health_care")  # after the warm-up: not in this hour's figures
        page = _client(cast.coordinator).get(url).content
        assert b"0 present without a liaison, 17 missing" in page


# --- the period report ------------------------------------------------------------------------------------


def test_agencies_by_sector_reconcile_with_the_memberships(cast):
    invite_only(cast, "Harbor General", "health_care")
    services.membership_withdraw(membership=cast.agency_c, actor=cast.admin)
    period = this_quarter()
    s = section(cast.taskforce, "members.agencies", period)
    members = Membership.objects.filter(taskforce=cast.taskforce, status=MembershipStatus.ACTIVE)
    assert s.totals["agencies"] == members.count() == 2
    assert s.totals == {"agencies": 2, "sectors": 2, "joined": 3, "withdrawn": 1, "rural": 0, "tribal": 0}
    rows = dict(s.table.rows)
    assert rows["Law enforcement"] == 1 and rows["Nongovernmental social service and advocacy"] == 1
    assert rows["State social service agency"] == 0 and rows["Health care providers"] == 0
    assert sum(value for label, value in s.table.rows[:-1]) == s.totals["agencies"]
    # The previous year, nobody had joined yet.
    before = section(cast.taskforce, "members.agencies", health.Period("year", period.year - 1, 1))
    assert before.totals["agencies"] == 0


def test_trainings_and_people_trained_reconcile(cast):
    period = this_quarter()
    inside = period.start
    training(cast, held_on=inside, attendees=[cast.member_b, cast.liaison_b])
    training(cast, held_on=inside, attendees=[cast.member_b, cast.liaison_a], title="Trauma-informed care")
    training(cast, held_on=inside, attendees=[cast.member_b], kind=TrainingKind.TEAM_ACTIVITY, topics=0, title="Picnic")
    training(cast, held_on=period.start - timedelta(days=1), attendees=[cast.coordinator], title="Last quarter")
    s = section(cast.taskforce, "members.training", period)
    assert s.totals == {
        "trainings": 2,
        "attendances": 4,
        "people_trained": 3,  # Mia twice, Bea, Larry
        "training_hours": 3.0,
        "team_activities": 1,
    }
    assert len(s.table.rows) == 3
    assert "Last quarter" not in str(s.table.rows)


def test_action_plan_section(cast):
    period = this_quarter()
    goal(cast, "Protocol", status=GoalStatus.ACHIEVED, progress=100, target_on=period.end)
    goal(cast, "Training", status=GoalStatus.AT_RISK, progress=20, target_on=period.end + timedelta(days=200))
    s = section(cast.taskforce, "members.action_plan", period)
    assert s.totals["goals"] == 2
    assert s.totals["achieved"] == 1
    assert s.totals["average_progress"] == 60
    assert s.totals["due_in_period"] == 1


def test_the_pdf_report_carries_the_same_numbers(cast):
    period = this_quarter()
    training(cast, held_on=period.start, attendees=[cast.member_b, cast.liaison_b])
    response = _client(cast.coordinator).get(
        reverse("taskforce:health_report_pdf", args=[cast.taskforce.slug]),
        {"period": "quarter", "year": period.year, "n": period.number},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages).split())
    assert f"Report for {period.label}" in text
    assert "Member agencies by sector" in text
    assert "Member agencies at the end of the period: 3, in 3 of the 20 sectors" in text
    assert "Trainings: 1 (1.5 hours); attendances: 2; different people trained: 2" in text
    assert AuditEvent.objects.filter(action="health.report_exported", actor=cast.coordinator).count() == 1


def test_the_csv_report_reconciles_with_the_sections(cast):
    period = this_quarter()
    response = _client(cast.coordinator).get(
        reverse("taskforce:health_report_csv", args=[cast.taskforce.slug]),
        {"period": "quarter", "year": period.year, "n": period.number},
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{cast.taskforce.slug}-report-{period.slug}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [cast.taskforce.name, period.label, period.start.isoformat(), period.end.isoformat()]
    sectors = {row[2]: row[3] for row in rows if row[:1] == ["members.agencies"]}
    assert sectors["Law enforcement"] == "1"
    assert sectors["Total member agencies"] == "3"


def test_a_bad_period_falls_back_to_the_last_complete_quarter(cast):
    response = _client(cast.coordinator).get(
        reverse("taskforce:health_report_csv", args=[cast.taskforce.slug]), {"period": "quarter", "year": "x"}
    )
    expected = health.Period.last_complete("quarter", timezone.localdate())
    assert response.content.decode().splitlines()[0].split(",")[1] == expected.label


def test_members_registers_its_providers_once():
    members_health.register_providers()
    assert health._measure_providers.count(members_health.measures) == 1
    assert health._section_providers.count(members_health.report_sections) == 1


# --- in a real browser ------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_coordinator_opens_the_dashboard_and_downloads_the_period_report(live_server, page, settings):
    import re

    from django.core.cache import cache
    from playwright.sync_api import expect

    from tests.cast import PASSWORD, build_cast

    settings.REQUIRE_MFA = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "health"}}
    cache.clear()
    cast = build_cast()
    period = this_quarter()
    training(cast, held_on=period.start, attendees=[cast.member_b, cast.liaison_b])

    refused = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=login]").fill(cast.coordinator.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

    page.get_by_role("link", name="Health", exact=True).click()
    expect(page.get_by_role("heading", name="Task force health")).to_be_visible()
    expect(page.get_by_role("heading", name="Sector coverage")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Sectors with a member agency"))).to_be_visible()
    page.get_by_text("The numbers behind it").first.click()
    expect(page.get_by_role("rowheader", name="Law enforcement", exact=True).first).to_be_visible()
    page.screenshot(path=str(Path(tempfile.gettempdir()) / "health-dashboard.png"), full_page=True)

    assert refused == []  # the charts and tables need no inline style or script
    page.get_by_label("Period", exact=True).select_option(f"quarter-{period.year}-{period.number}")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == f"{cast.taskforce.slug}-report-{period.slug}.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    assert "Member agencies at the end of the period: 3, in 3 of the 20 sectors" in text
    assert "Trainings: 1 (1.5 hours); attendances: 2; different people trained: 2" in text
    assert AuditEvent.objects.filter(action="health.report_exported", actor=cast.coordinator).exists()


def test_a_failing_provider_shows_as_unavailable_and_spares_the_rest(cast, monkeypatch):
    monkeypatch.setattr(health, "_measure_providers", list(health._measure_providers))

    def broken(taskforce, today):
        raise RuntimeError("half-built app")

    health.register_measures(broken)
    response = _client(cast.coordinator).get(reverse("taskforce:health", args=[cast.taskforce.slug]))
    assert response.status_code == 200
    assert b"Some measures are unavailable" in response.content
    assert b"Sector coverage" in response.content


def test_measures_without_history_build_a_trend_from_monthly_snapshots(cast):
    """Roles defined has no history in the records: the hourly scheduler keeps one value a month."""
    import time_machine

    from taskforce.models import HealthSnapshot

    Membership.objects.filter(pk=cast.agency_a.pk).update(roles_and_responsibilities="Investigate")
    with time_machine.travel(timezone.make_aware(timezone.datetime(2026, 9, 15, 12)), tick=False):
        assert health.record_snapshots() >= 3  # charter, roles, action plan
        assert health.record_snapshots() == 0  # once a day
    Membership.objects.filter(pk=cast.agency_b.pk).update(roles_and_responsibilities="Shelter")
    with time_machine.travel(timezone.make_aware(timezone.datetime(2026, 10, 15, 12)), tick=False):
        health.record_snapshots()
    Membership.objects.filter(pk=cast.agency_c.pk).update(roles_and_responsibilities="Fund")
    m = measure(cast.taskforce, "members.roles", today=date(2026, 11, 20))
    sep, oct, nov = [label for label, _first, _last in health.months_back(date(2026, 11, 20), 3)]
    assert m.trend == [(sep, 33.0), (oct, 67.0), (nov, 100)]
    assert m.chart is not None and m.trend_direction == "up"
    assert HealthSnapshot.objects.filter(taskforce=cast.taskforce, key="members.roles").count() == 2
    other = measure(cast.other_taskforce, "members.roles", today=date(2026, 11, 20))
    assert [value for _label, value in other.trend] == [0, 0, 0]  # Lakeshore's own snapshots, not Harbor's
