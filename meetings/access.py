"""Who may schedule, facilitate and see restricted agenda content. Views ask here; templates get flags."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from meetings import hooks
from meetings.models import AgendaItem, ItemType, Meeting
from taskforce import permissions
from taskforce.models import TaskForce

FACILITATE = "meetings.change_meeting"
MANAGE_WORK = "taskforce.manage_work"


def can_schedule(user: Any, taskforce: TaskForce, *, request: HttpRequest | None = None) -> bool:
    """Facilitators and coordinators of the task force (and site admins) create series and meetings.

    That is who holds taskforce.manage_work on it (taskforce.services gives it to exactly those two groups).
    Given the request, the answer comes from the permissions the base layout already read for it: no query.
    """
    if request is not None and request.user is user:
        return MANAGE_WORK.split(".", 1)[1] in permissions.request_perms(request, taskforce)
    return permissions.has_perm(user, MANAGE_WORK, taskforce)


def require_schedule(request: HttpRequest, taskforce: TaskForce) -> None:
    if not can_schedule(request.user, taskforce, request=request):
        permissions.deny(request, taskforce, "meetings.add_meeting")


def can_facilitate(user: Any, meeting: Meeting) -> bool:
    return permissions.has_perm(user, FACILITATE, meeting)


def can_see_item(user: Any, item: AgendaItem, *, facilitating: bool) -> bool:
    """Whether this person may see the item's title and content.

    An item brought from a case (source "cases.*") is decided by the cases app alone, facilitators
    included: only those with access to that case see it. Other restricted items: the facilitators and
    coordinators, the presenter, the submitter and the people named on the item.
    """
    check = hooks.case_item_access()
    if check is not None and item.item_type == ItemType.CASE_REVIEW and item.source_type.startswith("cases."):
        return bool(check(user, item))
    if not item.is_restricted:
        return True
    if facilitating:
        return True
    uid = getattr(user, "pk", None)
    if uid is None:
        return False
    if uid in (item.presenter_id, item.submitted_by_id):
        return True
    return uid in item.restricted_viewer_ids


def can_see_restricted_minutes(user: Any, meeting: Meeting, *, facilitating: bool | None = None) -> bool:
    """`facilitating`: can_facilitate(user, meeting) when the caller has just asked it (saves the query)."""
    return can_facilitate(user, meeting) if facilitating is None else facilitating
