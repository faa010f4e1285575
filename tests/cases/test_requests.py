"""Access requests: asked with a justification, decided by the lead liaison, both sides told (no narrative)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from cases import selectors, services
from taskforce import notifications
from taskforce.models import AuditEvent, Notification
from tests.cases.world import SUMMARY_SECRET


def test_the_lead_liaison_is_told_of_a_request_without_the_narrative(cast, world):
    row = Notification.objects.get(kind=services.ACCESS_REQUESTED, recipient=cast.liaison_b)
    notifications.sweep()
    row.refresh_from_db()
    assert row.sent_at is not None
    message = [m for m in mail.outbox if cast.liaison_b.email in m.to][-1]
    assert "Case 2026-001" in message.subject
    assert SUMMARY_SECRET not in message.body and "J.D." not in message.body
    assert AuditEvent.objects.filter(action="case.access_requested", actor=cast.coordinator).exists()


def test_approving_a_request_needs_the_release_rule_too(cast, world):
    with pytest.raises(services.ShareRefused, match="release"):
        services.access_request_decide(access_request=world.access_request, actor=cast.liaison_b, approve=True)
    world.access_request.refresh_from_db()
    assert world.access_request.status == "pending"


def test_an_approved_request_grants_the_requester_and_tells_them(cast, world):
    services.release_create(
        case=world.case,
        actor=cast.liaison_b,
        agencies=[cast.agency_c],
        signed_by="guardian",
        scope="Placement planning",
        signed_on=world.release.signed_on,
        expires_on=world.release.expires_on,
    )
    services.access_request_decide(access_request=world.access_request, actor=cast.liaison_b, approve=True)
    assert "view_case_full" in selectors.case_perms(cast.coordinator, world.case)
    assert Notification.objects.filter(kind=services.ACCESS_DECIDED, recipient=cast.coordinator).exists()
    assert AuditEvent.objects.filter(action="case.access_approved").exists()


def test_declining_needs_a_reason_and_tells_the_requester(cast, world, client_for):
    client = client_for(cast.liaison_b)
    decide = reverse(
        "cases:request_decide",
        kwargs={"slug": cast.taskforce.slug, "pk": world.case.pk, "request_pk": world.access_request.pk},
    )
    client.post(decide, {"decision": "decline"})
    world.access_request.refresh_from_db()
    assert world.access_request.status == "pending"
    client.post(decide, {"decision": "decline", "reason": "Placement is handled by the CAC"})
    world.access_request.refresh_from_db()
    assert world.access_request.status == "declined"
    notifications.sweep()
    message = [m for m in mail.outbox if cast.coordinator.email in m.to][-1]
    assert "Placement is handled by the CAC" in message.body
    assert AuditEvent.objects.filter(action="case.access_declined", actor=cast.liaison_b).exists()


def test_a_request_form_for_someone_with_the_summary(cast, world, client_for):
    client = client_for(cast.coordinator)
    page = reverse("cases:request_access", kwargs={"slug": cast.taskforce.slug, "pk": world.case.pk})
    response = client.post(page, {"level": "full", "justification": "Again"})
    assert "already have a request" in response.content.decode()
