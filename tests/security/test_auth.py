"""Signing in: passwords, lockout, session fixation, password reset and the audit trail they leave.

Alice has an account; nobody has the account "nobody@example.org".
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account import app_settings as account_settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from members.models import User
from taskforce.models import AuditEvent
from tests.security.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("auth_settings")
LOGIN_URL = "/accounts/login/"


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice@example.org", PASSWORD, full_name="Alice Analyst")


def sign_in(client, email: str, password: str):
    return client.post(LOGIN_URL, {"login": email, "password": password})


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def normalise(html: str, email: str) -> str:
    """The page with what legitimately differs between two requests taken out: tokens and the typed email."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', '"X-CSRFToken": ""', html)
    html = re.sub(r"nonce=\"[^\"]+\"", 'nonce=""', html)
    return html.replace(email, "EMAIL")


def test_it_signs_in_with_email_and_password(client, alice):
    response = sign_in(client, "alice@example.org", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == alice
    assert event.ip_address == "127.0.0.1"


def test_it_ignores_the_case_of_the_email(client, alice):
    sign_in(client, "Alice@Example.org", PASSWORD)

    assert signed_in(client)


def test_it_refuses_a_wrong_password_and_records_it(client, alice):
    response = sign_in(client, "alice@example.org", "wrong-password")

    assert response.status_code == 200
    assert not signed_in(client)
    assert "not correct" in response.content.decode()
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor is None
    assert event.actor_label == "alice@example.org"


def test_it_gives_a_new_session_key_at_sign_in(client, alice):
    anonymous_session = client.session
    anonymous_session["seen_login_page"] = True
    anonymous_session.save()
    before = client.cookies["sessionid"].value

    sign_in(client, "alice@example.org", PASSWORD)

    after = client.cookies["sessionid"].value
    assert after != before
    # The key an attacker might have planted is dead, not just unused.
    assert not client.session.exists(before)


def test_it_locks_after_five_failures(client, alice):
    for _ in range(5):
        response = sign_in(client, "alice@example.org", "wrong-password")
        assert "not correct" in response.content.decode()

    response = sign_in(client, "alice@example.org", PASSWORD)

    assert response.status_code == 200
    assert not signed_in(client)
    assert "Too many failed attempts" in response.content.decode()
    assert actions() == ["auth.login_failed"] * 5 + ["auth.locked_out"]
    assert AuditEvent.objects.get(action="auth.locked_out").actor_label == "alice@example.org"


def test_the_lock_lifts_after_ten_minutes(client, alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(5):
            sign_in(client, "alice@example.org", "wrong-password")
        clock.shift(timedelta(minutes=9))
        sign_in(client, "alice@example.org", PASSWORD)
        assert not signed_in(client)

        clock.shift(timedelta(minutes=1, seconds=1))
        sign_in(client, "alice@example.org", PASSWORD)
        assert signed_in(client)


def test_the_lock_lasts_ten_minutes_from_the_fifth_failure_however_spread_out(client, alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        sign_in(client, "alice@example.org", "wrong-password")
        clock.shift(timedelta(minutes=8))
        for _ in range(4):
            sign_in(client, "alice@example.org", "wrong-password")

        # allauth's sliding window alone would reopen here, ten minutes after the first failure.
        clock.shift(timedelta(minutes=3))
        sign_in(client, "alice@example.org", PASSWORD)
        assert not signed_in(client)

        clock.shift(timedelta(minutes=7, seconds=1))
        sign_in(client, "alice@example.org", PASSWORD)
        assert signed_in(client)


def test_a_password_reset_lifts_the_lock(client, alice):
    for _ in range(5):
        sign_in(client, "alice@example.org", "wrong-password")

    _reset_password(client, "alice@example.org", "a-brand-new-passphrase")
    sign_in(client, "alice@example.org", "a-brand-new-passphrase")

    assert signed_in(client)


def test_the_lock_is_per_account(client, alice):
    User.objects.create_user("bob@example.org", PASSWORD, full_name="Bob")
    for _ in range(5):
        sign_in(client, "alice@example.org", "wrong-password")

    sign_in(client, "bob@example.org", PASSWORD)

    assert signed_in(client)


def test_a_successful_sign_in_does_not_reset_the_failure_count(client, alice):
    # Otherwise an attacker who knows one password could interleave it to keep guessing another.
    for _ in range(4):
        sign_in(client, "alice@example.org", "wrong-password")
    sign_in(client, "alice@example.org", PASSWORD)
    client.post(reverse("account_logout"))

    sign_in(client, "alice@example.org", "wrong-password")
    response = sign_in(client, "alice@example.org", PASSWORD)

    assert "Too many failed attempts" in response.content.decode()


def test_unknown_accounts_get_the_identical_response(client, alice):
    known, unknown = "alice@example.org", "nobody@example.org"
    for attempt in range(6):
        known_response = sign_in(client, known, "wrong-password")
        unknown_response = sign_in(client, unknown, "wrong-password")

        assert known_response.status_code == unknown_response.status_code == 200, attempt
        expected = "Too many failed attempts" if attempt == 5 else "not correct"
        assert expected in known_response.content.decode(), attempt
        assert normalise(known_response.content.decode(), known) == normalise(
            unknown_response.content.decode(), unknown
        ), attempt
    # Both are now locked out, with the same words.
    assert "Too many failed attempts" in unknown_response.content.decode()
    assert AuditEvent.objects.filter(action="auth.locked_out", actor_label=unknown).exists()


def test_logout_is_recorded(client, alice):
    sign_in(client, "alice@example.org", PASSWORD)

    client.post(reverse("account_logout"))

    assert not signed_in(client)
    assert actions() == ["auth.login", "auth.logout"]
    assert AuditEvent.objects.get(action="auth.logout").actor == alice


def test_password_change_is_recorded(client, alice):
    sign_in(client, "alice@example.org", PASSWORD)

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"},
    )

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_changed", actor=alice).exists()


def _reset_password(client, email: str, new_password: str):
    client.post(reverse("account_reset_password"), {"email": email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]  # allauth moves the key from the URL into the session
    return client.post(form_url, {"password1": new_password, "password2": new_password})


def test_password_reset_sets_the_password_but_does_not_sign_in(client, alice):
    response = _reset_password(client, "alice@example.org", "a-brand-new-passphrase")

    assert response.status_code == 302
    assert not signed_in(client)
    alice.refresh_from_db()
    assert alice.check_password("a-brand-new-passphrase")
    assert AuditEvent.objects.filter(action="auth.password_reset", actor=alice).exists()
    # Keep it off: signing in after a reset goes through the sign-in page (and its second factor).
    assert account_settings.LOGIN_ON_PASSWORD_RESET is False


def test_password_reset_for_an_unknown_email_looks_the_same(client, alice):
    known = client.post(reverse("account_reset_password"), {"email": "alice@example.org"})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_the_sign_in_page_labels_every_input(client, db):
    html = client.get(LOGIN_URL).content.decode()

    ids = re.findall(r'<input[^>]*type="(?:email|password|text)"[^>]*id="([^"]+)"', html)
    assert ids, html
    for input_id in ids:
        assert f'for="{input_id}"' in html
    assert "Forgot your password?" in html
    assert "Sign in with a passkey" in html
    assert "sign up" not in html.lower()


class CountingHasher(MD5PasswordHasher):
    """MD5 for speed, counting every hash computed: the work done is what a stopwatch would measure."""

    algorithm = "counting_md5"
    computed = 0

    def encode(self, password, salt):
        CountingHasher.computed += 1
        return super().encode(password, salt)


def test_unknown_accounts_cost_the_same_password_work(client, settings, db):
    settings.PASSWORD_HASHERS = ["tests.security.test_auth.CountingHasher"]
    User.objects.create_user("alice@example.org", PASSWORD, full_name="Alice Analyst")

    def work(email: str) -> int:
        CountingHasher.computed = 0
        sign_in(client, email, "wrong-password")
        return CountingHasher.computed

    known, unknown = work("alice@example.org"), work("nobody@example.org")

    # Without a dummy hash for the unknown account, its answer would come back measurably sooner.
    assert known >= 1
    assert unknown == known


def test_password_reset_pages_and_mail_do_not_tell_whether_an_account_exists(client, alice):
    pages = []
    for email in ("alice@example.org", "nobody@example.org"):
        response = client.post(reverse("account_reset_password"), {"email": email}, follow=True)
        pages.append(normalise(response.content.decode(), email))

    assert pages[0] == pages[1]
    # Each address gets one message; the unknown one is told no account exists, to its owner only.
    assert [message.to for message in mail.outbox] == [["alice@example.org"], ["nobody@example.org"]]
