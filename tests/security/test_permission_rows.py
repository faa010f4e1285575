"""Permission rows never outlive what they protect, and live only in the direct foreign-key tables.

django-guardian's generic tables (guardian.UserObjectPermission / GroupObjectPermission) point at objects by a
text id: deleting the object leaves the row behind, and a new object that reuses the id inherits it. We keep
every object permission in a direct foreign-key table per guarded model (taskforce/permissions.py), whose
rows go with their object. Withdrawing an agency, offboarding a person, revoking a case grant or release and
removing an MOU party each take their rows away at once (tests/members/test_access.py covers the first two
through the pages).
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone
from guardian.models import (
    GroupObjectPermission,
    GroupObjectPermissionBase,
    UserObjectPermission,
    UserObjectPermissionBase,
)

from cases import services as cases
from cases.models import Case, Level
from meetings import services as meetings
from meetings.models import Meeting, Series
from members import services as members
from members.models import Invitation, Membership
from mous import services as mous
from mous.models import Mou
from taskforce.models import TaskForce
from tests.cases.world import build_world as build_case_world
from tests.cast import Cast
from tests.mous.matrix_entries import build_world as build_mou_world

pytestmark = pytest.mark.usefixtures("plain_settings")


def direct_tables() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if issubclass(model, GroupObjectPermissionBase | UserObjectPermissionBase)
        and model not in (GroupObjectPermission, UserObjectPermission)
    ]


def rows_on(obj: models.Model) -> int:
    """Permission rows of any kind, direct or generic, that point at `obj`."""
    direct = sum(
        model.objects.filter(content_object_id=obj.pk).count()
        for model in direct_tables()
        if model._meta.get_field("content_object").related_model is type(obj)
    )
    generic = sum(
        model.objects.filter(content_type__model=obj._meta.model_name, object_pk=str(obj.pk)).count()
        for model in (UserObjectPermission, GroupObjectPermission)
    )
    return direct + generic


def _series(cast: Cast) -> Series:
    return meetings.series_create(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Monthly",
        frequency="weekly",
        starts_on=timezone.localdate() + timedelta(days=3),
        start_time=time(10),
        end_time=time(11),
        time_zone="America/New_York",
        count=2,
    )


def _meeting(cast: Cast) -> Meeting:
    return meetings.meeting_create(
        taskforce=cast.taskforce,
        actor=cast.facilitator,
        title="One-off",
        day=timezone.localdate() + timedelta(days=5),
        start_time=time(10),
        end_time=time(11),
        time_zone="America/New_York",
    )


def _invitation(cast: Cast) -> Invitation:
    return members.invitation_create(
        membership=cast.agency_a, actor=cast.liaison_a, email="dee@sheriff.example.org", full_name="Dee", role="member"
    )


# Every kind of object that holds permission rows, and how to make one in the Harbor cast.
GUARDED = {
    "taskforce": lambda cast: cast.taskforce,
    "membership": lambda cast: cast.agency_a,
    "invitation": _invitation,
    "mou": lambda cast: build_mou_world(cast).mou,
    "meeting": _meeting,
    "series": _series,
    "case": lambda cast: build_case_world(cast).case,
}


@pytest.fixture
def cast(shared_cast):
    return shared_cast


def test_every_guarded_model_has_its_direct_tables_and_they_cascade():
    guarded: dict[type[models.Model], set[str]] = {}
    for model in direct_tables():
        field = model._meta.get_field("content_object")
        assert field.remote_field.on_delete is models.CASCADE, f"{model.__name__} keeps rows of deleted objects"
        for principal in ("user", "group"):
            if principal in {f.name for f in model._meta.fields}:
                on_delete = model._meta.get_field(principal).remote_field.on_delete
                assert on_delete is models.CASCADE, f"{model.__name__}.{principal}"
        kind = "user" if issubclass(model, UserObjectPermissionBase) else "group"
        guarded.setdefault(field.related_model, set()).add(kind)
    assert guarded == {
        model: {"user", "group"} for model in (TaskForce, Membership, Invitation, Mou, Meeting, Series, Case)
    }


def test_a_full_world_writes_no_row_to_the_generic_tables(cast):
    for build in GUARDED.values():
        build(cast)
    assert sum(model.objects.count() for model in direct_tables()) > 50
    assert UserObjectPermission.objects.count() == 0
    assert GroupObjectPermission.objects.count() == 0


@pytest.mark.parametrize("kind", sorted(GUARDED))
def test_deleting_a_guarded_object_deletes_its_permission_rows(kind, cast):
    obj = GUARDED[kind](cast)
    assert rows_on(obj) > 0, f"a {kind} is guarded by rows"
    if kind == "membership":
        # The case world's agencies are PROTECTed by their cases; this agency leads none.
        Membership.objects.get(pk=obj.pk).delete()
    elif kind == "taskforce":
        TaskForce.objects.get(pk=obj.pk).delete()
    else:
        type(obj).objects.get(pk=obj.pk).delete()
    assert rows_on(obj) == 0


# --- revoking ends the rows at once -------------------------------------------------------------------------


def _case_rows_of(case: Case, membership: Membership) -> set[str]:
    return set(
        case.casegroupobjectpermission_set.filter(group=membership.group).values_list("permission__codename", flat=True)
    )


def test_revoking_a_case_grant_takes_its_rows_away(cast):
    world = build_case_world(cast)
    assert "view_case_full" in _case_rows_of(world.case, cast.agency_a)
    cases.grant_revoke(grant=world.grant, actor=cast.liaison_b, reason="Investigation closed")
    # Involved in the case, the Sheriff's Office keeps knowing it exists, and nothing more.
    assert _case_rows_of(world.case, cast.agency_a) == {"view_case"}


def test_revoking_a_release_takes_the_rows_it_justified_away(cast):
    world = build_case_world(cast)
    cases.release_revoke(release=world.release, actor=cast.liaison_b, reason="Guardian withdrew consent")
    assert _case_rows_of(world.case, cast.agency_a) == {"view_case"}


def test_a_grant_to_a_person_ends_with_their_offboarding(cast):
    world = build_case_world(cast)
    cases.grant_create(
        case=world.case,
        actor=cast.liaison_b,
        level=Level.SUMMARY,
        justification="Coordinates the placement",
        person=cast.coordinator,
    )
    assert world.case.caseuserobjectpermission_set.filter(user=cast.coordinator).exists()
    members.person_offboard(taskforce=cast.taskforce, person=cast.coordinator, actor=cast.admin)
    assert not world.case.caseuserobjectpermission_set.filter(user=cast.coordinator).exists()


def test_removing_an_mou_party_takes_its_rows_away(cast):
    mou = mous.mou_create(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Draft", parties=[cast.agency_a, cast.agency_b]
    )
    held = mou.mougroupobjectpermission_set.filter(group__in=[cast.agency_a.group, cast.agency_a.liaison_group])
    assert held.exists()
    mous.mou_set_parties(mou=mou, actor=cast.coordinator, parties=[cast.agency_b])
    assert not held.exists()


def test_withdrawing_an_agency_leaves_none_of_its_rows_anywhere(cast):
    build_case_world(cast)
    build_mou_world(cast)
    _invitation(cast)
    groups = [cast.agency_a.group, cast.agency_a.liaison_group]
    held = [model.objects.filter(group__in=groups) for model in direct_tables() if hasattr(model, "group")]
    assert sum(rows.count() for rows in held) > 5
    members.membership_withdraw(membership=cast.agency_a, actor=cast.coordinator, reason="Leaving")
    assert [rows.model.__name__ for rows in held if rows.exists()] == []
