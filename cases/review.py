"""The case-review segment of a meeting, served by cases through meetings.hooks (meetings never imports cases).

An agenda item proposed from a case carries source_type "cases.case" and the case's id. Whoever holds
full access to that case sees it; everyone else in the room sees "Restricted case" and nothing more,
not even the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from cases import selectors
from cases.models import Case, CaseGroupObjectPermission, CaseReview, CaseUserObjectPermission
from taskforce import audit, freshness, permissions

SOURCE_TYPE = "cases.case"


# What prepare_items loaded for an item, kept on the item object itself (so for this request only) and
# used only for the same person: {"user": pk, "case": Case | None, "perms": set, "batch": _Batch}.
PREPARED = "_case_review_prepared"


def _prepared(item: Any, user: Any) -> dict[str, Any] | None:
    loaded = getattr(item, PREPARED, None)
    if loaded is None or loaded["user"] != getattr(user, "pk", None):
        return None
    return loaded


def _is_case_item(item: Any) -> bool:
    return getattr(item, "source_type", "") == SOURCE_TYPE and str(getattr(item, "source_id", "")).isdigit()


@dataclass
class _Batch:
    """The agenda's items this person sees in full, and (once the first of them is rendered) their reviews and
    rosters. Loaded lazily: a page that shows no case (the live page between cases, a person who sees none)
    never reads the reviews or the roster of the whole room."""

    full: list[Any]
    details: dict[int, tuple[CaseReview | None, list[RosterRow]]] | None = None


def prepare_items(request: HttpRequest, items: list[Any]) -> None:
    """Load, for a whole agenda, what the access check of each case-review item reads: the cases, and the
    reader's permissions on them (taskforce.permissions, one query for all). The reviews and rosters wait for
    the first render_item that shows a case (_details). A fixed number of queries however many case-review
    items the agenda holds.

    Not permissions.holds columns on the case query: measured at size L, its four EXISTS cost more to build and
    to plan (about 2.5 ms CPU and 5 ms wall a request) than the separate query saves."""
    user = request.user
    items = [item for item in items if _is_case_item(item)]
    if not items:
        return
    by_pk = Case.objects.filter(pk__in={int(item.source_id) for item in items}).select_related(
        "lead__agency", "taskforce"
    )
    cases = {case.pk: case for case in by_pk}
    perms = permissions.perms_on_each(user, list(cases.values()))
    batch = _Batch(full=[])
    for item in items:
        case = cases.get(int(item.source_id))
        if case is not None and case.taskforce_id != item.taskforce_id:
            case = None
        held = set(perms[case.pk]) if case is not None else set()
        if "view_case_full" in held:
            batch.full.append(item)
        setattr(item, PREPARED, {"user": user.pk, "case": case, "perms": held, "batch": batch})


def _details(batch: _Batch) -> dict[int, tuple[CaseReview | None, list[RosterRow]]]:
    """Review and roster of every item of the batch (item pk -> (review, roster)), read on first need."""
    if batch.details is not None:
        return batch.details
    case_of = {item.pk: getattr(item, PREPARED)["case"] for item in batch.full}
    reviews: dict[tuple[int, int], CaseReview] = {}
    found = CaseReview.objects.filter(
        agenda_item__in=list(case_of), case__in={case.pk for case in case_of.values()}
    ).prefetch_related("recommendations")
    for review in found:  # Meta ordering: the first per (case, item) is what .first() would give
        reviews.setdefault((review.case_id, review.agenda_item_id), review)
    pairs = {(case_of[item.pk].pk, item.meeting_id) for item in batch.full if item.meeting_id}
    # Names and a flag per attendee, no case content: cached until anything is written (taskforce.freshness). The
    # reviews above are not (their text is encrypted in the database and must not sit decrypted in the cache).
    key = "review-rosters:" + ";".join(f"{case_pk}.{meeting_id}" for case_pk, meeting_id in sorted(pairs))
    rosters = freshness.cached(key, lambda: _rosters(pairs))
    batch.details = {
        item.pk: (
            reviews.get((case_of[item.pk].pk, item.pk)),
            rosters.get((case_of[item.pk].pk, item.meeting_id), []),
        )
        for item in batch.full
    }
    return batch.details


def _may_take_part(case_pk: int) -> models.Expression:
    """Whether an attendance row's person takes part in the case's review, as a column of the attendance query:
    as selectors.people_with, an active person holding full access by name or through a group. Uncorrelated
    subqueries (PostgreSQL reads each once, as a hashed set), not an EXISTS per attendee."""
    direct = CaseUserObjectPermission.objects.filter(
        content_object_id=case_pk, permission__codename="view_case_full", user__is_active=True
    ).values("user_id")
    grouped = CaseGroupObjectPermission.objects.filter(
        content_object_id=case_pk, permission__codename="view_case_full", group__user__is_active=True
    ).values("group__user")
    eligible = models.Q(person__in=direct) | models.Q(person__in=grouped)
    return models.ExpressionWrapper(eligible, output_field=models.BooleanField())


def _rosters(pairs: set[tuple[int, int]], *, people: bool = False) -> dict[tuple[int, int], list[RosterRow]]:
    """The roster of each (case pk, meeting id): the meeting's attendees, each marked whether they may take part
    in that case's review. One query for all: the eligibility is a column per case of the attendance query.

    `people`: read each attendee's User too (RosterRow.person; the review form proposes them as participants).
    Without it person is None: the agenda shows names only, and a roster counts hundreds of rows at a
    statewide size."""
    from meetings.models import ATTENDED, Attendance

    if not pairs:
        return {}
    columns = {f"may_take_part_{case_pk}": _may_take_part(case_pk) for case_pk in {case_pk for case_pk, _ in pairs}}
    rows = (
        Attendance.objects.filter(meeting_id__in={meeting_id for _, meeting_id in pairs})
        .annotate(**columns)
        .order_by("organization", "name")
    )
    shown = ("meeting_id", "person_id", "name", "organization", "status", *columns)
    if people:
        records = [(*(getattr(row, name) for name in shown), row.person) for row in rows.select_related("person")]
    else:
        # Tuples, not model instances: hundreds of attendees at a statewide size, and the agenda needs five values.
        records = [(*values, None) for values in rows.values_list(*shown)]
    rosters: dict[tuple[int, int], list[RosterRow]] = {pair: [] for pair in pairs}
    for meeting_id, person_id, name, organization, status, *flags, person in records:
        eligible = dict(zip(columns, flags, strict=True))
        attended = status in ATTENDED
        for case_pk, pair_meeting_id in pairs:
            if pair_meeting_id == meeting_id:
                may_take_part = bool(person_id and eligible[f"may_take_part_{case_pk}"])
                rosters[case_pk, meeting_id].append(RosterRow(name, organization, person, may_take_part, attended))
    return rosters


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
    person: Any  # the User, when the roster was read with people=True (review_roster); else None
    may_take_part: bool
    attended: bool = False


def roster_badges(roster: list[RosterRow]) -> str:
    """The case-review item's roster (partials/review_item.html): one badge per attendee, marked whether they may
    take part. Built here rather than in the template: a statewide meeting's roster has hundreds of rows, and the
    template engine's loop was most of the agenda page's time. Every value is escaped with html.escape."""
    may = (escape(_("May take part")), escape(_("may take part")))
    may_not = (escape(_("No access: does not take part")), escape(_("does not take part")))
    badges = []
    for row in roster:
        if row.may_take_part:
            style, mark, (title, hidden) = "text-bg-success", "✓", may
        else:
            style, mark, (title, hidden) = "text-bg-light border text-muted", "✕", may_not
        badges.append(
            f'<span class="badge {style} me-1" title="{title}">{mark} {escape(row.name)}'
            f'<span class="visually-hidden"> {hidden}</span></span>'
        )
    return mark_safe("".join(badges))  # noqa: S308 - every value above is escaped


def review_roster(case: Case, item: Any) -> list[RosterRow]:
    """The meeting's attendees, each marked whether they may take part in this case's review: those whose
    access to the case is full (their agency's grant under an active release, or a grant by name)."""
    return _rosters({(case.pk, item.meeting_id)}, people=True).get((case.pk, item.meeting_id), [])


def may_review(user: Any, item: Any) -> bool:
    """Whether `user` may see this case-review item: full access to the case, decided by its grants."""
    loaded = _prepared(item, user)
    if loaded is not None:
        return loaded["case"] is not None and "view_case_full" in loaded["perms"]
    case = case_for_item(item)
    return case is not None and "view_case_full" in selectors.case_perms(user, case)


def render_items(request: HttpRequest, items: list[Any]) -> dict[int, str]:
    """The partial shown in place of each case-review item (item pk -> HTML), for the items a page shows.

    Every case shown in full is an audited read of it; the reads are written together, in one INSERT, so an
    agenda with many case reviews costs the same number of queries as one with a single review.
    """
    html: dict[int, str] = {}
    reads: list[tuple[Case, dict[str, Any]]] = []
    for item in items:
        html[item.pk], read = _render_item(request, item)
        if read is not None:
            reads.append(read)
    audit.record_many("case.viewed", reads, request=request)
    return html


def _render_item(request: HttpRequest, item: Any) -> tuple[str, tuple[Case, dict[str, Any]] | None]:
    """One item's partial, and the read of its case to audit (None when the case is not shown)."""
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
        return render_to_string("cases/partials/restricted_item.html", {}), None
    if loaded is not None:
        review, roster = _details(loaded["batch"])[item.pk]
    else:
        review = case.reviews.filter(agenda_item=item).prefetch_related("recommendations").first()
        roster = review_roster(case, item) if item.meeting_id else []
    read = (case, {"level": "full", "via": "meeting", "agenda_item": item.pk})
    return render_to_string(
        "cases/partials/review_item.html",
        {
            "case": case,
            "item": item,
            "review": review,
            "can_contribute": "contribute_case" in perms,
            "roster": roster,
            "roster_badges": roster_badges(roster),
            "taskforce": case.taskforce,
        },
    ), read


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
    hooks.register_case_item_renderer(render_items)
    hooks.register_case_minutes(reviews_for_minutes)
    if hasattr(hooks, "register_case_items_prepare"):
        hooks.register_case_items_prepare(prepare_items)
