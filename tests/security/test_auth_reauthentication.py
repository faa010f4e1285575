"""Re-authentication before changing how one signs in: email addresses, the password and the second factor.

A session left open (a borrowed laptop, a stolen cookie) must not be enough to take the account over. Ada
signed in with her password and authenticator app more than ACCOUNT_REAUTHENTICATION_TIMEOUT ago; each
change below must send her to confirm who she is first and change nothing until she does.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from members.models import User
from taskforce.models import AuditEvent
from tests.security.conftest import PASSWORD
from tests.security.test_auth_mfa import current_code

pytestmark = pytest.mark.usefixtures("auth_settings")
NEW_PASSWORD = "a-brand-new-passphrase"
# Past the reauthentication window, well inside the idle timeout.
LATER = timedelta(seconds=django_settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 60)


def signed_in_a_while_ago(user: User, clock, *, secret: str | None = None) -> Client:
    client = Client()
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    if secret is not None:
        response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302 and SESSION_KEY in client.session
    clock.shift(LATER)
    return client


def sent_to_reauthenticate(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(
        (reverse("account_reauthenticate"), reverse("mfa_reauthenticate"))
    )


def confirm_password(client: Client) -> None:
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302


def with_totp(user: User) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def authenticator_types(user: User) -> set[str]:
    return set(Authenticator.objects.filter(user=user).values_list("type", flat=True))


# --- email ---------------------------------------------------------------------------------------------


def test_adding_an_email_address_needs_reauthentication(ada, clock):
    client = signed_in_a_while_ago(ada, clock)
    add = {"email": "mallory@evil.example", "action_add": ""}

    response = client.post(reverse("account_email"), add)

    assert sent_to_reauthenticate(response), response.status_code
    assert not EmailAddress.objects.filter(email="mallory@evil.example").exists()

    confirm_password(client)
    client.post(reverse("account_email"), add)
    assert EmailAddress.objects.filter(user=ada, email="mallory@evil.example").exists()


@pytest.mark.parametrize("action", ["action_primary", "action_remove"])
def test_changing_or_removing_an_email_address_needs_reauthentication(ada, clock, action):
    EmailAddress.objects.create(user=ada, email="ada@example.org", primary=True, verified=True)
    EmailAddress.objects.create(user=ada, email="ada.second@example.org", primary=False, verified=True)
    before = set(EmailAddress.objects.filter(user=ada).values_list("email", "primary"))
    client = signed_in_a_while_ago(ada, clock)

    response = client.post(reverse("account_email"), {"email": "ada.second@example.org", action: ""})

    assert sent_to_reauthenticate(response), response.status_code
    assert set(EmailAddress.objects.filter(user=ada).values_list("email", "primary")) == before


# --- password --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("old", ["", "wrong-password"])
def test_changing_the_password_needs_the_current_one(ada, clock, old):
    client = signed_in_a_while_ago(ada, clock)

    response = client.post(
        reverse("account_change_password"), {"oldpassword": old, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 200  # the form again, with its error
    ada.refresh_from_db()
    assert ada.check_password(PASSWORD)


# --- the second factor -------------------------------------------------------------------------------------


def test_turning_on_an_authenticator_app_needs_reauthentication(ada, clock):
    client = signed_in_a_while_ago(ada, clock)

    page = client.get(reverse("mfa_activate_totp"))
    # Even with a secret of the attacker's choosing in the session, the POST is refused.
    session = client.session
    session["mfa.totp.secret"] = secret = generate_totp_secret()
    session.save()
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})

    assert sent_to_reauthenticate(page) and sent_to_reauthenticate(response)
    assert authenticator_types(ada) == set()


@pytest.mark.parametrize(
    "url_name", ["mfa_deactivate_totp", "mfa_generate_recovery_codes"], ids=["deactivate", "regenerate"]
)
def test_changing_the_second_factor_needs_reauthentication(ada, clock, url_name):
    secret = with_totp(ada)
    codes_before = Authenticator.objects.get(user=ada, type=Authenticator.Type.RECOVERY_CODES).data
    client = signed_in_a_while_ago(ada, clock, secret=secret)

    response = client.post(reverse(url_name))

    assert sent_to_reauthenticate(response), response.status_code
    assert authenticator_types(ada) == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    assert Authenticator.objects.get(user=ada, type=Authenticator.Type.RECOVERY_CODES).data == codes_before


def test_adding_a_passkey_needs_reauthentication(ada, clock):
    secret = with_totp(ada)
    client = signed_in_a_while_ago(ada, clock, secret=secret)

    page = client.get(reverse("mfa_add_webauthn"))
    response = client.post(reverse("mfa_add_webauthn"), {"name": "Mallory's key", "credential": "{}"})

    assert sent_to_reauthenticate(page) and sent_to_reauthenticate(response)
    assert Authenticator.Type.WEBAUTHN not in authenticator_types(ada)


@pytest.mark.parametrize("url_name", ["mfa_remove_webauthn", "mfa_edit_webauthn"])
def test_removing_or_renaming_a_passkey_needs_reauthentication(ada, clock, url_name):
    secret = with_totp(ada)
    # The row only has to exist: the check comes before anything reads the credential.
    passkey = Authenticator.objects.create(user=ada, type=Authenticator.Type.WEBAUTHN, data={"name": "Ada's key"})
    client = signed_in_a_while_ago(ada, clock, secret=secret)

    response = client.post(reverse(url_name, kwargs={"pk": passkey.pk}), {"name": "renamed"})

    assert sent_to_reauthenticate(response), response.status_code
    passkey.refresh_from_db()
    assert passkey.data == {"name": "Ada's key"}


def test_reauthenticating_with_the_second_factor_then_allows_the_change(ada, clock):
    """The control for the tests above: once she confirms with her code, the same request goes through."""
    secret = with_totp(ada)
    client = signed_in_a_while_ago(ada, clock, secret=secret)
    clock.shift(timedelta(seconds=mfa_settings.TOTP_PERIOD))  # a fresh code, not the one used to sign in

    response = client.post(reverse("mfa_reauthenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    client.post(reverse("mfa_deactivate_totp"))

    assert authenticator_types(ada) == set()


@pytest.mark.parametrize("url_name", ["mfa_view_recovery_codes", "mfa_download_recovery_codes"])
def test_reading_the_recovery_codes_needs_reauthentication(ada, clock, url_name):
    """They are a second factor in writing: an open session must not be enough to copy them."""
    secret = with_totp(ada)
    codes = Authenticator.objects.get(user=ada, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    client = signed_in_a_while_ago(ada, clock, secret=secret)

    response = client.get(reverse(url_name))

    assert sent_to_reauthenticate(response), response.status_code
    assert not any(code in response.content.decode() for code in codes)

    confirm_password(client)
    assert codes[0] in client.get(reverse(url_name)).content.decode()


def test_a_code_sent_by_email_does_not_count_as_reauthentication(ada, clock, mailoutbox):
    """The mailbox is the recovery channel, not a factor: with it and an open session one could turn the
    authenticator app off. Only the password or the second factor itself reauthenticate."""
    EmailAddress.objects.update_or_create(user=ada, email=ada.email, defaults={"primary": True, "verified": True})
    secret = with_totp(ada)
    client = signed_in_a_while_ago(ada, clock, secret=secret)

    client.post(reverse("account_request_reauthentication_code"), {"recipient": ada.email})
    sent = [message for message in mailoutbox if ada.email in message.to]
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", sent[-1].body, re.MULTILINE) if sent else None
    if code:  # as the mailbox's reader would
        client.post(reverse("account_confirm_reauthentication_code"), {"code": code[1]})
    response = client.post(reverse("mfa_deactivate_totp"))

    assert sent_to_reauthenticate(response), response.status_code
    assert Authenticator.Type.TOTP in authenticator_types(ada)
    assert not sent


def test_password_guesses_at_reauthentication_count_toward_the_lockout(ada, clock):
    """Whoever holds an open session must not get unlimited guesses at the password there."""
    client = signed_in_a_while_ago(ada, clock)
    for attempt in range(5):
        client.post(reverse("account_reauthenticate"), {"password": f"guess-{attempt}"})

    right = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    elsewhere = Client().post(reverse("account_login"), {"login": ada.email, "password": PASSWORD})

    assert right.status_code == 200 and "Too many failed attempts" in right.content.decode()
    assert "Too many failed attempts" in elsewhere.content.decode()
    assert AuditEvent.objects.filter(action="auth.login_failed", actor_label=ada.email).count() == 5


def test_code_guesses_at_reauthentication_are_throttled_with_those_at_sign_in(ada, clock):
    secret = with_totp(ada)
    client = signed_in_a_while_ago(ada, clock, secret=secret)
    wrong = f"{(int(current_code(secret)) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert "Incorrect code" in client.post(reverse("mfa_reauthenticate"), {"code": wrong}).content.decode()

    clock.shift(timedelta(seconds=mfa_settings.TOTP_PERIOD))  # a fresh, right code
    response = client.post(reverse("mfa_reauthenticate"), {"code": current_code(secret)})

    assert "Too many failed attempts" in response.content.decode()
    assert AuditEvent.objects.filter(action="auth.mfa_failed", actor=ada, detail__reauthentication=True).count() == 5
