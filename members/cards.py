"""What the members app puts on each person's task-force dashboard."""

from __future__ import annotations

from django.db.models import BooleanField, Case, Value, When
from django.http import HttpRequest

from members import selectors
from members.models import Membership, MembershipStatus
from taskforce import permissions
from taskforce.dashboard import Card
from taskforce.models import TaskForce


def member_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    user = request.user
    cards: list[Card] = []
    own = None
    can_edit = permissions.holds(user, "members.change_membership", Membership)
    if "manage_members" in permissions.request_perms(request, taskforce):  # asked once per request
        # Every membership once (with its agency): the coverage, the counts, the incomplete profiles and the
        # person's own agency all come from this one list, as selectors.membership_counts and
        # incomplete_profiles would read them.
        # Whether the person may edit their own agency's membership comes with it (has_perm's answer), for their
        # own agency's card. Only that row asks it: the CASE leaves the two permission lookups unevaluated for the
        # others (tens of agencies at a statewide size).
        own_can_edit = Case(
            When(agency_id=user.agency_id, then=can_edit), default=Value(False), output_field=BooleanField()
        )
        memberships = list(
            Membership.objects.filter(taskforce=taskforce).select_related("agency").annotate(_can_edit=own_can_edit)
        )
        rows = selectors.sector_coverage(taskforce, memberships)
        counts = {
            "active": sum(1 for m in memberships if m.status == MembershipStatus.ACTIVE),
            "invited": sum(1 for m in memberships if m.status == MembershipStatus.INVITED),
            "withdrawn": sum(1 for m in memberships if m.status == MembershipStatus.WITHDRAWN),
        }
        cards.append(
            Card(
                "members/cards/coordinator.html",
                {
                    "counts": counts,
                    "coverage": selectors.coverage_counts(rows),
                    "gaps": [row for row in rows if row.state != "covered"],
                    "invitations": list(selectors.open_invitations(taskforce)[:8]),
                    "incomplete": [
                        m for m in memberships if m.status == MembershipStatus.ACTIVE and not m.profile_complete
                    ],
                },
                order=10,
            )
        )
        if user.agency_id is not None:
            own = next((m for m in memberships if m.agency_id == user.agency_id), None)
    else:
        own = (
            Membership.objects.filter(taskforce=taskforce, agency_id=user.agency_id)
            .select_related("agency")
            .annotate(_can_edit=can_edit)
            .first()
        )
    if own is not None and own.status != MembershipStatus.WITHDRAWN:
        cards.append(Card("members/cards/my_agency.html", {"membership": own, "can_edit": own._can_edit}, order=20))
    return cards
