"""What the cases app puts on a person's dashboard: only cases they can see, counted in a few queries."""

from __future__ import annotations

from django.http import HttpRequest

from cases import selectors
from cases.models import MANAGE, AccessRequest, Case, FollowUp
from taskforce import dashboard, permissions
from taskforce.dashboard import Card
from taskforce.models import TaskForce

FOLLOW_UPS_SHOWN = 6


def case_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    user = request.user
    managed = permissions.visible_to(user, MANAGE, Case.objects.filter(taskforce=taskforce))
    pending = AccessRequest.objects.filter(case__in=managed, status=AccessRequest.Status.PENDING)
    due = selectors.open_follow_ups_due(user, taskforce)
    # Both counts and the ids of the follow-ups due (already permission-filtered, in due order) in one query.
    # Most people have no follow-up due, and then no second query is asked.
    found = dashboard.figures(
        taskforce,
        cases=dashboard.count(selectors.visible_cases(user, taskforce)),
        pending=dashboard.count(pending),
        due=dashboard.ids(due, limit=FOLLOW_UPS_SHOWN),
    )
    count, pending_requests = found["cases"], found["pending"]
    # The columns the card shows only: not the task nor the case's narrative (encrypted: decrypted per row).
    shown = FollowUp.objects.filter(pk__in=found["due"]).only("due_on", "status", "case", "case__number")
    follow_ups = list(shown.select_related("case").order_by("due_on")) if found["due"] else []
    if not count and not follow_ups:
        return []  # nothing to show, and no hint that cases exist
    return [
        Card(
            "cases/cards/my_cases.html",
            {"count": count, "follow_ups": follow_ups, "pending_requests": pending_requests},
            order=30,
        )
    ]
