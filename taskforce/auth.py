"""Sign-in glue around django-allauth: the account adapter, who must use two factors, ending sessions,
and the audit receivers for every authentication event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from allauth.account import app_settings as account_settings
from allauth.account import signals as account_signals
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from allauth.core.internal import ratelimit  # what the adapter itself uses; the public one lacks config
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import backends as auth_backends
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from taskforce import audit

if TYPE_CHECKING:
    from members.models import User

# Session keys written at sign-in and read by taskforce.middleware.SessionTimeoutMiddleware.
SESSION_LOGIN_AT = "taskforce.login_at"
SESSION_LAST_SEEN = "taskforce.last_seen"

# Set on a request whose logout is already audited under a more precise action (e.g. a timeout).
LOGOUT_AUDITED_ATTR = "_taskforce_logout_audited"

# Authenticators that are a second factor on their own. Recovery codes are only a fallback.
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
# Set on the user by the backends below (whether they have one of those), read by has_second_factor.
HAS_SECOND_FACTOR_ATTR = "_has_second_factor"


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # The same words whether the account exists or not, so the lockout does not reveal accounts.
        "too_many_login_attempts": _(
            "Too many failed attempts. For your security, sign-in is paused for a few minutes. "
            "Try again later, or reset your password."
        ),
    }

    def is_open_for_signup(self, request) -> bool:
        # Nobody signs up: people join through an invitation from their task force.
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # The lockout is allauth's login_failed rate limit plus our fixed lock; record every refusal.
        try:
            if is_locked_out(_login_label(credentials)):
                raise self.validation_error("too_many_login_attempts")
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            audit.record("auth.locked_out", request=request, actor=None, actor_label=_login_label(credentials))
            raise

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        # allauth's window slides: five failures spread over nine minutes would lock for only one.
        # When a failure uses up the per-account allowance, lock for the full period from now.
        if not ratelimit.consume(
            request,
            app="allauth.account",
            action="login_failed",
            key=self._get_login_attempts_cache_key(request, **credentials),
            config={"login_failed": _per_account_rates()},
            dry_run=True,
        ):
            lock_out(_login_label(credentials))


def _per_account_rates() -> str:
    rates = account_settings.RATE_LIMITS.get("login_failed") or ""
    return ",".join(rate for rate in rates.split(",") if rate.strip().endswith("/key"))


def _lockout_cache_key(login: str) -> str:
    return "taskforce:lockout:" + hashlib.sha256(login.strip().lower().encode()).hexdigest()


def lock_out(login: str) -> None:
    minutes = getattr(settings, "LOGIN_LOCKOUT_MINUTES", 10)
    cache.set(_lockout_cache_key(login), True, timeout=minutes * 60)


def is_locked_out(login: str) -> bool:
    return bool(login) and cache.get(_lockout_cache_key(login)) is not None


def release_lockout(login: str) -> None:
    """Lift the fixed lockout early (a successful password reset proves control of the mailbox)."""
    cache.delete(_lockout_cache_key(login))


def _login_label(credentials: dict[str, Any]) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")[:254]


# --- who needs a second factor -------------------------------------------------


def _is_site_admin(user: User) -> bool:
    return bool(user.is_superuser)


def _coordinates_a_taskforce(user: User) -> bool:
    return user.groups.filter(coordinated_taskforce__isnull=False).exists()


# Each check answers "does this person reach sensitive data?". Apps append their own (the cases app
# adds "has access to a case") from their AppConfig.ready, so taskforce never imports them.
MFA_REQUIRED_CHECKS: list[Callable[[User], bool]] = [_is_site_admin, _coordinates_a_taskforce]


def user_requires_mfa(user: User) -> bool:
    """Whether this person must have a second factor before using the site."""
    if not getattr(user, "is_authenticated", False):
        return False
    return any(check(user) for check in MFA_REQUIRED_CHECKS)


def _second_factors() -> QuerySet[Authenticator]:
    return Authenticator.objects.filter(type__in=SECOND_FACTOR_TYPES)


def has_second_factor(user: User) -> bool:
    # Read with the user row when the request's user came through the backends below: the gate then costs no
    # query of its own on every page. Any other user object asks the database.
    loaded = getattr(user, HAS_SECOND_FACTOR_ATTR, None)
    if loaded is not None:
        return bool(loaded)
    return _second_factors().filter(user_id=user.pk).exists()


class _LoadsSecondFactor:
    """get_user() reads whether the person has a second factor in the same query as their row.

    The two-factor gate asks it on every request, right after the session's user is loaded; as an annotation
    it is as fresh as the user row itself (read at the start of each request), so the gate is no weaker.
    """

    def get_user(self, user_id: Any) -> User | None:
        model = get_user_model()
        has_factor = Exists(_second_factors().filter(user_id=OuterRef("pk")))
        try:
            user = model._default_manager.annotate(**{HAS_SECOND_FACTOR_ATTR: has_factor}).get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(_LoadsSecondFactor, auth_backends.ModelBackend):
    """Django's ModelBackend; the user loaded with their second factor (settings.AUTHENTICATION_BACKENDS)."""


class AllauthBackend(_LoadsSecondFactor, AuthenticationBackend):
    """allauth's backend (sign-in by email); the user loaded with their second factor."""


# --- sessions -------------------------------------------------------------------


def end_all_sessions(user: User) -> int:
    """End every signed-in session of this person, in every browser; returns how many were ended.

    Offboarding calls this so that removing someone takes effect now, not when their cookie expires.
    """
    # Not UserSession.objects.purge_and_list: it skips sessions whose user is already deactivated, and
    # those must go too, or reactivating the account would bring them back to life.
    ended = 0
    for user_session in UserSession.objects.filter(user_id=user.pk):
        ended += user_session.exists()
        user_session.end()
    return ended


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _end_sessions_of_a_deactivated_account(sender, instance, **kwargs) -> None:
    # A deactivated account's sessions are refused while it is inactive, but they are still valid rows:
    # reactivating it would bring every old cookie back to life. End them when the account is switched off,
    # whoever does it (offboarding also calls end_all_sessions itself).
    if not instance.is_active:
        end_all_sessions(instance)


def start_session_clock(request: HttpRequest) -> None:
    now = timezone.now().timestamp()
    request.session[SESSION_LOGIN_AT] = now
    request.session[SESSION_LAST_SEEN] = now


# --- audit receivers ---------------------------------------------------------


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        start_session_clock(request)
    audit.record("auth.login", actor=user, request=request)


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None and not getattr(request, LOGOUT_AUDITED_ATTR, False):
        audit.record("auth.logout", actor=user, request=request)


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    audit.record("auth.login_failed", request=request, actor=None, actor_label=_login_label(credentials))


@receiver(account_signals.password_changed)
def _audit_password_changed(sender, request, user, **kwargs) -> None:
    audit.record("auth.password_changed", actor=user, request=request)


@receiver(account_signals.password_reset)
def _audit_password_reset(sender, request, user, **kwargs) -> None:
    # allauth clears its own failure count on a reset; the fixed lockout follows suit.
    release_lockout(user.email)
    audit.record("auth.password_reset", actor=user, request=request)


@receiver(mfa_signals.authenticator_added)
def _audit_authenticator_added(sender, request, user, authenticator, **kwargs) -> None:
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        action = "auth.recovery_codes_generated"
    else:
        action = "auth.mfa_enabled"
    audit.record(action, actor=user, request=request, authenticator=authenticator.type)


@receiver(mfa_signals.authenticator_removed)
def _audit_authenticator_removed(sender, request, user, authenticator, **kwargs) -> None:
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        action = "auth.recovery_codes_removed"
    else:
        action = "auth.mfa_disabled"
    audit.record(action, actor=user, request=request, authenticator=authenticator.type)


@receiver(mfa_signals.authenticator_reset)
def _audit_authenticator_reset(sender, request, user, authenticator, **kwargs) -> None:
    audit.record("auth.recovery_codes_generated", actor=user, request=request, authenticator=authenticator.type)


@receiver(mfa_signals.authenticator_used)
def _audit_authenticator_used(sender, request, user, authenticator, **kwargs) -> None:
    # A recovery code is a one-time fallback: its use means a device may be lost, so it is worth a row.
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        # Fetched again: allauth marked the code used on its own copy of the row.
        unused = len(Authenticator.objects.get(pk=authenticator.pk).wrap().get_unused_codes())
        audit.record("auth.recovery_code_used", actor=user, request=request, unused_codes=unused)


@receiver(mfa_signals.authentication_failed)
def _audit_mfa_failed(sender, request, user, authenticator, **kwargs) -> None:
    # The password was right, so the account is known: record it as the actor.
    audit.record(
        "auth.mfa_failed",
        actor=user,
        request=request,
        authenticator=authenticator.type,
        reauthentication=bool(kwargs.get("reauthentication")),
    )
