"""Read queries for cases. Every list starts from `permissions.visible_to`, so what you may not see is not there.

Cases are in permissions.NO_SUPERUSER_BYPASS: a site admin holds a real grant or sees nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from cases.models import (
    VIEW,
    VIEW_FULL,
    Case,
    CaseAgency,
    CaseGroupObjectPermission,
    CaseReview,
    CaseUserObjectPermission,
    FollowUp,
)
from members.models import Membership
from taskforce import permissions
from taskforce.models import TaskForce

SORTS = {
    "updated": "-updated_at",
    "number": "number",
    "status": "status",
    "opened": "-created_at",
}


def case_perms(user: Any, case: Case) -> set[str]:
    """The codenames `user` holds on `case` (own rows and groups' rows; no superuser bypass for cases)."""
    return permissions.perms_on(user, case)


def visible_cases(user: Any, taskforce: TaskForce) -> QuerySet[Case]:
    """The task force's cases `user` may know exist (summary level or more), in one SQL query."""
    return permissions.visible_to(user, VIEW, Case.objects.filter(taskforce=taskforce))


# The columns a case list shows. Not the narrative: it is encrypted (decrypting it per row is the list's
# largest cost after rendering) and a list never shows it.
LIST_COLUMNS = ("number", "label", "age_band", "trafficking_type", "status", "confidentiality", "updated_at", "lead")


def case_list(user: Any, taskforce: TaskForce, filters: dict[str, Any], *, mine: bool = False) -> QuerySet[Case]:
    """The cases `user` may see, filtered and sorted, with `lead_agency_name` for each row.

    The lead agency's name is a subquery of the row, not a join: PostgreSQL then reads it for the page's rows
    only, after sorting, where a join read it for every visible case first (thousands at a statewide size).
    """
    lead_agency = Membership.objects.filter(pk=OuterRef("lead_id")).order_by().values("agency__name")
    cases = visible_cases(user, taskforce).only(*LIST_COLUMNS).annotate(lead_agency_name=Subquery(lead_agency))
    if mine:
        # "My cases": those my agency leads or is involved in, and those shared with me by name. Subqueries,
        # not joins: a join repeats a case per involved agency and needs a DISTINCT over every column, which
        # at a statewide size sorts thousands of rows for every page of 25.
        # The lead as a subquery of my agency's memberships too: `lead__agency_id` joined every visible case
        # to its membership before filtering (a third of the query's reads at bench size L).
        leading = Membership.objects.filter(agency_id=user.agency_id).values("pk")
        involved = CaseAgency.objects.filter(membership__agency_id=user.agency_id).values("case_id")
        named = CaseUserObjectPermission.objects.filter(user=user).values("content_object_id")
        cases = cases.filter(Q(lead__in=leading) | Q(pk__in=involved) | Q(pk__in=named))
    if filters.get("status"):
        cases = cases.filter(status=filters["status"])
    if filters.get("trafficking_type"):
        cases = cases.filter(trafficking_type=filters["trafficking_type"])
    if filters.get("agency"):
        involved = CaseAgency.objects.filter(membership=filters["agency"]).values("case_id")
        cases = cases.filter(Q(lead=filters["agency"]) | Q(pk__in=involved))
    if filters.get("due"):
        due = FollowUp.objects.filter(
            case=OuterRef("pk"), status=FollowUp.Status.OPEN, due_on__lte=timezone.localdate() + timezone.timedelta(7)
        )
        # Follow-ups are review content: only cases the person sees in full are matched on them.
        full = permissions.visible_to(user, VIEW_FULL, Case.objects.filter(taskforce=taskforce))
        cases = cases.filter(Exists(due), pk__in=full.values("pk"))
    if filters.get("q"):
        # Number and label only: the narrative is encrypted and never searchable.
        term = filters["q"]
        cases = cases.filter(Q(number__icontains=term) | Q(label__icontains=term))
    return cases.order_by(SORTS.get(filters.get("sort") or "updated", "-updated_at"), "-pk")


def reviews_with_recommendations(case: Case) -> list[CaseReview]:
    """The case's reviews, newest first, each with `recommendation_texts`, in one query.

    A LEFT JOIN with one row per recommendation (a review without any comes once, with None), folded back into
    one review each here: the case page's prefetch of the recommendations was a query of its own.
    """
    rows = case.reviews.annotate(recommendation_text=F("recommendations__text")).order_by(
        "-held_on", "pk", "recommendations__text"
    )
    reviews: dict[int, CaseReview] = {}
    for row in rows:
        review = reviews.setdefault(row.pk, row)
        if review is row:
            review.recommendation_texts = []
        if row.recommendation_text is not None:
            review.recommendation_texts.append(row.recommendation_text)
    return list(reviews.values())


def open_follow_ups_due(user: Any, taskforce: TaskForce, *, within_days: int = 7) -> QuerySet[FollowUp]:
    """Follow-ups owned by `user` on cases they can still see, due within the window."""
    return (
        FollowUp.objects.filter(
            owner=user,
            status=FollowUp.Status.OPEN,
            due_on__lte=timezone.localdate() + timezone.timedelta(days=within_days),
            case__in=visible_cases(user, taskforce),
        )
        .select_related("case")
        .order_by("due_on")
    )


def people_with(case: Case, codename: str) -> QuerySet:
    """Active people who hold `codename` on `case` (directly or through a group): who may take part."""
    from members.models import User

    direct = CaseUserObjectPermission.objects.filter(content_object=case, permission__codename=codename)
    grouped = CaseGroupObjectPermission.objects.filter(content_object=case, permission__codename=codename)
    return (
        User.objects.filter(is_active=True)
        .filter(Q(pk__in=direct.values("user_id")) | Q(groups__in=grouped.values("group_id")))
        .distinct()
        .order_by("full_name")
    )


def access_log(case: Case):
    """Every audit event about the case, newest first (reads, exports, grants, refusals)."""
    from taskforce.models import AuditEvent

    # From its creation on: should an id ever be reused, a deleted case's trail does not follow it.
    about_it = Q(object_type="cases.case", object_id=str(case.pk))
    # A 404 is recorded without the object (it was not shown): find it by the id that was asked for.
    refused = Q(action="access.not_found", detail__model="cases.case", detail__lookup__pk=str(case.pk))
    return (
        AuditEvent.objects.filter(about_it | refused, at__gte=case.created_at)
        .select_related("actor")
        .order_by("-at", "-id")
    )


ACTION_LABELS = {
    "case.created": "Opened the case",
    "case.viewed": "Viewed",
    "case.updated": "Edited",
    "case.history_viewed": "Viewed the history",
    "case.exported": "Exported",
    "case.granted": "Shared",
    "case.revoked": "Revoked access",
    "case.share_refused": "Share refused",
    "case.grant_expired": "Access expired",
    "case.release_recorded": "Recorded a release",
    "case.release_revoked": "Revoked a release",
    "case.release_expired": "Release expired",
    "case.access_requested": "Requested access",
    "case.access_approved": "Approved a request",
    "case.access_declined": "Declined a request",
    "case.agency_set": "Set an involved agency",
    "case.review_saved": "Saved a review",
    "case.follow_up_added": "Added a follow-up",
    "case.follow_up_status": "Updated a follow-up",
    "case.proposed_for_review": "Put on a meeting agenda",
    "access.not_found": "Refused (not found)",
    "access.forbidden": "Refused (forbidden)",
}


def effective_access(case: Case) -> list[tuple[Any, str]]:
    """Everyone who can open the case right now and the most they may do, from the guardian rows themselves."""
    levels = [
        ("manage_case_sharing", "Manage sharing"),
        ("contribute_case", "Contribute"),
        ("view_case_full", "Full case"),
        ("view_case", "Summary"),
    ]
    seen: dict[int, tuple[Any, str]] = {}
    for codename, label in levels:
        for person in people_with(case, codename).select_related("agency"):
            seen.setdefault(person.pk, (person, label))
    return sorted(seen.values(), key=lambda row: (row[0].agency.name if row[0].agency_id else "", row[0].full_name))
