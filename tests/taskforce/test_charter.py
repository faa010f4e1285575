"""The charter: mission, values and cadence, edited by coordinators with history and conflict detection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from taskforce import services
from taskforce.models import CharterRevision, TaskForce

pytestmark = pytest.mark.django_db


def _form(taskforce: TaskForce, **overrides) -> dict:
    data = {
        "mission_statement": "Protect children together.",
        "shared_values": "Victim-centred\nConfidential",
        "meeting_cadence": "monthly",
        "adopted_on": "",
        "version": taskforce.charter_version,
    }
    data.update(overrides)
    return data


def test_the_coordinator_edits_the_charter_and_history_is_kept(cast, client_for):
    client = client_for(cast.coordinator)
    response = client.post(reverse("taskforce:charter_edit", args=[cast.taskforce.slug]), _form(cast.taskforce))
    assert response.status_code == 302
    cast.taskforce.refresh_from_db()
    assert cast.taskforce.mission_statement == "Protect children together."
    assert cast.taskforce.charter_version == 2
    history = client.get(reverse("taskforce:charter_history", args=[cast.taskforce.slug]))
    assert [r.version for r in history.context["revisions"]] == [2, 1]
    assert CharterRevision.objects.get(taskforce=cast.taskforce, version=2).edited_by == cast.coordinator
    page = client_for(cast.member_b).get(reverse("taskforce:charter", args=[cast.taskforce.slug])).content.decode()
    assert "Protect children together." in page and "<li>Confidential</li>" in page


def test_members_cannot_edit_the_charter(cast, client_for):
    response = client_for(cast.liaison_a).post(
        reverse("taskforce:charter_edit", args=[cast.taskforce.slug]), _form(cast.taskforce)
    )
    assert response.status_code == 403
    cast.taskforce.refresh_from_db()
    assert cast.taskforce.charter_version == 1


def test_the_service_raises_on_a_stale_version(cast):
    services.charter_update(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        expected_version=1,
        mission_statement="A",
        shared_values="",
        meeting_cadence="monthly",
    )
    with pytest.raises(services.StaleEdit) as stale:
        services.charter_update(
            taskforce=cast.taskforce,
            actor=cast.admin,
            expected_version=1,
            mission_statement="B",
            shared_values="",
            meeting_cadence="monthly",
        )
    assert stale.value.current.mission_statement == "A"


def test_a_new_task_force_meeting_less_than_monthly_gets_a_warning(cast, client_for):
    TaskForce.objects.filter(pk=cast.taskforce.pk).update(
        meeting_cadence="quarterly", established_on=timezone.localdate() - timedelta(days=30)
    )
    body = client_for(cast.member_b).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug])).content.decode()
    assert "Meet at least monthly for now." in body
    TaskForce.objects.filter(pk=cast.taskforce.pk).update(established_on=timezone.localdate() - timedelta(days=400))
    body = client_for(cast.member_b).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug])).content.decode()
    assert "Meet at least monthly for now." not in body


def test_the_admin_creates_an_isolated_task_force(cast, client_for):
    response = client_for(cast.admin).post(
        reverse("taskforce:create"),
        {
            "name": "Pine County Task Force",
            "region": "Pine County",
            "jurisdiction": "",
            "established_on": "2026-01-05",
            "meeting_cadence": "monthly",
            "time_zone": "America/Chicago",
        },
    )
    pine = TaskForce.objects.get(name="Pine County Task Force")
    assert response["Location"] == reverse("taskforce:dashboard", args=[pine.slug])
    assert client_for(cast.coordinator).get(reverse("taskforce:dashboard", args=[pine.slug])).status_code == 404
