"""Sharing: grants with justifications and expiries, releases that gate identifying details, sealed and
restricted cases, and the rule that nothing but an active grant ever widens access."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from cases import selectors, services
from cases.models import Case, CaseGrant, Level
from taskforce import notifications, permissions
from taskforce.models import AuditEvent
from tests.cases.world import SUMMARY_SECRET, make_case


def url(name, case, **kwargs):
    return reverse(f"cases:{name}", kwargs={"slug": case.taskforce.slug, "pk": case.pk, **kwargs})


def perms(user, case):
    return selectors.case_perms(user, case)


def test_it_refuses_identifying_details_to_an_agency_without_a_release_and_says_why(cast, world):
    with pytest.raises(services.ShareRefused, match="only under an active release"):
        services.grant_create(
            case=world.case, actor=cast.liaison_b, level=Level.FULL, justification="Placement", membership=cast.agency_c
        )
    refusal = AuditEvent.objects.get(action="case.share_refused")
    assert refusal.actor == cast.liaison_b
    assert refusal.detail["grantee"] == "Social Services"
    assert "view_case_full" not in perms(cast.coordinator, world.case)


def test_the_sharing_page_shows_the_refusal(cast, world, client_for):
    response = client_for(cast.liaison_b).post(
        url("sharing", world.case),
        {"grantee_kind": "agency", "membership": cast.agency_c.pk, "level": "full", "justification": "Placement"},
    )
    assert response.status_code == 400
    assert "only under an active release" in response.content.decode()


def test_the_summary_needs_no_release(cast, world):
    services.grant_create(
        case=world.case, actor=cast.liaison_b, level=Level.SUMMARY, justification="Awareness", membership=cast.agency_c
    )
    assert perms(cast.coordinator, world.case) == {"view_case"}


def test_a_law_enforcement_lead_shares_without_a_release(cast):
    case = make_case(cast, number="LE-1", lead=cast.agency_a, actor=cast.liaison_a)
    services.grant_create(
        case=case, actor=cast.liaison_a, level=Level.FULL, justification="Services", membership=cast.agency_c
    )
    assert "view_case_full" in perms(cast.coordinator, case)


def test_revoking_the_release_mid_session_removes_the_access_it_justified(cast, world, client_for):
    larry = client_for(cast.liaison_a)
    assert SUMMARY_SECRET in larry.get(url("detail", world.case)).content.decode()

    services.release_revoke(release=world.release, actor=cast.liaison_b, reason="Guardian withdrew consent")

    body = larry.get(url("detail", world.case)).content.decode()
    assert SUMMARY_SECRET not in body  # still involved: the summary, nothing more
    assert larry.get(url("review_pdf", world.case)).status_code == 403
    assert AuditEvent.objects.filter(action="case.release_revoked", actor=cast.liaison_b).exists()
    world.grant.refresh_from_db()
    assert world.grant.state == "release_ended"


def test_a_grant_stops_working_on_the_hour_without_anyone_acting(cast, world):
    expires = timezone.now() + timedelta(days=2)
    grant = services.grant_create(
        case=world.case,
        actor=cast.liaison_b,
        level=Level.CONTRIBUTE,
        justification="Therapy",
        person=cast.liaison_a,
        expires_at=expires,
    )
    assert "contribute_case" in perms(cast.liaison_a, world.case)
    with time_machine.travel(expires + timedelta(minutes=30), tick=False):
        notifications.run_schedulers()  # the hourly beat task
        assert "contribute_case" not in perms(cast.liaison_a, world.case)
        assert "view_case_full" in perms(cast.liaison_a, world.case)  # the agency grant still stands
    grant.refresh_from_db()
    assert grant.lapsed_at is not None
    assert AuditEvent.objects.filter(action="case.grant_expired", detail__grant=grant.pk).exists()


def test_an_expired_release_ends_its_access_on_the_next_sweep(cast, world):
    world.release.expires_on = timezone.localdate() + timedelta(days=1)
    world.release.save()
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        notifications.run_schedulers()
        assert "view_case_full" not in perms(cast.liaison_a, world.case)
    assert AuditEvent.objects.filter(action="case.release_expired").exists()


def test_revoking_a_grant_ends_access_now(cast, world, client_for):
    services.grant_revoke(grant=world.grant, actor=cast.liaison_b, reason="Investigation closed")
    response = client_for(cast.liaison_a).get(url("review_pdf", world.case))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.forbidden", actor=cast.liaison_a).exists()


def test_model_level_permissions_never_widen_access(cast, world, client_for):
    every = Permission.objects.filter(content_type__app_label="cases", content_type__model="case")
    cast.agency_c.group.permissions.add(*every)
    cast.outsider.user_permissions.add(*every)
    cast.admin.user_permissions.add(*every)

    assert perms(cast.coordinator, world.case) == {"view_case"}
    assert client_for(cast.coordinator).get(url("review_pdf", world.case)).status_code == 403
    assert client_for(cast.admin).get(url("detail", world.case)).status_code == 404
    assert not selectors.visible_cases(cast.admin, cast.taskforce).exists()
    other = make_case(cast, number="LE-2", lead=cast.agency_a, actor=cast.liaison_a, confidentiality="restricted")
    assert not permissions.visible_to(cast.coordinator, "cases.view_case", Case.objects.filter(pk=other.pk)).exists()


def test_a_deleted_case_whose_id_is_reused_shows_nothing_of_the_old_grants(cast, world, client_for):
    pk = world.case.pk
    services.grant_create(
        case=world.case, actor=cast.liaison_b, level=Level.MANAGE, justification="Named", person=cast.member_b
    )
    Case.objects.filter(pk=pk).delete()  # cascades to its guardian rows: nothing generic is left behind

    # The id comes back, as SQLite without AUTOINCREMENT or a restored dump could do.
    reused = Case.objects.create(
        id=pk,
        taskforce=cast.taskforce,
        lead=cast.agency_a,
        number="LE-3",
        label="K.",
        trafficking_type="labor",
        confidentiality="restricted",
        # Later than anything recorded about the old case (audit rows are append-only: they cannot be backdated).
        created_at=timezone.now() + timedelta(seconds=1),
    )
    services.case_sync_permissions(reused)
    for person in (cast.coordinator, cast.liaison_b, cast.member_b):
        assert perms(person, reused) == set()
        assert client_for(person).get(url("detail", reused)).status_code == 404
    assert not selectors.access_log(reused).filter(action="case.granted").exists()


def test_a_sealed_case_is_seen_only_by_named_people(cast, world, client_for):
    services.case_update(
        case=world.case, actor=cast.liaison_b, expected_version=world.case.version, confidentiality="sealed"
    )
    assert client_for(cast.member_b).get(url("detail", world.case)).status_code == 404
    assert client_for(cast.liaison_a).get(url("detail", world.case)).status_code == 404
    assert client_for(cast.liaison_b).get(url("detail", world.case)).status_code == 200
    with pytest.raises(services.ShareRefused, match="named people"):
        services.grant_create(
            case=world.case, actor=cast.liaison_b, level=Level.SUMMARY, justification="x", membership=cast.agency_a
        )
    services.grant_create(
        case=world.case, actor=cast.liaison_b, level=Level.CONTRIBUTE, justification="Therapist", person=cast.member_b
    )
    assert client_for(cast.member_b).get(url("detail", world.case)).status_code == 200


def test_a_restricted_case_is_not_seen_by_involved_agencies_without_a_grant(cast, world):
    services.case_update(
        case=world.case, actor=cast.liaison_b, expected_version=world.case.version, confidentiality="restricted"
    )
    assert perms(cast.coordinator, world.case) == set()
    assert "view_case_full" in perms(cast.liaison_a, world.case)  # its grant stands


def test_a_person_share_to_another_agency_needs_a_release_naming_their_agency(cast, world):
    with pytest.raises(services.ShareRefused):
        services.grant_create(
            case=world.case, actor=cast.liaison_b, level=Level.FULL, justification="x", person=cast.coordinator
        )
    grant = services.grant_create(
        case=world.case, actor=cast.liaison_b, level=Level.FULL, justification="Detective", person=cast.liaison_a
    )
    assert grant.release == world.release


def test_a_withdrawn_agency_loses_its_cases(cast, world):
    from members.services import membership_withdraw

    membership_withdraw(membership=cast.agency_a, actor=cast.admin, reason="Left")
    world.case.refresh_from_db()
    services.case_sync_permissions(world.case)
    assert perms(cast.liaison_a, world.case) == set()


def test_grants_are_the_only_source_and_sync_is_exact(cast, world):
    from cases.models import CaseGroupObjectPermission

    CaseGroupObjectPermission.objects.create(
        content_object=world.case,
        group=cast.agency_c.group,
        permission=Permission.objects.get(codename="view_case_full"),
    )  # a stray row, as a bad migration might leave
    added, removed = services.case_sync_permissions(world.case)
    assert (added, removed) == (0, 1)
    assert CaseGrant.objects.filter(case=world.case).count() == 1


def test_a_person_whose_agency_withdraws_loses_a_named_share_within_the_hour(cast, world):
    from members.services import membership_withdraw

    services.grant_create(
        case=world.case, actor=cast.liaison_b, level=Level.FULL, justification="Detective", person=cast.liaison_a
    )
    membership_withdraw(membership=cast.agency_a, actor=cast.admin, reason="Left")
    notifications.run_schedulers()
    assert perms(cast.liaison_a, world.case) == set()


def test_the_sharing_page_lists_everyone_who_can_open_the_case(cast, world, client_for):
    body = client_for(cast.liaison_b).get(url("sharing", world.case)).content.decode()
    for name in ("Larry Liaison", "Mia Member", "Alice Coordinator", "Bea Liaison"):
        assert name in body
    assert "Ada Admin" not in body and "Oscar Outsider" not in body
