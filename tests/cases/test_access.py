"""Who sees what of a case, through every page: the rules of the issue, person by person."""

from __future__ import annotations

import pytest
from django.urls import reverse

from taskforce.models import AuditEvent
from tests.cases.world import SUMMARY_SECRET


def detail(world):
    return reverse("cases:detail", kwargs={"slug": world.case.taskforce.slug, "pk": world.case.pk})


@pytest.mark.parametrize("role", ["liaison_b", "member_b", "facilitator", "liaison_a"])
def test_people_with_full_access_see_the_narrative(role, cast, world, client_for):
    response = client_for(getattr(cast, role)).get(detail(world))
    assert response.status_code == 200
    assert SUMMARY_SECRET in response.content.decode()
    assert AuditEvent.objects.filter(action="case.viewed", actor=getattr(cast, role), detail__level="full").exists()


def test_an_involved_agency_without_a_release_sees_the_summary_only(cast, world, client_for):
    response = client_for(cast.coordinator).get(detail(world))
    body = response.content.decode()
    assert response.status_code == 200
    assert "J.D." in body
    assert SUMMARY_SECRET not in body
    assert "Safe housing" not in body
    assert "You see the summary only" in body


@pytest.mark.parametrize("role", ["admin", "outsider"])
def test_others_get_a_404_that_is_audited(role, cast, world, client_for):
    user = getattr(cast, role)
    response = client_for(user).get(detail(world))
    assert response.status_code == 404
    event = AuditEvent.objects.filter(action="access.not_found", actor=user).latest("id")
    assert event.detail["exists"] is True


def test_anonymous_is_sent_to_sign_in(world, client):
    response = client.get(detail(world))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_lead_liaison_sees_who_looked_and_who_was_refused(cast, world, client_for):
    client_for(cast.liaison_a).get(detail(world))
    client_for(cast.outsider).get(detail(world))  # another task force: refused at the task force
    client_for(cast.admin).get(detail(world))  # refused at the case
    log = reverse("cases:access_log", kwargs={"slug": world.case.taskforce.slug, "pk": world.case.pk})
    body = client_for(cast.liaison_b).get(log).content.decode()
    assert "Larry Liaison" in body and "Viewed" in body
    assert "Ada Admin" in body and "Refused (not found)" in body


@pytest.mark.parametrize("name", ["history", "sharing", "releases", "access_log", "agencies", "review_new"])
def test_every_case_page_read_is_audited(name, cast, world, client_for):
    url = reverse(f"cases:{name}", kwargs={"slug": world.case.taskforce.slug, "pk": world.case.pk})
    assert client_for(cast.liaison_b).get(url).status_code == 200
    assert AuditEvent.objects.filter(action="case.viewed", actor=cast.liaison_b, detail__page=name).exists()


def test_a_number_already_used_by_a_hidden_case_is_no_hint(cast, world, client_for):
    from tests.cases.world import make_case

    make_case(cast, number="SEALED-9", lead=cast.agency_a, actor=cast.liaison_a, confidentiality="sealed")
    url = reverse("cases:create", kwargs={"slug": cast.taskforce.slug})
    data = {"number": "SEALED-9", "label": "K.", "age_band": "unknown", "referral_source": "other",
            "trafficking_type": "labor", "status": "open", "confidentiality": "standard"}  # fmt: skip
    response = client_for(cast.coordinator).post(url, data)
    assert response.status_code == 302  # Social Services numbers its own cases; nothing tells it SEALED-9 exists
    response = client_for(cast.coordinator).post(url, data)
    assert "Your agency already has a case with this number." in response.content.decode()
