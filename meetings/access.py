"""Who may schedule, facilitate and see restricted agenda content. Views ask here; templates get flags."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from meetings import hooks
from meetings.models import AgendaItem, ItemType, Meeting
from taskforce import audit, permissions
from taskforce.models import TaskForce

FACILITATE = "meetings.change_meeting"


def can_schedule(user: Any, taskforce: TaskForce) -> bool:
    """Facilitators and coordinators of the task force (and site admins) create series and meetings."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(pk__in=[taskforce.facilitators_id, taskforce.coordinators_id]).exists()


def require_schedule(request: HttpRequest, taskforce: TaskForce) -> None:
    if not can_schedule(request.user, taskforce):
        audit.record("access.forbidden", request=request, obj=taskforce, perm="meetings.add_meeting")
        raise permissions.PermissionDenied403("meetings.add_meeting")


def can_facilitate(user: Any, meeting: Meeting) -> bool:
    return permissions.has_perm(user, FACILITATE, meeting)


def can_see_item(user: Any, item: AgendaItem, *, facilitating: bool) -> bool:
    """Restricted items: the facilitators and coordinators, the people named on the item, and whoever the
    cases app says may see a case under review."""
    if item.item_type == ItemType.CASE_REVIEW and (check := hooks.case_item_access()) is not None:
        if check(user, item):
            return True
    if not item.is_restricted:
        return item.item_type != ItemType.CASE_REVIEW or hooks.case_item_access() is None or facilitating
    if facilitating:
        return True
    uid = getattr(user, "pk", None)
    if uid is None:
        return False
    if uid in (item.presenter_id, item.submitted_by_id):
        return True
    return any(viewer.pk == uid for viewer in item.restricted_viewers.all())


def can_see_restricted_minutes(user: Any, meeting: Meeting) -> bool:
    return can_facilitate(user, meeting)
