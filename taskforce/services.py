"""Writes on the task force and its charter."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from taskforce import audit, permissions
from taskforce.models import CharterRevision, TaskForce

COORDINATOR_PERMS = (
    "taskforce.view_taskforce",
    "taskforce.edit_charter",
    "taskforce.manage_members",
    "taskforce.manage_work",
)
FACILITATOR_PERMS = ("taskforce.view_taskforce", "taskforce.manage_work")


class StaleEdit(Exception):
    """Someone else saved first. Carries what they saved so nothing is lost."""

    def __init__(self, current: Any) -> None:
        super().__init__(_("Someone else changed this while you were editing."))
        self.current = current


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "taskforce"
    slug, n = base, 2
    while TaskForce.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def taskforce_create(
    *,
    actor: Any,
    name: str,
    region: str = "",
    jurisdiction: str = "",
    established_on: date | None = None,
    meeting_cadence: str = "monthly",
    time_zone: str = "America/New_York",
    mission_statement: str = "",
    shared_values: str = "",
) -> TaskForce:
    slug = _unique_slug(name)
    taskforce = TaskForce(
        name=name,
        slug=slug,
        region=region,
        jurisdiction=jurisdiction,
        meeting_cadence=meeting_cadence,
        time_zone=time_zone,
        mission_statement=mission_statement,
        shared_values=shared_values,
        coordinators=Group.objects.create(name=f"tf:{slug}:coordinators"),
        facilitators=Group.objects.create(name=f"tf:{slug}:facilitators"),
    )
    if established_on:
        taskforce.established_on = established_on
    taskforce.save()
    for perm in COORDINATOR_PERMS:
        permissions.grant(perm, taskforce.coordinators, taskforce)
    for perm in FACILITATOR_PERMS:
        permissions.grant(perm, taskforce.facilitators, taskforce)
    _keep_revision(taskforce, actor)
    audit.record("taskforce.created", actor=actor, obj=taskforce)
    return taskforce


def _keep_revision(taskforce: TaskForce, actor: Any) -> None:
    """Every saved state of the charter is kept, numbered, with who saved it."""
    CharterRevision.objects.create(
        taskforce=taskforce,
        version=taskforce.charter_version,
        mission_statement=taskforce.mission_statement,
        shared_values=taskforce.shared_values,
        meeting_cadence=taskforce.meeting_cadence,
        edited_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


@transaction.atomic
def charter_update(
    *,
    taskforce: TaskForce,
    actor: Any,
    expected_version: int,
    mission_statement: str,
    shared_values: str,
    meeting_cadence: str,
    adopted_on: date | None = None,
) -> TaskForce:
    """Save a new charter as the next numbered revision.

    Optimistic locking: the row is locked and its version compared with the one the editor started
    from, so two coordinators editing at once cannot silently overwrite each other.
    """
    current = TaskForce.objects.select_for_update().get(pk=taskforce.pk)
    if current.charter_version != expected_version:
        raise StaleEdit(current)
    current.mission_statement = mission_statement
    current.shared_values = shared_values
    current.meeting_cadence = meeting_cadence
    current.charter_adopted_on = adopted_on
    current.charter_version += 1
    current.save()
    _keep_revision(current, actor)
    audit.record("charter.updated", actor=actor, obj=current, version=current.charter_version)
    return current
