"""Append-only audit trail: who did what to which object, when and from where.

Every write goes through `record` (or `record_many`: the same event about several objects, one INSERT). Nothing in the application updates or deletes an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest

from taskforce.models import AuditEvent, TaskForce


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # Behind the production proxy the first X-Forwarded-For hop is the client; the proxy sets it.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    candidate = forwarded.split(",")[0].strip() if forwarded else request.META.get("REMOTE_ADDR", "")
    return candidate or None


def record(
    action: str,
    *,
    actor: Any = None,
    obj: models.Model | None = None,
    taskforce: TaskForce | None = None,
    request: HttpRequest | None = None,
    **detail: Any,
) -> AuditEvent:
    """Write one event. `actor` may be a user, an anonymous user or None (the system)."""
    event = _event(action, actor=actor, obj=obj, taskforce=taskforce, request=request, **detail)
    event.save(force_insert=True)
    return event


def record_many(
    action: str,
    about: Iterable[tuple[models.Model, dict[str, Any]]],
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> list[AuditEvent]:
    """The same event about several objects (e.g. each case a page shows), written in one INSERT.

    `about`: (object, its event's detail) pairs. Each event is exactly what `record` would write for it.
    """
    events = [_event(action, actor=actor, obj=obj, request=request, **detail) for obj, detail in about]
    return AuditEvent.objects.bulk_create(events) if events else []


def _event(
    action: str,
    *,
    actor: Any = None,
    obj: models.Model | None = None,
    taskforce: TaskForce | None = None,
    request: HttpRequest | None = None,
    **detail: Any,
) -> AuditEvent:
    """The unsaved event `record` and `record_many` write."""
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    authenticated = bool(actor is not None and getattr(actor, "is_authenticated", False))
    if taskforce is None and obj is not None:
        taskforce = obj if isinstance(obj, TaskForce) else getattr(obj, "taskforce", None)
    return AuditEvent(
        actor=actor if authenticated else None,
        actor_label=(actor.email if authenticated else detail.pop("actor_label", "")) or "",
        action=action,
        taskforce=taskforce,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=str(obj)[:255] if obj is not None else "",
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else ""),
        detail=detail,
    )
