"""Navigation context for the base layout: the task force in the URL and the ones to switch to."""

from __future__ import annotations

from django.http import HttpRequest

from taskforce import permissions


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # One query shared with the view's taskforce_for (the person's task-force grants), see visible_taskforces.
    taskforces = permissions.visible_taskforces(request)
    match = getattr(request, "resolver_match", None)
    slug = match.kwargs.get("slug") if match else None
    current = next((tf for tf in taskforces if tf.slug == slug), None)
    nav = {"nav_taskforces": taskforces, "current_taskforce": current}
    if current is not None:
        # Through the request's memo: the view (taskforce_for) or the dashboard's cards already asked.
        nav["nav_can_manage"] = "manage_members" in permissions.request_perms(request, current)
    return nav
