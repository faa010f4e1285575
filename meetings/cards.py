"""What the meetings app puts on each person's task-force dashboard."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.http import HttpRequest
from django.utils import timezone

from meetings import access
from meetings.models import ATTENDED, Attendance, FeedbackReceipt, ItemStatus, Meeting, MeetingStatus
from taskforce.dashboard import Card
from taskforce.models import TaskForce


def meeting_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    now = timezone.now()
    # The next meeting (services.next_meeting) and the last one held, in one query: each is picked by its own
    # subquery, and told apart below by the same conditions.
    upcoming_pk = (
        Meeting.objects.filter(taskforce=taskforce, status=MeetingStatus.SCHEDULED, starts_at__gt=now)
        .order_by("starts_at")
        .values("pk")[:1]
    )
    last_pk = Meeting.objects.filter(taskforce=taskforce, ended_at__isnull=False).order_by("-ended_at").values("pk")[:1]
    # With them: the count of proposed items (shown to schedulers only, so asked of schedulers only: for anyone
    # else it was a join and a GROUP BY for nothing) and whether the person attended the last one and has not
    # given feedback yet.
    can_schedule = access.can_schedule(request.user, taskforce, request=request)
    meetings = Meeting.objects.filter(Q(pk=Subquery(upcoming_pk)) | Q(pk=Subquery(last_pk)))
    if can_schedule:
        meetings = meetings.annotate(_proposed=Count("items", filter=Q(items__status=ItemStatus.PROPOSED)))
    if request.user.is_authenticated:
        meetings = meetings.annotate(
            _feedback_given=Exists(FeedbackReceipt.objects.filter(meeting=OuterRef("pk"), person=request.user)),
            _attended=Exists(
                Attendance.objects.filter(meeting=OuterRef("pk"), person=request.user, status__in=ATTENDED)
            ),
        )
    meetings = list(meetings)
    upcoming = next((m for m in meetings if m.status == MeetingStatus.SCHEDULED and m.starts_at > now), None)
    last = next((m for m in meetings if m.ended_at is not None), None)
    feedback_due = bool(last and request.user.is_authenticated and not last._feedback_given and last._attended)
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
