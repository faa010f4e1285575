"""Onboarding a partner organization, from the coordinator's invitation to the liaison's completed profile."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from members import services
from members.models import Invitation, Membership, MembershipStatus, Role, TaskForceRole, User
from taskforce.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db(transaction=False)


def _onboard_post(cast, **overrides):
    data = {
        "mode": "new",
        "new-name": "Harbor General Hospital",
        "new-sector": "health_care",
        "new-level": "",
        "new-jurisdiction": "Port Harbor",
        "new-liaison_name": "Dr. Amara Singh",
        "new-liaison_email": "amara@hospital.example.org",
        "new-roles_and_responsibilities": "Medical exams for identified youth.",
    }
    data.update(overrides)
    return data


def test_it_onboards_an_agency_and_emails_a_single_use_link(cast, client_for, django_capture_on_commit_callbacks):
    client = client_for(cast.coordinator)
    url = reverse("members:onboard", args=[cast.taskforce.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, _onboard_post(cast))
    membership = Membership.objects.get(taskforce=cast.taskforce, agency__name="Harbor General Hospital")
    assert response.status_code == 302
    assert response["Location"] == reverse("members:membership_detail", args=[cast.taskforce.slug, membership.pk])
    assert membership.status == MembershipStatus.INVITED
    assert membership.roles_and_responsibilities == "Medical exams for identified youth."
    message = mail.outbox[-1]
    assert message.to == ["amara@hospital.example.org"]
    assert "Harbor Task Force" in message.subject
    link = re.search(r"/join/([\w-]+)/", message.body)
    assert link, message.body
    invitation = Invitation.objects.get(email="amara@hospital.example.org")
    assert invitation.token_hash == Invitation.hash_token(link.group(1))
    assert link.group(1) not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    assert AuditEvent.objects.filter(action="invitation.created", object_id=str(invitation.pk)).exists()
    assert Notification.objects.filter(kind=services.INVITATION_REMINDER, recipient=invitation.person).count() == 1


def test_it_refuses_a_leveled_sector_without_level(cast, client_for):
    client = client_for(cast.coordinator)
    url = reverse("members:onboard", args=[cast.taskforce.slug])
    response = client.post(url, _onboard_post(cast, **{"new-sector": "law_enforcement", "new-name": "Port PD"}))
    assert response.status_code == 200
    assert "local, county, state, federal or tribal" in response.content.decode()
    assert not Membership.objects.filter(agency__name="Port PD").exists()


def test_it_does_not_half_save_when_the_liaison_is_already_invited(cast, client_for):
    client = client_for(cast.coordinator)
    url = reverse("members:onboard", args=[cast.taskforce.slug])
    client.post(url, _onboard_post(cast))
    response = client.post(url, _onboard_post(cast, **{"new-name": "Second Hospital"}))
    assert response.status_code == 200
    assert "already has an open invitation" in response.content.decode()
    assert not Membership.objects.filter(agency__name="Second Hospital").exists()


def test_the_liaison_accepts_sets_a_password_and_completes_the_profile(cast, client):
    result = services.organization_onboard(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        agency_fields={"name": "Harbor Schools", "sector": "education"},
        liaison_email="paul@schools.example.org",
        liaison_name="Paul Anders",
    )
    accept_url = reverse("members:invitation_accept", args=[result.invitation.token])
    page = client.get(accept_url)
    assert page.status_code == 200
    assert "Harbor Schools" in page.content.decode()
    response = client.post(
        accept_url,
        {
            "full_name": "Paul Anders",
            "title": "Director",
            "agency_role": "Student services",
            "phone": "555-0101",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
            "confidentiality": "on",
        },
    )
    membership = result.membership
    assert response.status_code == 302
    assert response["Location"] == reverse("members:membership_edit", args=[cast.taskforce.slug, membership.pk])
    membership.refresh_from_db()
    paul = User.objects.get(email="paul@schools.example.org")
    assert membership.liaison == paul and membership.status == MembershipStatus.ACTIVE
    assert paul.check_password("a-long-unusual-passphrase")
    assert set(TaskForceRole.objects.filter(user=paul).values_list("role", flat=True)) == {Role.LIAISON, Role.MEMBER}
    assert not Notification.objects.filter(recipient=paul, cancelled_at__isnull=True, sent_at__isnull=True).exists()

    response = client.post(
        response["Location"],
        {
            "roles_and_responsibilities": "Train staff to spot exploitation.",
            "response_commitments": "Report within a day.",
            "signatory": paul.pk,
            "acknowledge_commitment": "on",
        },
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.profile_complete
    assert membership.signatory == paul and membership.commitment_acknowledged_by == paul

    again = client.get(accept_url)
    assert again.status_code == 404
    assert "already been accepted" in again.content.decode()


def test_a_weak_password_is_refused_on_the_form(cast, client):
    result = services.organization_onboard(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        agency_fields={"name": "Clinic", "sector": "health_care"},
        liaison_email="c@clinic.example.org",
        liaison_name="Cleo",
    )
    url = reverse("members:invitation_accept", args=[result.invitation.token])
    response = client.post(
        url, {"full_name": "Cleo", "password1": "password", "password2": "password", "confidentiality": "on"}
    )
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert not User.objects.get(email="c@clinic.example.org").has_usable_password()


def test_expired_revoked_and_replaced_links_do_not_work(cast, client):
    result = services.organization_onboard(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        agency_fields={"name": "Clinic", "sector": "health_care"},
        liaison_email="c@clinic.example.org",
        liaison_name="Cleo",
    )
    old_token = result.invitation.token
    resent = services.invitation_resend(invitation=result.invitation, actor=cast.coordinator)
    assert client.get(reverse("members:invitation_accept", args=[old_token])).status_code == 404
    assert client.get(reverse("members:invitation_accept", args=[resent.token])).status_code == 200

    Invitation.objects.filter(pk=resent.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(reverse("members:invitation_accept", args=[resent.token]))
    assert expired.status_code == 404 and "expired" in expired.content.decode()

    again = services.invitation_resend(invitation=resent, actor=cast.coordinator)
    services.invitation_revoke(invitation=again, actor=cast.coordinator)
    revoked = client.get(reverse("members:invitation_accept", args=[again.token]))
    assert revoked.status_code == 404 and "withdrawn" in revoked.content.decode()


def test_a_liaison_invites_a_colleague(cast, client_for, django_capture_on_commit_callbacks):
    client = client_for(cast.liaison_a)
    url = reverse("members:invite", args=[cast.taskforce.slug, cast.agency_a.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"full_name": "Dee Deputy", "email": "dee@sheriff.example.org", "role": "member"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["dee@sheriff.example.org"]
    invitation = Invitation.objects.get(email="dee@sheriff.example.org")
    assert invitation.membership == cast.agency_a and invitation.invited_by == cast.liaison_a


def test_a_liaison_cannot_invite_for_another_agency(cast, client_for):
    client = client_for(cast.liaison_a)
    url = reverse("members:invite", args=[cast.taskforce.slug, cast.agency_b.pk])
    response = client.post(url, {"full_name": "X", "email": "x@example.org", "role": "member"})
    assert response.status_code == 403
    assert not Invitation.objects.filter(email="x@example.org").exists()
    assert AuditEvent.objects.filter(action="access.forbidden", actor=cast.liaison_a).exists()


def test_the_invitation_reminder_goes_out_once_with_a_fresh_link(cast, settings):
    from taskforce import notifications

    result = services.organization_onboard(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        agency_fields={"name": "Clinic", "sector": "health_care"},
        liaison_email="c@clinic.example.org",
        liaison_name="Cleo",
    )
    mail.outbox.clear()
    later = timezone.now() + timedelta(days=settings.INVITATION_REMINDER_AFTER_DAYS, minutes=1)
    assert notifications.sweep(now=later) == 1
    assert notifications.sweep(now=later) == 0
    reminder = mail.outbox[-1]
    assert reminder.to == ["c@clinic.example.org"] and "Reminder" in reminder.subject
    token = re.search(r"/join/([\w-]+)/", reminder.body).group(1)
    assert token != result.invitation.token
    assert services.invitation_for_token(token).pk == result.invitation.pk


def test_no_reminder_once_accepted(cast, settings):
    from taskforce import notifications

    result = services.organization_onboard(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        agency_fields={"name": "Clinic", "sector": "health_care"},
        liaison_email="c@clinic.example.org",
        liaison_name="Cleo",
    )
    services.invitation_accept(token=result.invitation.token, password="a-long-unusual-passphrase", full_name="Cleo")
    mail.outbox.clear()
    later = timezone.now() + timedelta(days=settings.INVITATION_REMINDER_AFTER_DAYS + 1)
    assert notifications.sweep(now=later) == 0
    assert mail.outbox == []
