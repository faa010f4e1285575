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
from cases.models import Case, CaseGroupObjectPermission, CaseReview, CaseUserObjectPermission
from taskforce import audit, permissions

SOURCE_TYPE = "cases.case"


# What prepare_items loaded for an item, kept on the item object itself (so for this request only) and
# used only for the same person: {"user": pk, "case": Case | None, "perms": set, "review": ..., "roster": [...]}.
PREPARED = "_case_review_prepared"


def _prepared(item: Any, user: Any) -> dict[str, Any] | None:
    loaded = getattr(item, PREPARED, None)
    if loaded is None or loaded["user"] != getattr(user, "pk", None):
        return None
    return loaded


def _is_case_item(item: Any) -> bool:
    return getattr(item, "source_type", "") == SOURCE_TYPE and str(getattr(item, "source_id", "")).isdigit()


def prepare_items(request: HttpRequest, items: list[Any]) -> None:
    """Load, for a whole agenda, what the access check and the renderer of each case-review item read: the
    cases, the reader's permissions on them (taskforce.permissions, one query for all), the review records
    and the rosters. A fixed number of queries however many case-review items the agenda holds."""
    user = request.user
    items = [item for item in items if _is_case_item(item)]
    if not items:
        return
    by_pk = Case.objects.filter(pk__in={int(item.source_id) for item in items}).select_related(
        "lead__agency", "taskforce"
    )
    cases = {case.pk: case for case in by_pk}
    perms = permissions.perms_on_each(user, list(cases.values()))
    loaded: dict[int, dict[str, Any]] = {}
    for item in items:
        case = cases.get(int(item.source_id))
        if case is not None and case.taskforce_id != item.taskforce_id:
            case = None
        loaded[item.pk] = {
            "user": user.pk,
            "case": case,
            "perms": set(perms.get(case.pk, set())) if case is not None else set(),
            "review": None,
            "roster": [],
        }
    full = [item for item in items if "view_case_full" in loaded[item.pk]["perms"]]
    if full:
        reviews: dict[tuple[int, int], CaseReview] = {}
        found = CaseReview.objects.filter(
            agenda_item__in=[item.pk for item in full], case__in={loaded[item.pk]["case"].pk for item in full}
        ).prefetch_related("recommendations")
        for review in found:  # Meta ordering: the first per (case, item) is what .first() would give
            reviews.setdefault((review.case_id, review.agenda_item_id), review)
        for item in full:
            loaded[item.pk]["review"] = reviews.get((loaded[item.pk]["case"].pk, item.pk))
        _prepare_rosters(full, loaded)
    for item in items:
        setattr(item, PREPARED, loaded[item.pk])


def _prepare_rosters(items: list[Any], loaded: dict[int, dict[str, Any]]) -> None:
    """review_roster for every item at once: attendees, and which of them hold full access to each case."""
    from meetings.models import Attendance

    with_meeting = [item for item in items if item.meeting_id]
    if not with_meeting:
        return
    attendance = list(
        Attendance.objects.filter(meeting_id__in={item.meeting_id for item in with_meeting})
        .select_related("person")
        .order_by("organization", "name")
    )
    meeting_ids = {item.meeting_id for item in with_meeting}
    # The attendees as a subquery, not a list: the same one query whether or not the roster is filled yet.
    people = Attendance.objects.filter(meeting_id__in=meeting_ids, person__isnull=False).values("person_id")
    case_ids = {loaded[item.pk]["case"].pk for item in with_meeting}
    # As selectors.people_with: active people holding the permission by name or through a group.
    direct = CaseUserObjectPermission.objects.filter(
        content_object_id__in=case_ids, permission__codename="view_case_full", user__in=people, user__is_active=True
    ).values_list("content_object_id", "user_id")
    grouped = CaseGroupObjectPermission.objects.filter(
        content_object_id__in=case_ids,
        permission__codename="view_case_full",
        group__user__in=people,
        group__user__is_active=True,
    ).values_list("content_object_id", "group__user")
    eligible = set(direct.union(grouped))
    for item in with_meeting:
        case_pk = loaded[item.pk]["case"].pk
        loaded[item.pk]["roster"] = [
            RosterRow(
                row.name,
                row.organization,
                row.person,
                bool(row.person_id and (case_pk, row.person_id) in eligible),
                row.attended,
            )
            for row in attendance
            if row.meeting_id == item.meeting_id
        ]


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
    loaded = _prepared(item, user)
    if loaded is not None:
        return loaded["case"] is not None and "view_case_full" in loaded["perms"]
    case = case_for_item(item)
    return case is not None and "view_case_full" in selectors.case_perms(user, case)


def render_item(request: HttpRequest, item: Any) -> str:
    user = request.user
    loaded = _prepared(item, user)
    if loaded is not None:
        case, perms = loaded["case"], loaded["perms"]
    else:
        case = case_for_item(item)
        perms = selectors.case_perms(user, case) if case is not None else set()
    # The partials are rendered without the request: they need no context processor (the page's own
    # render runs those once), which would otherwise cost the navigation's queries again per item.
    if case is None or "view_case_full" not in perms:
        return render_to_string("cases/partials/restricted_item.html", {})
    audit.record("case.viewed", request=request, obj=case, level="full", via="meeting", agenda_item=item.pk)
    if loaded is not None:
        review, roster = loaded["review"], loaded["roster"]
    else:
        review = case.reviews.filter(agenda_item=item).prefetch_related("recommendations").first()
        roster = review_roster(case, item) if item.meeting_id else []
    return render_to_string(
        "cases/partials/review_item.html",
        {
            "case": case,
            "item": item,
            "review": review,
            "can_contribute": "contribute_case" in perms,
            "roster": roster,
            "taskforce": case.taskforce,
        },
    )


def reviews_for_minutes(request: HttpRequest, meeting: Any) -> list[dict[str, Any]]:
    """The meeting's case reviews for the restricted minutes, per reader: full access shows the review, else
    only "Restricted case". Every review shown is an audited read of the case."""
    from meetings.models import AgendaItem

    items = AgendaItem.objects.filter(meeting=meeting, source_type=SOURCE_TYPE).order_by("position", "pk")
    entries: list[dict[str, Any]] = []
    reads: list[tuple[Case, dict[str, Any]]] = []  # audited together once the reviews are read
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
        reads.append((case, {"level": "full", "via": "minutes", "agenda_item": item.pk}))
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
    audit.record_many("case.viewed", reads, request=request)
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
    if hasattr(hooks, "register_case_items_prepare"):
        hooks.register_case_items_prepare(prepare_items)
