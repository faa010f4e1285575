"""Read queries for the directory, sector coverage and dashboards. Constant query counts per page."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import (
    Goal,
    Invitation,
    Membership,
    MembershipStatus,
    Role,
    Sector,
    Subcommittee,
    TaskForceRole,
    TrainingAttendance,
    TrainingKind,
    TrainingTopic,
    User,
)
from taskforce.models import TaskForce


def memberships_for_directory(taskforce: TaskForce, filters: dict[str, Any] | None = None) -> QuerySet[Membership]:
    filters = filters or {}
    people = User.objects.filter(taskforce_roles__taskforce=taskforce).distinct().order_by("full_name")
    queryset = (
        Membership.objects.filter(taskforce=taskforce)
        .select_related("agency", "liaison", "alternate_liaison", "signatory")
        .prefetch_related(Prefetch("agency__people", queryset=people, to_attr="taskforce_people"))
        .order_by("agency__name")
    )
    if filters.get("sector"):
        queryset = queryset.filter(agency__sector=filters["sector"])
    if filters.get("level"):
        queryset = queryset.filter(agency__level=filters["level"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("jurisdiction"):
        queryset = queryset.filter(agency__jurisdiction__icontains=filters["jurisdiction"])
    if filters.get("q"):
        term = filters["q"]
        queryset = queryset.filter(
            Q(agency__name__icontains=term)
            | Q(agency__jurisdiction__icontains=term)
            | Q(agency__people__full_name__icontains=term, agency__people__taskforce_roles__taskforce=taskforce)
            | Q(agency__people__email__icontains=term, agency__people__taskforce_roles__taskforce=taskforce)
        ).distinct()
    return queryset


def roles_by_person(taskforce: TaskForce) -> dict[int, list[str]]:
    """Role labels per person id; "Member" is left out where a person holds a more specific role."""
    held: dict[int, list[str]] = {}
    for user_id, role in TaskForceRole.objects.filter(taskforce=taskforce).values_list("user_id", "role"):
        held.setdefault(user_id, []).append(role)
    order = [Role.COORDINATOR, Role.FACILITATOR, Role.LIAISON, Role.MEMBER]
    # Translated once per call, not once per person: a statewide task force has hundreds of people.
    names = {role: str(Role(role).label) for role in order}
    labels: dict[int, list[str]] = {}
    for user_id, roles in held.items():
        specific = [role for role in order if role in roles and role != Role.MEMBER]
        labels[user_id] = [names[role] for role in (specific or [Role.MEMBER])]
    return labels


@dataclass
class SectorRow:
    sector: str
    label: str
    memberships: list[Membership] = field(default_factory=list)

    @property
    def active(self) -> list[Membership]:
        return [m for m in self.memberships if m.status == MembershipStatus.ACTIVE]

    @property
    def state(self) -> str:
        """covered: an active agency with a liaison; no_liaison: present but nobody to call; missing."""
        if any(m.liaison_id for m in self.active):
            return "covered"
        if self.memberships and any(m.status != MembershipStatus.WITHDRAWN for m in self.memberships):
            return "no_liaison"
        return "missing"


def sector_coverage(taskforce: TaskForce, memberships: list[Membership] | None = None) -> list[SectorRow]:
    """Rows by sector; `memberships` (all of the task force's, with their agency) when the caller has them."""
    if memberships is None:
        memberships = Membership.objects.filter(taskforce=taskforce).select_related("agency")
    rows = {value: SectorRow(value, label) for value, label in Sector.choices}
    for membership in memberships:
        rows[membership.agency.sector].memberships.append(membership)
    return list(rows.values())


def coverage_counts(rows: list[SectorRow]) -> dict[str, int]:
    counts = {"covered": 0, "no_liaison": 0, "missing": 0}
    for row in rows:
        counts[row.state] += 1
    return counts


def open_invitations(taskforce: TaskForce) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(taskforce=taskforce, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("membership__agency", "invited_by")
        .order_by("expires_at")
    )


def membership_counts(taskforce: TaskForce) -> dict[str, int]:
    return Membership.objects.filter(taskforce=taskforce).aggregate(
        active=Count("pk", filter=Q(status=MembershipStatus.ACTIVE)),
        invited=Count("pk", filter=Q(status=MembershipStatus.INVITED)),
        withdrawn=Count("pk", filter=Q(status=MembershipStatus.WITHDRAWN)),
    )


def incomplete_profiles(taskforce: TaskForce) -> list[Membership]:
    memberships = Membership.objects.filter(taskforce=taskforce, status=MembershipStatus.ACTIVE).select_related(
        "agency"
    )
    return [m for m in memberships if not m.profile_complete]


# --- action plan and training -------------------------------------------------------------------


def people_of_taskforce(taskforce: TaskForce) -> QuerySet[User]:
    return (
        User.objects.filter(taskforce_roles__taskforce=taskforce, is_active=True)
        .select_related("agency")
        .distinct()
        .order_by("agency__name", "full_name")
    )


@dataclass
class MatrixCell:
    completed_on: date | None
    expires_on: date | None

    @property
    def state(self) -> str:
        if self.completed_on is None:
            return "missing"
        return "expired" if self.expires_on and self.expires_on < timezone.localdate() else "current"


@dataclass
class MatrixRow:
    person: User
    cells: list[MatrixCell]

    @property
    def gaps(self) -> int:
        return sum(1 for cell in self.cells if cell.state != "current")


@dataclass
class GapSummary:
    label: str
    people: int
    gaps: int
    possible: int

    @property
    def coverage(self) -> int:
        return round(100 * (self.possible - self.gaps) / self.possible) if self.possible else 0


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def training_matrix(taskforce: TaskForce) -> tuple[list[TrainingTopic], list[MatrixRow]]:
    """People by core topic: the latest training each completed, and whether it has expired. Three queries."""
    topics = list(TrainingTopic.objects.filter(taskforce=taskforce, is_core=True).order_by("name"))
    latest = {
        (row["person_id"], row["event__topics"]): row["last"]
        for row in TrainingAttendance.objects.filter(event__taskforce=taskforce, event__topics__in=topics)
        .exclude(event__kind=TrainingKind.TEAM_ACTIVITY)
        .values("person_id", "event__topics")
        .annotate(last=Max("event__held_on"))
    }
    rows = []
    for person in people_of_taskforce(taskforce):
        cells = []
        for topic in topics:
            done = latest.get((person.pk, topic.pk))
            cells.append(MatrixCell(done, _add_months(done, topic.valid_for_months) if done else None))
        rows.append(MatrixRow(person, cells))
    return topics, rows


def training_gaps(rows: list[MatrixRow], topics: list[TrainingTopic]) -> dict[str, list[GapSummary]]:
    """Where training is missing or expired, by agency and by sector, worst first."""
    by: dict[str, dict[str, GapSummary]] = {"agency": {}, "sector": {}}
    for row in rows:
        agency = row.person.agency
        keys = {
            "agency": agency.name if agency else str(_("No agency")),
            "sector": agency.sector_label if agency else str(_("No agency")),
        }
        for dimension, label in keys.items():
            summary = by[dimension].setdefault(label, GapSummary(label, 0, 0, 0))
            summary.people += 1
            summary.gaps += row.gaps
            summary.possible += len(topics)
    return {dimension: sorted(values.values(), key=lambda s: (s.coverage, s.label)) for dimension, values in by.items()}


def goals_with_progress(taskforce: TaskForce) -> QuerySet[Goal]:
    return Goal.objects.filter(taskforce=taskforce).prefetch_related("subcommittees")


def subcommittees_of(taskforce: TaskForce) -> QuerySet[Subcommittee]:
    return (
        Subcommittee.objects.filter(taskforce=taskforce)
        .select_related("chair__agency")
        .prefetch_related("goals", Prefetch("members", queryset=User.objects.select_related("agency")))
    )
