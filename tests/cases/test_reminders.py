"""Follow-up reminders go to the owner before the due date, say nothing of the case, and stop when access does."""

from __future__ import annotations

from django.core import mail
from django.urls import reverse

from cases import services
from taskforce import notifications
from taskforce.models import Notification


def test_the_owner_is_reminded_without_the_narrative(cast, world):
    row = Notification.objects.get(kind=services.FOLLOW_UP_DUE, recipient=cast.member_b)
    assert row.due_at.date() <= world.follow_up.due_on
    message = services.render_follow_up_due(row)
    assert "Case 2026-001" in message.subject
    assert "therapy" not in message.body.lower() and "J.D." not in message.body


def test_no_reminder_once_the_owner_has_lost_access(cast, world):
    from members.services import membership_withdraw

    row = Notification.objects.get(kind=services.FOLLOW_UP_DUE, recipient=cast.member_b)
    membership_withdraw(membership=cast.agency_b, actor=cast.admin, reason="Left")
    assert services.render_follow_up_due(row) is None


def test_closing_the_follow_up_cancels_its_reminder(cast, world, client_for):
    url = reverse(
        "cases:follow_up_status",
        kwargs={"slug": cast.taskforce.slug, "pk": world.case.pk, "follow_up_pk": world.follow_up.pk},
    )
    response = client_for(cast.member_b).post(url, {"status": "done"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "follow-up-" in response.content.decode()
    row = Notification.objects.get(kind=services.FOLLOW_UP_DUE, recipient=cast.member_b)
    assert row.cancelled_at is not None
    mail.outbox = []
    notifications.sweep()
    assert not [m for m in mail.outbox if cast.member_b.email in m.to]


def test_coordinators_edit_the_recommendation_pick_list(cast, world, client_for):
    url = reverse("cases:recommendations", kwargs={"slug": cast.taskforce.slug})
    client = client_for(cast.coordinator)
    first = world.case.taskforce.case_recommendations.get(text="Medical examination")
    client.post(url, {"text": "Runaway debrief", "retire": [first.pk]})
    texts = set(world.case.taskforce.case_recommendations.filter(active=True).values_list("text", flat=True))
    assert "Runaway debrief" in texts and "Medical examination" not in texts
