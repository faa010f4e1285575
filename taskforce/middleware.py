"""Session lifetime and the second-factor requirement.

Both do their work in `process_view`, not `__call__`: MessageMiddleware comes after them in MIDDLEWARE, so
only by the time views are about to run can they leave the person a message explaining the redirect.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from taskforce import audit, permissions
from taskforce.auth import (
    LOGOUT_AUDITED_ATTR,
    SESSION_LAST_SEEN,
    SESSION_LOGIN_AT,
    has_second_factor,
    start_session_clock,
    user_requires_mfa,
)

# Activity is written to the session at most this often, so a page that polls does not rewrite the
# session row on every request. The idle timeout is therefore precise to within this much.
LAST_SEEN_RESOLUTION_SECONDS = 60

# URL names a person without a required second factor may still reach: sign-in, sign-out,
# reauthentication, the MFA setup pages and their session list (all allauth).
MFA_EXEMPT_URL_NAME_PREFIXES = ("account_", "mfa_", "usersessions_")


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _htmx_redirect(url: str) -> HttpResponse:
    # htmx follows HX-Redirect with a full page load whatever the status; 401 keeps any swap from
    # treating the (empty) body as content.
    response = HttpResponse(status=401)
    response["HX-Redirect"] = url
    return response


def _htmx_current_path(request: HttpRequest) -> str:
    """The page the htmx request came from (path and query only), so sign-in can return there."""
    current = request.headers.get("HX-Current-URL", "")
    if not current or not url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(current)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _login_url(next_url: str) -> str:
    if next_url:
        return redirect_to_login(next_url).url
    return resolve_url(settings.LOGIN_URL)


def _setting_timedelta(name: str, default: timedelta) -> timedelta:
    value = getattr(settings, name, default)
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def _describe(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


class SessionTimeoutMiddleware:
    """Sign people out after SESSION_IDLE_TIMEOUT without activity, and SESSION_ABSOLUTE_TIMEOUT after sign-in.

    Django's own SESSION_COOKIE_AGE cannot do either: it is renewed on every save and lives in the cookie.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        session = request.session
        login_at = session.get(SESSION_LOGIN_AT)
        if login_at is None:
            # Signed in by something that bypassed the login signal: the clock starts now.
            start_session_clock(request)
            return None
        last_seen = session.get(SESSION_LAST_SEEN, login_at)
        now = timezone.now().timestamp()
        idle = _setting_timedelta("SESSION_IDLE_TIMEOUT", timedelta(minutes=30))
        absolute = _setting_timedelta("SESSION_ABSOLUTE_TIMEOUT", timedelta(hours=12))

        if now - login_at >= absolute.total_seconds():
            message = _("For your security, sessions end %(duration)s after sign-in. Please sign in again.") % {
                "duration": _describe(absolute)
            }
            return self._expire(request, "absolute", message)
        if now - last_seen >= idle.total_seconds():
            message = _("You were signed out after %(duration)s without activity. Please sign in again.") % {
                "duration": _describe(idle)
            }
            return self._expire(request, "idle", message)

        if now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
            session[SESSION_LAST_SEEN] = now
        return None

    def _expire(self, request: HttpRequest, reason: str, message: str) -> HttpResponse:
        audit.record("auth.session_expired", actor=request.user, request=request, reason=reason)
        setattr(request, LOGOUT_AUDITED_ATTR, True)  # one event for this sign-out, not two
        logout(request)
        messages.info(request, message)
        if _is_htmx(request):
            return _htmx_redirect(_login_url(_htmx_current_path(request)))
        # After signing in again a GET can be repeated; a POST's form data is gone, so do not go back to it.
        return HttpResponseRedirect(_login_url(request.get_full_path() if request.method == "GET" else ""))


class RequireSecondFactorMiddleware:
    """With settings.REQUIRE_MFA, people who reach sensitive data must set up a second factor first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not getattr(settings, "REQUIRE_MFA", False):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        match = request.resolver_match
        # allauth's URLs are not namespaced; an app's "members:account_x" must not slip through.
        if (
            match is not None
            and not match.namespace
            and (match.url_name or "").startswith(MFA_EXEMPT_URL_NAME_PREFIXES)
        ):
            return None
        if settings.STATIC_URL and request.path_info.startswith(settings.STATIC_URL):
            return None
        # The second factor first: one query, and it settles the question for everyone who enrolled,
        # who are most people the requirement applies to (the requirement checks take several).
        if has_second_factor(user) or not user_requires_mfa(user):
            return None

        messages.warning(
            request,
            _(
                "Your account can reach confidential information, so it must be protected with two-factor "
                "authentication. Set up an authenticator app to continue."
            ),
        )
        setup_url = reverse("mfa_activate_totp")
        if _is_htmx(request):
            return _htmx_redirect(setup_url)
        return HttpResponseRedirect(setup_url)


# Where the session remembers when (and from which client) allauth's session list was last updated.
SESSION_ACTIVITY_TRACKED = "taskforce.activity_tracked"


class UserSessionActivityMiddleware:
    """allauth's session list (USERSESSIONS_TRACK_ACTIVITY), updated at most once a minute per session.

    allauth's own middleware rewrites the row on every request: five queries and a write on every page.
    The list shows when a session was last seen, to the minute; a new IP address or browser is written at once.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if (
            getattr(settings, "USERSESSIONS_TRACK_ACTIVITY", False)
            and session is not None
            and session.session_key
            and user is not None
            and user.is_authenticated
        ):
            from allauth.account.adapter import get_adapter
            from allauth.usersessions.models import UserSession

            # The key too: a session whose key was cycled is another row in the list.
            client = [
                session.session_key,
                get_adapter().get_client_ip(request),
                request.META.get("HTTP_USER_AGENT", "")[:255],
            ]
            tracked = session.get(SESSION_ACTIVITY_TRACKED)
            now = timezone.now().timestamp()
            if not tracked or tracked[1:] != client or now - tracked[0] >= LAST_SEEN_RESOLUTION_SECONDS:
                UserSession.objects.create_from_request(request)
                session[SESSION_ACTIVITY_TRACKED] = [now, *client]
        return self.get_response(request)


class TaskForceTimeZoneMiddleware:
    """Show times in the time zone of the task force named in the URL (the site's zone elsewhere).

    Reads only the zone name; whether the person may see the task force is decided by the view, and a
    page they may not see is a 404 that shows no times.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        # The whole row, once per request (permissions.url_taskforce): the view's taskforce_for reuses it.
        taskforce = permissions.url_taskforce(request, view_kwargs.get("slug"))
        if taskforce is not None and taskforce.time_zone:
            timezone.activate(taskforce.time_zone)
        return None
