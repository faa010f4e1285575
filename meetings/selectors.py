"""Read queries with a name: the meeting list, agenda totals, the feedback trend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q
from django.utils import timezone

from meetings.models import AgendaItem, Feedback, ItemStatus, Meeting, MeetingStatus
from taskforce.models import TaskForce


def meetings_for(taskforce: TaskForce, *, past: bool = False):
    now = timezone.now()
    qs = Meeting.objects.filter(taskforce=taskforce).select_related("series", "facilitator")
    if past:
        return qs.filter(ends_at__lte=now).select_related("minutes").order_by("-starts_at")
    return qs.filter(ends_at__gt=now).order_by("starts_at")


def agenda_and_proposals(
    meeting: Meeting, user: Any, *, facilitating: bool
) -> tuple[list[AgendaItem], list[AgendaItem]]:
    """The agenda (as services.agenda_items) and the proposed and declined items beside it, in one query.

    A facilitator sees every proposal; anybody else only their own.
    """
    proposals = Q(status__in=[ItemStatus.PROPOSED, ItemStatus.DECLINED])
    if not facilitating:
        proposals &= Q(submitted_by=user)
    items = list(
        AgendaItem.objects.with_viewers()
        .filter(Q(status=ItemStatus.ACCEPTED) | proposals, meeting=meeting)
        .select_related("presenter__agency", "submitted_by")
        .order_by("position", "pk")
    )
    agenda = [item for item in items if item.status == ItemStatus.ACCEPTED]
    return agenda, [item for item in items if item.status != ItemStatus.ACCEPTED]


def backlog(taskforce: TaskForce):
    return (
        AgendaItem.objects.with_viewers()
        .filter(taskforce=taskforce, status=ItemStatus.BACKLOG)
        .select_related("series", "presenter")
        .order_by("series__title", "created_at")
    )


def upcoming_for_backlog(taskforce: TaskForce):
    return Meeting.objects.filter(
        taskforce=taskforce, status=MeetingStatus.SCHEDULED, starts_at__gt=timezone.now()
    ).order_by("starts_at")[:6]


@dataclass
class TrendPoint:
    meeting: Meeting
    responses: int
    usefulness: float | None
    on_time_start: float | None
    on_time_end: float | None


def feedback_trend(taskforce: TaskForce, *, limit: int = 12) -> list[TrendPoint]:
    """Per meeting with answers: average usefulness and the share saying it started/ended on time."""
    rows = (
        Meeting.objects.filter(taskforce=taskforce, ended_at__isnull=False)
        .annotate(
            responses=Count("feedback"),
            avg_use=Avg("feedback__usefulness"),
            started=Count("feedback", filter=Q(feedback__started_on_time=True)),
            ended=Count("feedback", filter=Q(feedback__ended_on_time=True)),
        )
        .filter(responses__gt=0)
        .order_by("-starts_at")[:limit]
    )
    points = [
        TrendPoint(
            meeting=m,
            responses=m.responses,
            usefulness=round(m.avg_use, 2) if m.avg_use is not None else None,
            on_time_start=round(100 * m.started / m.responses),
            on_time_end=round(100 * m.ended / m.responses),
        )
        for m in rows
    ]
    return list(reversed(points))


def feedback_comments(taskforce: TaskForce):
    return (
        Feedback.objects.filter(meeting__taskforce=taskforce)
        .exclude(what_to_change="")
        .select_related("meeting", "respondent")
        .order_by("-created_at")[:50]
    )


@dataclass
class Chart:
    """A server-rendered SVG line chart (attributes only: the CSP allows no inline styles)."""

    width: int
    height: int
    points: list[dict]
    polyline: str
    gridlines: list[dict]
    plot_right: int = 0
    plot_bottom: int = 0


def usefulness_chart(points: list[TrendPoint], *, width: int = 640, height: int = 240) -> Chart:
    left, right, top, bottom = 40, 48, 16, 40
    inner_w, inner_h = width - left - right, height - top - bottom
    n = len(points)
    plotted = []
    for index, point in enumerate(points):
        x = left + (inner_w * (index + 0.5) / n if n else 0)
        value = point.usefulness or 0
        y = top + inner_h * (1 - (value - 1) / 4)
        plotted.append(
            {
                "x": round(x, 1),
                "y": round(y, 1),
                "value": point.usefulness,
                "label": f"{point.meeting.local_start:%b %-d}",
                "bar_y": round(top + inner_h * (1 - (point.on_time_end or 0) / 100), 1),
                "bar_h": round(inner_h * (point.on_time_end or 0) / 100, 1),
                "bar_x": round(x - 9, 1),
            }
        )
    grid = [{"y": round(top + inner_h * (1 - (v - 1) / 4), 1), "label": v} for v in range(1, 6)]
    return Chart(
        width=width,
        height=height,
        points=plotted,
        polyline=" ".join(f"{p['x']},{p['y']}" for p in plotted),
        gridlines=grid,
        plot_right=width - right,
        plot_bottom=height - bottom,
    )
