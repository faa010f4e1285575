"""What the meetings app puts on each person's task-force dashboard."""

from __future__ import annotations

from django.http import HttpRequest

from meetings import access, services
from meetings.models import AgendaItem, FeedbackReceipt, ItemStatus, Meeting
from taskforce.dashboard import Card
from taskforce.models import TaskForce


def meeting_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    upcoming = services.next_meeting(taskforce)
    last = Meeting.objects.filter(taskforce=taskforce, ended_at__isnull=False).order_by("-ended_at").first()
    feedback_due = bool(
        last
        and request.user.is_authenticated
        and not FeedbackReceipt.objects.filter(meeting=last, person=request.user).exists()
        and last.attendance.filter(person=request.user, status__in=["present", "guest"]).exists()
    )
    can_schedule = access.can_schedule(request.user, taskforce)
    waiting = (
        AgendaItem.objects.filter(meeting=upcoming, status=ItemStatus.PROPOSED).count()
        if upcoming and can_schedule
        else 0
    )
    context = {
        "waiting": waiting,
        "meeting": upcoming,
        "call_state": upcoming.call_state() if upcoming else None,
        "can_schedule": can_schedule,
        "last": last,
        "feedback_due": feedback_due,
    }
    return [Card("meetings/cards/next_meeting.html", context, order=5)]
