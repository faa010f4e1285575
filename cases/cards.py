"""What the cases app puts on a person's dashboard: only cases they can see, counted in a few queries."""

from __future__ import annotations

from django.db.models import Func, QuerySet, Subquery
from django.http import HttpRequest

from cases import selectors
from cases.models import MANAGE, AccessRequest, Case
from taskforce import permissions
from taskforce.dashboard import Card
from taskforce.models import TaskForce


def _count(queryset: QuerySet) -> Subquery:
    """COUNT(*) of `queryset` as a scalar subquery (no GROUP BY: one row whatever the rows)."""
    return Subquery(queryset.order_by().values(n=Func("pk", function="COUNT")))


def case_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    user = request.user
    managed = permissions.visible_to(user, MANAGE, Case.objects.filter(taskforce=taskforce))
    pending = AccessRequest.objects.filter(case__in=managed, status=AccessRequest.Status.PENDING)
    # Both counts in one query: each a scalar subquery of its own permission-filtered query.
    count, pending_requests = (
        TaskForce.objects.filter(pk=taskforce.pk)
        .annotate(_cases=_count(selectors.visible_cases(user, taskforce)), _pending=_count(pending))
        .values_list("_cases", "_pending")
        .get()
    )
    follow_ups = list(selectors.open_follow_ups_due(user, taskforce)[:6])
    if not count and not follow_ups:
        return []  # nothing to show, and no hint that cases exist
    return [
        Card(
            "cases/cards/my_cases.html",
            {"count": count, "follow_ups": follow_ups, "pending_requests": pending_requests},
            order=30,
        )
    ]
