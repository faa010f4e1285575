"""Each person's dashboard shows what needs their attention, and nothing of what they may not see."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from members import services
from taskforce.models import AuditEvent, TaskForce

pytestmark = pytest.mark.django_db


def test_the_coordinator_sees_open_invitations_and_gaps(cast, client_for):
    services.organization_onboard(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        agency_fields={"name": "Harbor Radio", "sector": "media"},
        liaison_email="r@radio.example.org",
        liaison_name="Rae Reporter",
    )
    body = client_for(cast.coordinator).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug])).content.decode()
    assert "Invitations awaiting a reply" in body and "Rae Reporter" in body
    assert "Missing sector" in body


def test_the_liaison_sees_the_profile_checklist_not_the_coordinator_card(cast, client_for):
    body = client_for(cast.liaison_a).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug])).content.decode()
    assert "Complete the profile" in body and "Sheriff&#x27;s Office" in body
    assert "Invitations awaiting a reply" not in body


def test_a_member_sees_their_agency_without_edit_actions(cast, client_for):
    body = client_for(cast.member_b).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug])).content.decode()
    assert "Child Advocacy Center" in body and "Complete the profile" not in body


def test_home_sends_a_one_task_force_person_straight_to_it(cast, client_for):
    response = client_for(cast.member_b).get(reverse("home"))
    assert response["Location"] == reverse("taskforce:dashboard", args=[cast.taskforce.slug])


def test_the_switcher_lists_only_visible_task_forces(cast, client_for):
    body = client_for(cast.admin).get(reverse("home")).content.decode()
    assert "Harbor Task Force" in body and "Lakeshore Task Force" in body
    body = client_for(cast.coordinator).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug])).content.decode()
    assert "Lakeshore Task Force" not in body


def test_the_audit_log_is_for_admins_and_filters(cast, client_for):
    assert client_for(cast.coordinator).get(reverse("taskforce:audit_log")).status_code == 403
    response = client_for(cast.admin).get(
        reverse("taskforce:audit_log"), {"action": "invitation.", "taskforce": cast.taskforce.pk}
    )
    events = list(response.context["page"])
    assert events and all(e.action.startswith("invitation.") and e.taskforce_id == cast.taskforce.pk for e in events)
    assert AuditEvent.objects.filter(action="role.granted").exists()


def test_times_show_in_the_task_force_time_zone(cast, client_for):
    TaskForce.objects.filter(pk=cast.taskforce.pk).update(time_zone="America/Los_Angeles")
    response = client_for(cast.coordinator).get(reverse("taskforce:charter_history", args=[cast.taskforce.slug]))
    edited_at = response.context["revisions"][0].edited_at
    pacific = edited_at.astimezone(ZoneInfo("America/Los_Angeles")).strftime("%H:%M")
    eastern = edited_at.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    body = response.content.decode()
    assert pacific in body and eastern not in body


def test_the_dashboard_costs_the_same_whatever_the_records(cast, client_for):
    """Each card reads its records in a fixed number of queries: more cases and meetings change no count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.cases.world import make_case, make_meeting

    url = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
    clients = {role: client_for(getattr(cast, role)) for role in ("liaison_a", "coordinator", "admin")}

    def counts() -> dict[str, int]:
        found = {}
        for role, client in clients.items():
            client.get(url)  # the session's once-a-minute writes land here, not in the count
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            found[role] = len(captured.captured_queries)
        return found

    before = counts()
    for n in range(3):
        make_case(cast, number=f"2026-10{n}")
        make_meeting(cast, title=f"Harbor meeting {n}")
    assert counts() == before
    # 8/9/9 here (liaison, coordinator, admin) with the cards' figures folded into one query each.
    assert max(before.values()) <= 10, before


def test_the_cases_card_lists_the_follow_ups_due_and_the_requests_waiting(cast, client_for, settings):
    """The follow-ups come as ids with the counts, then as rows: the card shows them as before."""
    from tests.cases.world import build_world

    settings.REQUIRE_MFA = False
    world = build_world(cast)
    url = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
    body = client_for(cast.member_b).get(url).content.decode()
    assert "Your follow-ups due soon" in body
    assert reverse("cases:detail", args=[cast.taskforce.slug, world.case.pk]) in body
    assert "Your follow-ups due soon" not in client_for(cast.coordinator).get(url).content.decode()


def test_the_signing_card_lists_a_few_and_links_to_all(cast, client_for, monkeypatch):
    """Agreements out for signature: the first few, and "See all N" when there are more."""
    from mous import cards
    from mous import services as mou_services
    from tests.mous.conftest import name_signatory

    name_signatory(cast.agency_a, cast.liaison_a, cast.liaison_a)
    name_signatory(cast.agency_b, cast.liaison_b, cast.liaison_b)
    for n in range(2):
        mou = mou_services.mou_create(
            taskforce=cast.taskforce, actor=cast.coordinator, title=f"MOU {n}", parties=[cast.agency_a, cast.agency_b]
        )
        mou_services.version_circulate(mou=mou, actor=cast.coordinator)
        mou.refresh_from_db()
        mou_services.mou_send_for_signature(mou=mou, actor=cast.coordinator)
    url = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
    body = client_for(cast.coordinator).get(url).content.decode()
    assert "Agreements out for signature" in body and "MOU 0" in body and "MOU 1" in body
    assert "See all 2 agreements" not in body
    monkeypatch.setattr(cards, "SIGNING_SHOWN", 1)
    body = client_for(cast.coordinator).get(url).content.decode()
    assert "MOU 1" in body and "MOU 0" not in body  # the newest first
    assert "See all 2 agreements" in body and reverse("mous:list", args=[cast.taskforce.slug]) in body
    # The signatory's own steps, on the version out for signature.
    liaison = client_for(cast.liaison_a).get(url).content.decode()
    assert "Agreements waiting for you" in liaison and "MOU 0" in liaison and "MOU 1" in liaison
