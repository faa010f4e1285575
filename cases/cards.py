"""What the cases app puts on a person's dashboard: only cases they can see, counted in a few queries."""

from __future__ import annotations

from django.http import HttpRequest

from cases import selectors
from cases.models import MANAGE, AccessRequest, Case
from taskforce import permissions
from taskforce.dashboard import Card
from taskforce.models import TaskForce


def case_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    user = request.user
    visible = selectors.visible_cases(user, taskforce)
    count = visible.count()
    follow_ups = list(selectors.open_follow_ups_due(user, taskforce)[:6])
    if not count and not follow_ups:
        return []  # nothing to show, and no hint that cases exist
    managed = permissions.visible_to(user, MANAGE, Case.objects.filter(taskforce=taskforce))
    pending = AccessRequest.objects.filter(case__in=managed, status=AccessRequest.Status.PENDING).count()
    return [
        Card(
            "cases/cards/my_cases.html",
            {"count": count, "follow_ups": follow_ups, "pending_requests": pending},
            order=30,
        )
    ]
