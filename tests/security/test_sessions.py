"""Session lifetime: idle and absolute timeouts, logout, and ending every session of a person."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members.models import User
from taskforce.auth import end_all_sessions
from taskforce.models import AuditEvent
from tests.cast import PASSWORD as CAST_PASSWORD

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _session_settings(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "sessions"}}
    settings.REQUIRE_MFA = False
    settings.LOGIN_REDIRECT_URL = "/"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    settings.SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice@example.org", PASSWORD, full_name="Alice Analyst")


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def sign_in(client: Client, email: str = "alice@example.org") -> None:
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
    assert SESSION_KEY in client.session


# Any page behind sign-in will do; this one belongs to allauth, so it exists whatever else is built.
PAGE = "/accounts/2fa/"


def test_activity_keeps_the_session_alive(client, alice, clock):
    sign_in(client)
    for _ in range(4):
        clock.shift(timedelta(minutes=25))
        assert client.get(PAGE).status_code == 200

    assert SESSION_KEY in client.session


def test_it_signs_out_after_thirty_idle_minutes(client, alice, clock):
    sign_in(client)
    clock.shift(timedelta(minutes=29))
    assert client.get(PAGE).status_code == 200

    clock.shift(timedelta(minutes=30))
    response = client.get(PAGE + "?tab=keys")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_login") + "?next=/accounts/2fa/%3Ftab%3Dkeys"
    assert SESSION_KEY not in client.session
    assert "without activity" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    event = AuditEvent.objects.get(action="auth.session_expired")
    assert event.actor == alice
    assert event.detail == {"reason": "idle"}
    # One event for this sign-out: the expiry, not also a plain logout.
    assert not AuditEvent.objects.filter(action="auth.logout").exists()


def test_the_expiry_message_reaches_the_sign_in_page(client, alice, clock):
    sign_in(client)
    clock.shift(timedelta(minutes=31))

    response = client.get(PAGE, follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert "You were signed out after 30 minutes without activity" in response.content.decode()


def test_it_signs_out_twelve_hours_after_sign_in_however_active(client, alice, clock):
    sign_in(client)
    elapsed = timedelta()
    while elapsed < timedelta(hours=12) - timedelta(minutes=20):
        clock.shift(timedelta(minutes=20))
        elapsed += timedelta(minutes=20)
        assert client.get(PAGE).status_code == 200, elapsed

    clock.shift(timedelta(minutes=20))
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert AuditEvent.objects.get(action="auth.session_expired").detail == {"reason": "absolute"}


def test_htmx_requests_get_a_redirect_header_instead(client, alice, clock):
    sign_in(client)
    clock.shift(timedelta(minutes=31))

    response = client.get(PAGE, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/tf/demo/?page=2"})

    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("account_login") + "?next=/tf/demo/%3Fpage%3D2"
    assert SESSION_KEY not in client.session


def test_htmx_ignores_a_current_url_on_another_host(client, alice, clock):
    sign_in(client)
    clock.shift(timedelta(minutes=31))

    response = client.get(PAGE, headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/phish"})

    assert response["HX-Redirect"] == reverse("account_login")


def test_a_timed_out_post_does_not_come_back_to_the_form_target(client, alice, clock):
    sign_in(client)
    clock.shift(timedelta(minutes=31))

    response = client.post(reverse("account_change_password"), {})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")


def test_logout_ends_the_session(client, alice):
    sign_in(client)
    session_key = client.session.session_key

    client.post(reverse("account_logout"))

    assert not Session.objects.filter(session_key=session_key).exists()
    assert client.get(PAGE)["Location"].startswith(reverse("account_login"))
    assert AuditEvent.objects.filter(action="auth.logout", actor=alice).exists()


def test_end_all_sessions_signs_out_every_browser(alice):
    laptop, phone = Client(), Client()
    sign_in(laptop)
    sign_in(phone)
    assert laptop.get(PAGE).status_code == phone.get(PAGE).status_code == 200

    assert end_all_sessions(alice) == 2

    assert laptop.get(PAGE)["Location"].startswith(reverse("account_login"))
    assert phone.get(PAGE)["Location"].startswith(reverse("account_login"))
    assert not UserSession.objects.filter(user=alice).exists()


def test_end_all_sessions_leaves_other_people_signed_in(alice):
    User.objects.create_user("bob@example.org", PASSWORD, full_name="Bob")
    alices, bobs = Client(), Client()
    sign_in(alices)
    sign_in(bobs, "bob@example.org")

    end_all_sessions(alice)

    assert bobs.get(PAGE).status_code == 200


def test_end_all_sessions_also_ends_sessions_of_a_deactivated_person(alice):
    laptop = Client()
    sign_in(laptop)
    session_key = laptop.session.session_key
    # update(), not save(): saving an inactive account already ends its sessions (tested below); this is
    # about end_all_sessions itself, which allauth's own purge would skip for an inactive user.
    User.objects.filter(pk=alice.pk).update(is_active=False)
    alice.refresh_from_db()

    assert end_all_sessions(alice) == 1

    # Gone for good, so reactivating the account later does not revive the old cookie.
    assert not Session.objects.filter(session_key=session_key).exists()


# --- changing the password, deactivation and offboarding end the other sessions --------------------------


def signed_out(client: Client) -> bool:
    response = client.get(PAGE)
    return response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_changing_the_password_signs_out_every_other_browser(alice):
    laptop, phone = Client(), Client()
    sign_in(laptop)
    sign_in(phone)

    response = laptop.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"},
    )

    assert response.status_code == 302
    assert signed_out(phone)  # a thief's copy of the old session dies with the old password
    assert laptop.get(PAGE).status_code == 200  # the one who changed it stays in


def test_a_password_reset_signs_out_every_browser(alice):
    phone = Client()
    sign_in(phone)
    visitor = Client()
    visitor.post(reverse("account_reset_password"), {"email": alice.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[-1].body).group(1)
    form_url = visitor.get(link)["Location"]

    visitor.post(form_url, {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"})

    assert signed_out(phone)


def test_deactivating_an_account_signs_it_out_everywhere_at_the_next_request(alice):
    laptop, phone = Client(), Client()
    sign_in(laptop)
    sign_in(phone)

    User.objects.filter(pk=alice.pk).update(is_active=False)  # however it is done: admin, script, offboarding

    assert signed_out(laptop) and signed_out(phone)


def test_offboarding_through_the_page_ends_the_persons_sessions_on_every_device(cast, client_for):
    """Not just hidden behind a 404: the sessions themselves are gone, on the laptop and on the phone."""
    devices = [Client(), Client()]
    for device in devices:
        device.post(reverse("account_login"), {"login": cast.member_b.email, "password": CAST_PASSWORD})
        assert SESSION_KEY in device.session
    keys = [device.session.session_key for device in devices]

    url = reverse("members:person_offboard", args=[cast.taskforce.slug, cast.member_b.pk])
    assert client_for(cast.coordinator).post(url).status_code == 302

    assert not Session.objects.filter(session_key__in=keys).exists()
    assert all(signed_out(device) for device in devices)


def test_sessions_of_a_deactivated_account_do_not_come_back_when_it_is_reactivated(alice):
    laptop = Client()
    sign_in(laptop)
    session_key = laptop.session.session_key

    alice.is_active = False
    alice.save()  # however the account is switched off (a script, a future admin page), not only offboarding
    alice.is_active = True
    alice.save()

    assert signed_out(laptop)
    assert not Session.objects.filter(session_key=session_key).exists()
