"""The audit trail CJIS asks for: logons (failed and successful), logouts, lockouts and permission changes.

Each event is checked for who, what and from where. The single events are tested where they happen
(test_auth.py, test_auth_mfa.py, test_sessions.py); here the whole trail of one sign-in story, and the
permission changes made through the pages and services people use.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from allauth.mfa import app_settings as mfa_settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from members.models import Role, TaskForceRole, User
from taskforce.models import AuditEvent
from tests.cast import Cast
from tests.security.test_auth_mfa import add_totp, current_code

PASSWORD = "correct-horse-battery-staple"
BROWSER = "Mozilla/5.0 (audit test)"


@pytest.fixture(autouse=True)
def _audit_settings(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "audit"}}
    settings.REQUIRE_MFA = True
    cache.clear()
    yield
    cache.clear()


def events_after(first_id: int) -> list[tuple[str, str]]:
    return list(AuditEvent.objects.filter(id__gt=first_id).order_by("id").values_list("action", "actor_label"))


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_sign_in_story_leaves_the_whole_trail(db):
    ada = User.objects.create_superuser("ada@example.org", PASSWORD, full_name="Ada Admin")
    secret = add_totp(ada)
    window = int(time.time()) // mfa_settings.TOTP_PERIOD * mfa_settings.TOTP_PERIOD
    client = Client(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="198.51.100.7")
    start = last_id()

    with time_machine.travel(window + 1, tick=False) as clock:
        client.post(reverse("account_login"), {"login": "nobody@example.org", "password": "guess"})
        for _ in range(5):
            client.post(reverse("account_login"), {"login": ada.email, "password": "wrong"})
        client.post(reverse("account_login"), {"login": ada.email, "password": PASSWORD})  # locked
        clock.shift(timedelta(minutes=10, seconds=1))
        client.post(reverse("account_login"), {"login": ada.email, "password": PASSWORD})
        client.post(reverse("mfa_authenticate"), {"code": "000000" if current_code(secret) != "000000" else "111111"})
        client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
        clock.shift(timedelta(minutes=31))
        client.get(reverse("mfa_index"))  # idle: signed out
        client.post(reverse("account_login"), {"login": ada.email, "password": PASSWORD})
        clock.shift(timedelta(seconds=mfa_settings.TOTP_PERIOD))
        client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
        client.post(reverse("account_logout"))

    assert events_after(start) == [
        ("auth.login_failed", "nobody@example.org"),
        *[("auth.login_failed", ada.email)] * 5,
        ("auth.locked_out", ada.email),
        ("auth.mfa_failed", ada.email),
        ("auth.login", ada.email),
        ("auth.session_expired", ada.email),
        ("auth.login", ada.email),
        ("auth.logout", ada.email),
    ]
    trail = AuditEvent.objects.filter(id__gt=start)
    assert set(trail.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    assert set(trail.values_list("user_agent", flat=True)) == {BROWSER}
    assert trail.filter(actor=ada).count() == 5  # the password was right from the second factor on


@pytest.fixture
def cast(shared_cast) -> Cast:
    return shared_cast


def test_roles_changed_on_the_page_are_audited(cast, client_for, settings):
    settings.REQUIRE_MFA = False  # the gate is not what this is about
    coordinator = client_for(cast.coordinator)
    url = reverse("members:person_roles", args=[cast.taskforce.slug, cast.liaison_a.pk])
    roles = sorted(
        TaskForceRole.objects.filter(taskforce=cast.taskforce, user=cast.liaison_a).values_list("role", flat=True)
    )
    start = last_id()

    coordinator.post(url, {"roles": [*roles, Role.FACILITATOR]})
    coordinator.post(url, {"roles": roles})

    trail = AuditEvent.objects.filter(id__gt=start).order_by("id")
    assert [(e.action, e.detail.get("role"), e.object_id, e.actor) for e in trail] == [
        ("role.granted", Role.FACILITATOR, str(cast.liaison_a.pk), cast.coordinator),
        ("role.revoked", Role.FACILITATOR, str(cast.liaison_a.pk), cast.coordinator),
    ]
    assert {e.taskforce_id for e in trail} == {cast.taskforce.pk}


def test_case_access_granted_and_revoked_is_audited(cast):
    from cases import services
    from tests.cases.world import build_world

    start = last_id()
    world = build_world(cast)
    services.grant_revoke(grant=world.grant, actor=cast.liaison_b, reason="Investigation closed")

    trail = AuditEvent.objects.filter(id__gt=start, object_id=str(world.case.pk))
    granted = trail.get(action="case.granted", detail__grant=world.grant.pk)
    revoked = trail.get(action="case.revoked", detail__grant=world.grant.pk)
    assert granted.actor == revoked.actor == cast.liaison_b
    assert revoked.detail["reason"] == "Investigation closed"
