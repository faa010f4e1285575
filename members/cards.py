"""What the members app puts on each person's task-force dashboard."""

from __future__ import annotations

from django.http import HttpRequest

from members import selectors
from members.models import Membership, MembershipStatus
from taskforce import permissions
from taskforce.dashboard import Card
from taskforce.models import TaskForce


def member_cards(request: HttpRequest, taskforce: TaskForce) -> list[Card]:
    user = request.user
    cards: list[Card] = []
    if permissions.has_perm(user, "taskforce.manage_members", taskforce):
        rows = selectors.sector_coverage(taskforce)
        cards.append(
            Card(
                "members/cards/coordinator.html",
                {
                    "counts": selectors.membership_counts(taskforce),
                    "coverage": selectors.coverage_counts(rows),
                    "gaps": [row for row in rows if row.state != "covered"],
                    "invitations": list(selectors.open_invitations(taskforce)[:8]),
                    "incomplete": selectors.incomplete_profiles(taskforce),
                },
                order=10,
            )
        )
    own = Membership.objects.filter(taskforce=taskforce, agency_id=user.agency_id).select_related("agency").first()
    if own is not None and own.status != MembershipStatus.WITHDRAWN:
        can_edit = permissions.has_perm(user, "members.change_membership", own)
        cards.append(Card("members/cards/my_agency.html", {"membership": own, "can_edit": can_edit}, order=20))
    return cards
