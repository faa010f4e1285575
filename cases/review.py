"""The case-review segment of a meeting, served by cases through meetings.hooks (meetings never imports cases).

An agenda item proposed from a case carries source_type "cases.case" and the case's id. Whoever holds
full access to that case sees it; everyone else in the room sees "Restricted case" and nothing more,
not even the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string

from cases import selectors
from cases.models import Case
from taskforce import audit

SOURCE_TYPE = "cases.case"


def case_for_item(item: Any) -> Case | None:
    if getattr(item, "source_type", "") != SOURCE_TYPE or not str(getattr(item, "source_id", "")).isdigit():
        return None
    return (
        Case.objects.filter(pk=int(item.source_id), taskforce_id=item.taskforce_id)
        .select_related("lead__agency", "taskforce")
        .first()
    )


@dataclass
class RosterRow:
    name: str
    organization: str
    person: Any
    may_take_part: bool
    attended: bool = False


def review_roster(case: Case, item: Any) -> list[RosterRow]:
    """The meeting's attendees, each marked whether they may take part in this case's review: those whose
    access to the case is full (their agency's grant under an active release, or a grant by name)."""
    from meetings.models import Attendance

    eligible = set(selectors.people_with(case, "view_case_full").values_list("pk", flat=True))
    rows = (
        Attendance.objects.filter(meeting_id=item.meeting_id).select_related("person").order_by("organization", "name")
    )
    return [
        RosterRow(
            row.name, row.organization, row.person, bool(row.person_id and row.person_id in eligible), row.attended
        )
        for row in rows
    ]


def may_review(user: Any, item: Any) -> bool:
    """Whether `user` may see this case-review item: full access to the case, decided by its grants."""
    case = case_for_item(item)
    return case is not None and "view_case_full" in selectors.case_perms(user, case)


def render_item(request: HttpRequest, item: Any) -> str:
    case = case_for_item(item)
    user = request.user
    perms = selectors.case_perms(user, case) if case is not None else set()
    if case is None or "view_case_full" not in perms:
        return render_to_string("cases/partials/restricted_item.html", {}, request=request)
    audit.record("case.viewed", request=request, obj=case, level="full", via="meeting", agenda_item=item.pk)
    review = case.reviews.filter(agenda_item=item).prefetch_related("recommendations").first()
    return render_to_string(
        "cases/partials/review_item.html",
        {
            "case": case,
            "item": item,
            "review": review,
            "can_contribute": "contribute_case" in perms,
            "roster": review_roster(case, item) if item.meeting_id else [],
            "taskforce": case.taskforce,
        },
        request=request,
    )


def reviews_for_minutes(request: HttpRequest, meeting: Any) -> list[dict[str, Any]]:
    """The meeting's case reviews for the restricted minutes, per reader: full access shows the review, else
    only "Restricted case". Every review shown is an audited read of the case."""
    from meetings.models import AgendaItem

    items = AgendaItem.objects.filter(meeting=meeting, source_type=SOURCE_TYPE).order_by("position", "pk")
    entries: list[dict[str, Any]] = []
    for item in items:
        case = case_for_item(item)
        if case is None or "view_case_full" not in selectors.case_perms(request.user, case):
            entries.append({"visible": False})
            continue
        review = (
            case.reviews.filter(agenda_item=item)
            .prefetch_related("recommendations", "participants", "follow_ups__owner")
            .first()
        )
        audit.record("case.viewed", request=request, obj=case, level="full", via="minutes", agenda_item=item.pk)
        entries.append(
            {
                "visible": True,
                "case": f"{case.number} · {case.label}",
                "recorded": review is not None,
                "discussion": review.discussion if review else "",
                "service_needs": review.service_needs if review else "",
                "recommendations": [str(r) for r in review.recommendations.all()] if review else [],
                "participants": [p.full_name for p in review.participants.all()] if review else [],
                "follow_ups": [
                    {"task": f.task, "owner": f.owner.full_name, "due_on": f.due_on, "status": f.get_status_display()}
                    for f in review.follow_ups.all()
                ]
                if review
                else [],
            }
        )
    return entries


def connect_meetings() -> None:
    """Plug into the meetings app if it offers the hooks (it is built alongside; absent, nothing happens)."""
    try:
        from meetings import hooks
    except ImportError:  # pragma: no cover - meetings always ships with this project
        return
    hooks.register_case_item_access(may_review)
    hooks.register_case_item_renderer(render_item)
    hooks.register_case_minutes(reviews_for_minutes)
