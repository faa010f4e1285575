"""Access ends when it should and never spreads: withdrawal, offboarding, global permissions, other task
forces, and two coordinators saving the charter at once.
"""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase

from members import services
from members.models import Invitation, Membership, MembershipStatus, Role, TaskForceRole, User
from taskforce import permissions
from taskforce.models import AuditEvent, CharterRevision, TaskForce
from tests.cast import PASSWORD
from tests.security.test_permission_matrix import MATRIX, Expect, urlconf_names

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(shared_cast):
    """Hundreds of tests here share one cast, rebuilt per module; each test still rolls back."""
    return shared_cast


@pytest.fixture(autouse=True)
def _plain_settings(settings):
    settings.REQUIRE_MFA = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "access"}}
    cache.clear()
    yield
    cache.clear()


def sign_in(user: User) -> Client:
    """Sign in through the real form, so allauth records the session like in production."""
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client


def dashboard(cast) -> str:
    return reverse("taskforce:dashboard", args=[cast.taskforce.slug])


def signed_out_or_hidden(response) -> bool:
    if response.status_code == 302:
        return response["Location"].startswith(reverse("account_login"))
    return response.status_code == 404


def group_permission_rows(groups: list[Group]) -> int:
    return sum(
        model.objects.filter(group__in=groups).count()
        for model in apps.get_models()
        if issubclass(model, GroupObjectPermissionBase) or model._meta.label_lower == "guardian.groupobjectpermission"
    )


# Every matrix row the outsider must get a 404 on (everything inside Harbor). One test per row, each in a fresh
# database: a row's builder may create objects that another row's builder would create again.
HARBOR_ROWS = sorted(
    name for name, row in MATRIX.items() if row.audits_404 and row.expect["outsider"] in (404, Expect(404))
)
# Of those, the ones that name an object by id, to try under the outsider's own task force's slug.
OBJECT_ROWS = [name for name in HARBOR_ROWS if "<int:" in urlconf_names()[name]]
APPS = ("taskforce", "members", "mous", "meetings", "cases")


def request_row(client: Client, name: str, kwargs: dict):
    url = reverse(name, kwargs=kwargs)
    return client.post(url) if MATRIX[name].method == "POST" else client.get(url)


# --- an agency withdraws ----------------------------------------------------------------------------------


def test_withdrawing_an_agency_removes_its_grants_and_ends_its_sessions(cast, client_for):
    larry = sign_in(cast.liaison_a)
    assert larry.get(dashboard(cast)).status_code == 200
    assert UserSession.objects.filter(user=cast.liaison_a).exists()
    membership = cast.agency_a
    groups = [membership.group, membership.liaison_group]
    assert group_permission_rows(groups) > 0
    pending = services.invitation_create(
        membership=membership, actor=cast.liaison_a, email="dee@sheriff.example.org", full_name="Dee", role="member"
    )

    response = client_for(cast.coordinator).post(
        reverse("members:withdraw", args=[cast.taskforce.slug, membership.pk]),
        {"reason": "Leaving the task force", "confirm": "on"},
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.WITHDRAWN
    assert group_permission_rows(groups) == 0
    assert not Group.objects.filter(pk__in=[g.pk for g in groups], user__isnull=False).exists()
    assert not TaskForceRole.objects.filter(taskforce=cast.taskforce, user=cast.liaison_a).exists()
    assert not UserSession.objects.filter(user=cast.liaison_a).exists()
    assert Invitation.objects.get(pk=pending.pk).revoked_at is not None
    event = AuditEvent.objects.get(action="membership.withdrawn", object_id=str(membership.pk))
    assert event.actor == cast.coordinator and event.detail["permissions_removed"] > 0

    # The open browser is signed out at once; signing in again shows nothing of Harbor.
    assert signed_out_or_hidden(larry.get(dashboard(cast)))
    again = sign_in(cast.liaison_a)
    assert again.get(dashboard(cast)).status_code == 404
    assert again.get(reverse("members:membership_edit", args=[cast.taskforce.slug, membership.pk])).status_code == 404


def test_withdrawing_one_agency_leaves_the_others_alone(cast, client_for):
    bea = sign_in(cast.liaison_b)
    services.membership_withdraw(membership=cast.agency_a, actor=cast.coordinator, reason="Leaving")
    assert bea.get(dashboard(cast)).status_code == 200
    assert client_for(cast.member_b).get(dashboard(cast)).status_code == 200
    edit_b = reverse("members:membership_edit", args=[cast.taskforce.slug, cast.agency_b.pk])
    assert bea.get(edit_b).status_code == 200


def test_withdrawing_an_agency_leaves_no_access_without_a_role(cast):
    services.membership_withdraw(membership=cast.agency_c, actor=cast.admin, reason="Leaving")
    alice = User.objects.get(pk=cast.coordinator.pk)
    roles = set(TaskForceRole.objects.filter(taskforce=cast.taskforce, user=alice).values_list("role", flat=True))
    sees_harbor = permissions.has_perm(alice, "taskforce.view_taskforce", cast.taskforce)
    # Either she is still a coordinator on record, or she has no access: never access with no role.
    assert sees_harbor == bool(roles), f"roles on record: {roles or 'none'}; sees Harbor: {sees_harbor}"


# --- a person is offboarded -------------------------------------------------------------------------------


def test_offboarding_ends_sessions_at_once_and_deactivates_a_person_with_nothing_left(cast):
    mia = sign_in(cast.member_b)
    assert mia.get(dashboard(cast)).status_code == 200

    services.person_offboard(taskforce=cast.taskforce, person=cast.member_b, actor=cast.coordinator)

    assert not UserSession.objects.filter(user=cast.member_b).exists()
    assert signed_out_or_hidden(mia.get(dashboard(cast)))
    person = User.objects.get(pk=cast.member_b.pk)
    assert not person.is_active and person.offboarded_at is not None
    assert not person.groups.exists()
    assert not TaskForceRole.objects.filter(user=person).exists()
    refused = Client()
    refused.post(reverse("account_login"), {"login": person.email, "password": PASSWORD})
    assert "_auth_user_id" not in refused.session
    assert refused.get(dashboard(cast))["Location"].startswith(reverse("account_login"))


def test_offboarding_keeps_a_person_active_who_still_has_another_task_force(cast):
    larry = cast.liaison_a
    lakeshore = cast.other_taskforce
    joined = services.organization_onboard(
        taskforce=lakeshore,
        actor=cast.admin,
        agency=cast.agency_a.agency,
        liaison_email=larry.email,
        liaison_name=larry.full_name,
    )
    services.invitation_accept(
        token=joined.invitation.token, password=None, full_name=larry.full_name, signed_in_user=larry
    )
    browser = sign_in(larry)

    services.person_offboard(taskforce=cast.taskforce, person=larry, actor=cast.coordinator)

    assert signed_out_or_hidden(browser.get(dashboard(cast)))
    larry.refresh_from_db()
    assert larry.is_active and larry.offboarded_at is None
    again = sign_in(larry)
    assert again.get(dashboard(cast)).status_code == 404
    assert again.get(reverse("taskforce:dashboard", args=[lakeshore.slug])).status_code == 200


def test_the_offboard_view_does_it_on_post(cast, client_for):
    mia = sign_in(cast.member_b)
    url = reverse("members:person_offboard", args=[cast.taskforce.slug, cast.member_b.pk])
    response = client_for(cast.coordinator).post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("members:directory", args=[cast.taskforce.slug])
    assert signed_out_or_hidden(mia.get(dashboard(cast)))
    assert AuditEvent.objects.filter(action="person.offboarded", object_id=str(cast.member_b.pk)).exists()


# --- global permissions never widen object access -----------------------------------------------------------


def _every_permission_globally(*people: User) -> None:
    """Every model-level permission of our apps, through a group: what a careless admin might hand out."""
    group = Group.objects.create(name="everything, globally")
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=APPS))
    group.user_set.add(*people)


@pytest.mark.parametrize("name", HARBOR_ROWS)
def test_global_permissions_do_not_let_the_outsider_into_harbor(name, cast, client_for):
    kwargs = MATRIX[name].build(cast)
    _every_permission_globally(cast.outsider)
    outsider = User.objects.get(pk=cast.outsider.pk)
    assert outsider.has_perm("taskforce.view_taskforce")  # Django's own check says yes...
    assert request_row(client_for(outsider), name, kwargs).status_code == 404  # ...the object checks say no
    harbor = TaskForce.objects.filter(pk=cast.taskforce.pk)
    assert not permissions.visible_to(outsider, "taskforce.view_taskforce", harbor).exists()


def test_global_permissions_do_not_turn_a_403_into_a_200(cast, client_for):
    _every_permission_globally(cast.liaison_b, cast.facilitator)
    bea, fred = client_for(cast.liaison_b), client_for(cast.facilitator)
    slug = cast.taskforce.slug
    assert bea.get(reverse("members:membership_edit", args=[slug, cast.agency_a.pk])).status_code == 403
    assert bea.get(reverse("members:withdraw", args=[slug, cast.agency_a.pk])).status_code == 403
    assert fred.get(reverse("taskforce:charter_edit", args=[slug])).status_code == 403
    assert fred.get(reverse("members:onboard", args=[slug])).status_code == 403


# --- cross-task-force isolation ---------------------------------------------------------------------------


# The outsider column of tests/security/test_permission_matrix.py asks every Harbor URL of Oscar: all 404.


def test_the_isolation_tests_cover_harbor():
    assert len(HARBOR_ROWS) >= 30 and len(OBJECT_ROWS) >= 15
    assert {"members:membership_edit", "members:withdraw", "members:invitation_revoke"} <= set(OBJECT_ROWS)


@pytest.mark.parametrize("name", OBJECT_ROWS)
def test_the_outsider_cannot_reach_harbor_objects_through_their_own_task_force(name, cast, client_for):
    """Oscar manages Lakeshore; Harbor's objects asked for under Lakeshore's slug do not exist for him."""
    kwargs = {**MATRIX[name].build(cast), "slug": cast.other_taskforce.slug}
    client = client_for(cast.outsider)
    assert client.get(reverse("members:onboard", args=[cast.other_taskforce.slug])).status_code == 200
    assert request_row(client, name, kwargs).status_code == 404


def test_the_outsider_cannot_change_harbor_objects_through_their_own_task_force(cast, client_for):
    client = client_for(cast.outsider)
    lake = cast.other_taskforce.slug
    offboard = client.post(reverse("members:person_offboard", args=[lake, cast.liaison_a.pk]))
    withdraw = client.post(reverse("members:withdraw", args=[lake, cast.agency_a.pk]), {"reason": "x", "confirm": "on"})
    edit = client.post(
        reverse("members:agency_edit", args=[lake, cast.agency_a.pk]), {"name": "Renamed", "sector": "ngo"}
    )
    assert (offboard.status_code, withdraw.status_code, edit.status_code) == (404, 404, 404)
    assert User.objects.get(pk=cast.liaison_a.pk).is_active
    assert Membership.objects.get(pk=cast.agency_a.pk).status == MembershipStatus.ACTIVE
    assert Membership.objects.get(pk=cast.agency_a.pk).agency.name == "Sheriff's Office"
    assert TaskForceRole.objects.filter(taskforce=cast.taskforce, user=cast.liaison_a, role=Role.LIAISON).exists()


# --- site admins and confidential models ------------------------------------------------------------------


def test_an_admin_gets_no_actions_on_a_confidential_model_without_a_grant(cast, monkeypatch):
    monkeypatch.setattr(permissions, "NO_SUPERUSER_BYPASS", {"taskforce.taskforce"})
    admin = cast.admin
    assert not permissions.visible_to(admin, "taskforce.view_taskforce", TaskForce.objects.all()).exists()
    assert not permissions.has_perm(admin, "taskforce.edit_charter", cast.taskforce)
    assert permissions.perms_on(admin, cast.taskforce) == set()


# --- two coordinators edit the charter at once ------------------------------------------------------------


def _charter_post(form, **changes) -> dict:
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(changes)
    return data


def test_a_second_coordinator_saving_a_stale_charter_sees_the_conflict_and_loses_nothing(cast, client_for):
    services.role_grant(taskforce=cast.taskforce, user=cast.liaison_b, role=Role.COORDINATOR, actor=cast.admin)
    url = reverse("taskforce:charter_edit", args=[cast.taskforce.slug])
    alice, bea = client_for(cast.coordinator), client_for(cast.liaison_b)
    alice_form = alice.get(url).context["form"]
    bea_form = bea.get(url).context["form"]
    start = cast.taskforce.charter_version
    assert alice_form["version"].value() == bea_form["version"].value() == start

    first = alice.post(url, _charter_post(alice_form, mission_statement="Alice's mission", shared_values="Dignity"))
    assert first.status_code == 302

    second = bea.post(url, _charter_post(bea_form, mission_statement="Bea's mission", shared_values="Speed"))

    assert second.status_code == 200
    page = second.content.decode()
    assert "Someone else saved the charter while you were editing." in page
    assert second.context["conflict"].mission_statement == "Alice's mission"
    assert "Alice&#x27;s mission" in page or "Alice's mission" in page
    form = second.context["form"]
    assert form["mission_statement"].value() == "Bea's mission"
    assert form["shared_values"].value() == "Speed"
    assert form["version"].value() == start + 1  # saving again, after merging, is allowed
    taskforce = TaskForce.objects.get(pk=cast.taskforce.pk)
    assert (taskforce.mission_statement, taskforce.charter_version) == ("Alice's mission", start + 1)
    revisions = list(CharterRevision.objects.filter(taskforce=taskforce).order_by("version"))
    assert [r.version for r in revisions] == list(range(1, start + 2))
    assert revisions[-1].mission_statement == "Alice's mission" and revisions[-1].edited_by == cast.coordinator
    assert not CharterRevision.objects.filter(mission_statement="Bea's mission").exists()

    merged = bea.post(url, _charter_post(form, mission_statement="Alice's mission, with Bea's"))
    assert merged.status_code == 302
    taskforce.refresh_from_db()
    assert (taskforce.mission_statement, taskforce.charter_version) == ("Alice's mission, with Bea's", start + 2)
    assert CharterRevision.objects.get(taskforce=taskforce, version=start + 2).edited_by == cast.liaison_b
