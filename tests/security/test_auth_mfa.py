"""Two-factor authentication: who must have it, signing in with it, and what it leaves in the audit trail.

Ada is a site admin, Carol coordinates a task force, Mel is a member with neither role.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core import mail
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import ResolverMatch, resolve, reverse

from members.models import User
from taskforce import auth
from taskforce.middleware import MFA_EXEMPT_URL_NAME_PREFIXES, RequireSecondFactorMiddleware
from taskforce.models import AuditEvent, TaskForce
from tests.security.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("auth_settings")
SETUP_URL = "/accounts/2fa/totp/activate/"


@pytest.fixture
def carol(db) -> User:
    carol = User.objects.create_user("carol@example.org", PASSWORD, full_name="Carol Coordinator")
    taskforce = TaskForce.objects.create(
        name="Metro Task Force",
        slug="metro",
        coordinators=Group.objects.create(name="tf:metro:coordinators"),
        facilitators=Group.objects.create(name="tf:metro:facilitators"),
    )
    carol.groups.add(taskforce.coordinators)
    return carol


@pytest.fixture
def mel(db) -> User:
    return User.objects.create_user("mel@example.org", PASSWORD, full_name="Mel Member")


def add_totp(user: User) -> str:
    """Give the user an authenticator app and recovery codes, as finishing the setup page does."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def recovery_codes(user: User) -> list[str]:
    return Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()


def sign_in(client, email: str):
    return client.post(reverse("account_login"), {"login": email, "password": PASSWORD})


def enter_code(client, code: str):
    return client.post(reverse("mfa_authenticate"), {"code": code})


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def second_factor_gate(user: User, path: str = "/"):
    """What RequireSecondFactorMiddleware does with this person's request for `path`."""
    request = RequestFactory().get(path)
    request.user = user
    request.resolver_match = resolve(path)
    request._messages = CookieStorage(request)
    return RequireSecondFactorMiddleware(lambda r: HttpResponse()).process_view(request, lambda r: None, (), {})


# --- who must use a second factor ------------------------------------------


def test_site_admins_and_coordinators_require_mfa(ada, carol, mel):
    assert auth.user_requires_mfa(ada)
    assert auth.user_requires_mfa(carol)
    assert not auth.user_requires_mfa(mel)


def test_apps_can_add_their_own_reason_to_require_mfa(mel, monkeypatch):
    monkeypatch.setattr(auth, "MFA_REQUIRED_CHECKS", [*auth.MFA_REQUIRED_CHECKS, lambda user: user.email == mel.email])

    assert auth.user_requires_mfa(mel)


def test_it_sends_an_admin_without_a_second_factor_to_set_one_up(client, ada, settings):
    settings.REQUIRE_MFA = True
    client.force_login(ada)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == SETUP_URL
    assert "two-factor authentication" in str(next(iter(get_messages(response.wsgi_request))))


def test_it_sends_a_coordinator_without_a_second_factor_to_set_one_up(carol, settings):
    settings.REQUIRE_MFA = True

    assert second_factor_gate(carol)["Location"] == SETUP_URL


def test_htmx_requests_are_sent_to_setup_with_a_header(client, ada, settings):
    settings.REQUIRE_MFA = True
    client.force_login(ada)

    response = client.get("/", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response["HX-Redirect"] == SETUP_URL


def test_the_setup_pages_and_sign_out_stay_reachable(client, ada, settings):
    settings.REQUIRE_MFA = True
    client.force_login(ada)

    assert client.get(reverse("mfa_index")).status_code == 200
    assert client.get(SETUP_URL)["Location"].startswith(reverse("account_reauthenticate"))
    assert client.get(reverse("account_reauthenticate")).status_code == 200
    client.post(reverse("account_logout"))
    assert not signed_in(client)


def test_only_allauths_own_pages_are_exempt(ada, settings):
    settings.REQUIRE_MFA = True
    request = RequestFactory().get("/tf/metro/account/")
    request.user = ada
    request._messages = CookieStorage(request)
    # An app's page that happens to be called "account_..." is not one of allauth's.
    request.resolver_match = ResolverMatch(lambda r: None, (), {}, url_name="account_details", namespaces=["members"])

    response = RequireSecondFactorMiddleware(lambda r: HttpResponse()).process_view(request, lambda r: None, (), {})

    assert response["Location"] == SETUP_URL


def test_members_without_sensitive_access_are_not_asked(mel, settings):
    settings.REQUIRE_MFA = True

    assert second_factor_gate(mel) is None


def test_an_admin_with_an_authenticator_app_is_let_through(ada, settings):
    settings.REQUIRE_MFA = True
    add_totp(ada)

    assert second_factor_gate(ada) is None


def test_recovery_codes_alone_are_not_a_second_factor(ada, settings):
    settings.REQUIRE_MFA = True
    RecoveryCodes.activate(ada)

    assert second_factor_gate(ada)["Location"] == SETUP_URL


def test_nobody_is_sent_to_setup_when_the_requirement_is_off(ada, settings):
    settings.REQUIRE_MFA = False

    assert second_factor_gate(ada) is None


def test_setting_up_an_authenticator_app_is_recorded_and_unlocks_the_site(
    client, ada, settings, clock, django_capture_on_commit_callbacks
):
    settings.REQUIRE_MFA = True
    sign_in(client, ada.email)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    client.get(SETUP_URL)
    secret = client.session["mfa.totp.secret"]

    with django_capture_on_commit_callbacks(execute=True):  # allauth signals once the row is committed
        response = client.post(SETUP_URL, {"code": current_code(secret)})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=ada, type=Authenticator.Type.TOTP).exists()
    assert AuditEvent.objects.filter(action="auth.mfa_enabled", actor=ada, detail__authenticator="totp").exists()
    assert AuditEvent.objects.filter(action="auth.recovery_codes_generated", actor=ada).exists()
    assert second_factor_gate(ada) is None


def test_turning_off_the_authenticator_app_is_recorded(client, ada, django_capture_on_commit_callbacks):
    add_totp(ada)
    client.force_login(ada)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.mfa_disabled", actor=ada, detail__authenticator="totp").exists()


# --- signing in with a second factor ------------------------------------------


def test_sign_in_asks_for_a_code_after_the_password(client, ada, clock):
    secret = add_totp(ada)

    response = sign_in(client, ada.email)

    assert response["Location"] == reverse("mfa_authenticate")
    assert not signed_in(client)
    assert not AuditEvent.objects.filter(action="auth.login").exists()

    response = enter_code(client, current_code(secret))

    assert response.status_code == 302
    assert signed_in(client)
    assert AuditEvent.objects.get(action="auth.login").actor == ada


def test_a_wrong_code_fails_and_is_recorded(client, ada, clock):
    secret = add_totp(ada)
    sign_in(client, ada.email)
    wrong = f"{(int(current_code(secret)) + 1) % 1_000_000:06d}"

    response = enter_code(client, wrong)

    assert response.status_code == 200
    assert "Incorrect code" in response.content.decode()
    assert not signed_in(client)
    assert AuditEvent.objects.get(action="auth.mfa_failed").actor == ada


def test_a_code_cannot_be_used_twice(client, ada, clock):
    secret = add_totp(ada)
    code = current_code(secret)
    sign_in(client, ada.email)
    enter_code(client, code)
    assert signed_in(client)
    client.post(reverse("account_logout"))

    clock.shift(timedelta(seconds=5))  # still the same 30-second window, so the code is still "current"
    assert current_code(secret) == code
    sign_in(client, ada.email)
    response = enter_code(client, code)

    assert "Incorrect code" in response.content.decode()
    assert not signed_in(client)


def test_a_recovery_code_works_once(client, ada):
    add_totp(ada)
    code = recovery_codes(ada)[0]

    sign_in(client, ada.email)
    enter_code(client, code)

    assert signed_in(client)
    event = AuditEvent.objects.get(action="auth.recovery_code_used")
    assert event.actor == ada
    assert event.detail == {"unused_codes": len(recovery_codes(ada))}
    assert code not in recovery_codes(ada)

    client.post(reverse("account_logout"))
    sign_in(client, ada.email)
    response = enter_code(client, code)

    assert "Incorrect code" in response.content.decode()
    assert not signed_in(client)


def test_the_code_page_is_styled_and_labelled(client, ada):
    add_totp(ada)
    sign_in(client, ada.email)

    html = client.get(reverse("mfa_authenticate")).content.decode()

    assert 'class="card shadow-sm"' in html
    assert re.search(r'<label[^>]*for="id_code"', html)
    assert 'autocomplete="one-time-code"' in html


def test_password_reset_never_skips_the_second_factor(client, ada, settings):
    # Even if someone turns on allauth's sign-in-after-reset, the code is still asked for.
    settings.ACCOUNT_LOGIN_ON_PASSWORD_RESET = True
    add_totp(ada)
    client.post(reverse("account_reset_password"), {"email": ada.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]

    response = client.post(form_url, {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"})

    assert response["Location"] == reverse("mfa_authenticate")
    assert not signed_in(client)


# --- everyone with case access, and nothing reachable without the second factor ------------------------


def test_opening_a_case_to_someone_makes_their_second_factor_required(cast):
    from tests.cases.world import build_world

    assert not auth.user_requires_mfa(cast.member_b)

    build_world(cast)  # the CAC's case: Mia contributes, the Sheriff's Office has full access

    for person in (cast.member_b, cast.liaison_b, cast.facilitator, cast.liaison_a):
        assert auth.user_requires_mfa(person), person
    stranger = User.objects.create_user("stan@example.org", PASSWORD, full_name="Stan Stranger")
    assert not auth.user_requires_mfa(stranger)


def test_without_a_second_factor_nothing_guarded_is_reachable(cast, client, settings):
    """Every URL of ours, by GET and by POST, sends a coordinator who has no second factor to set one up.

    The ids in the URLs exist nowhere: the gate comes before the view, and a view it let through would
    answer 404 instead. htmx requests get the same answer as a header (test_htmx_requests_are_sent_...).
    """
    from tests.security.test_csrf import sample_url
    from tests.security.test_permission_matrix import urlconf_names

    settings.REQUIRE_MFA = True
    client.force_login(cast.coordinator)
    guarded = {
        name: sample_url(name, route, cast.taskforce.slug)
        for name, route in urlconf_names().items()
        if ":" in name or not name.startswith(MFA_EXEMPT_URL_NAME_PREFIXES)
    }
    assert len(guarded) > 80

    reached = []
    for url in guarded.values():
        for response in (client.get(url), client.post(url, {"confirm": "on"})):
            got = (response.status_code, response.get("Location"))
            if got != (302, SETUP_URL):
                reached.append(f"{response.request['REQUEST_METHOD']} {url}: {got}")
    assert not reached

    # The control: with an authenticator app the same person gets in.
    add_totp(cast.coordinator)
    assert client.get(reverse("taskforce:dashboard", args=[cast.taskforce.slug])).status_code == 200


def test_the_second_factor_is_throttled(client, ada, clock):
    secret = add_totp(ada)
    sign_in(client, ada.email)
    wrong = f"{(int(current_code(secret)) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert "Incorrect code" in enter_code(client, wrong).content.decode()

    # Even the right code is refused now, and signing in again with the password does not reset the count.
    response = enter_code(client, current_code(secret))
    assert "Too many failed attempts" in response.content.decode()
    client.post(reverse("account_logout"))
    sign_in(client, ada.email)
    response = enter_code(client, current_code(secret))
    assert "Too many failed attempts" in response.content.decode()
    assert not signed_in(client)
    assert AuditEvent.objects.filter(action="auth.mfa_failed", actor=ada).count() == 5

    clock.shift(timedelta(minutes=10, seconds=mfa_settings.TOTP_PERIOD))
    sign_in(client, ada.email)
    enter_code(client, current_code(secret))
    assert signed_in(client)


def test_the_session_key_changes_when_the_second_factor_completes_sign_in(client, ada, clock):
    secret = add_totp(ada)
    sign_in(client, ada.email)
    pending = client.cookies["sessionid"].value

    enter_code(client, current_code(secret))

    assert signed_in(client)
    assert client.cookies["sessionid"].value != pending
    assert not client.session.exists(pending)
