"""What the meetings app puts on each person's task-force dashboard."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from django.utils import timezone

from meetings import access
from meetings.models import Attendance, FeedbackReceipt, ItemStatus, Meeting, MeetingStatus
from taskforce.dashboard import Card
from taskforce.models import TaskForce


def meeting_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    # services.next_meeting, with the count of proposed items (shown to schedulers) read in the same query.
    upcoming = (
        Meeting.objects.filter(taskforce=taskforce, status=MeetingStatus.SCHEDULED, starts_at__gt=timezone.now())
        .annotate(_proposed=Count("items", filter=Q(items__status=ItemStatus.PROPOSED)))
        .order_by("starts_at")
        .first()
    )
    last_meetings = Meeting.objects.filter(taskforce=taskforce, ended_at__isnull=False).order_by("-ended_at")
    if request.user.is_authenticated:
        # Whether the person attended and has not given feedback yet, read with the meeting (one query, not three).
        last_meetings = last_meetings.annotate(
            _feedback_given=Exists(FeedbackReceipt.objects.filter(meeting=OuterRef("pk"), person=request.user)),
            _attended=Exists(
                Attendance.objects.filter(meeting=OuterRef("pk"), person=request.user, status__in=["present", "guest"])
            ),
        )
    last = last_meetings.first()
    feedback_due = bool(last and request.user.is_authenticated and not last._feedback_given and last._attended)
    can_schedule = access.can_schedule(request.user, taskforce)
    waiting = upcoming._proposed if upcoming and can_schedule else 0
    context = {
        "waiting": waiting,
        "meeting": upcoming,
        "call_state": upcoming.call_state() if upcoming else None,
        "can_schedule": can_schedule,
        "last": last,
        "feedback_due": feedback_due,
    }
    return [Card("meetings/cards/next_meeting.html", context, order=5)]
