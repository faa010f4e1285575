"""Cross-site request forgery: every unsafe request needs the token, and no GET changes anything.

Every URL in the URLconf is covered, ours and allauth's, with the object ids of the permission matrix
(tests/security/test_permission_matrix.py), so a view added later is covered without anyone remembering to.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.cast import Cast
from tests.security.table_state import changed_tables, table_state
from tests.security.test_permission_matrix import ALLAUTH, ALLAUTH_KWARGS, MATRIX, MISSING_PK, urlconf_names

# CsrfViewMiddleware treats every method but GET, HEAD, OPTIONS and TRACE alike; POST is what forms send and
# DELETE what an htmx hx-delete would.
UNSAFE_METHODS = ("POST", "DELETE")
CSRF_REFUSAL = "CSRF verification failed"
PROJECT_APPS = ("taskforce", "members", "mous", "meetings", "cases")

SESSION_TABLES = frozenset({"django_session", "usersessions_usersession"})

# Tables a GET may write, and why each is not a change of state anybody acts on:
GET_MAY_WRITE = frozenset(
    {
        # The audit log records refusals (access.forbidden / access.not_found) and sign-in events; that is
        # its purpose, and it is append-only.
        "taskforce_auditevent",
        # The session row carries the idle clock (taskforce.middleware.SessionTimeoutMiddleware) and
        # one-time messages; it is the visitor's own state, not the application's.
        "django_session",
        # allauth's session list records the last IP, user agent and time seen (USERSESSIONS_TRACK_ACTIVITY),
        # which is what lets a person see and end their other sessions.
        "usersessions_usersession",
    }
)


# CSRF and GET safety do not depend on the second factor (its gate is tested in test_auth_mfa.py).
pytestmark = pytest.mark.usefixtures("plain_settings")


@pytest.fixture
def cast(shared_cast) -> Cast:
    return shared_cast


def is_allauths(name: str) -> bool:
    """allauth's own pages: those the matrix lists, and any a newer allauth adds (the matrix flags those)."""
    return name in ALLAUTH or (name not in MATRIX and urlconf_names().get(name, "").startswith("/accounts/"))


def url_kwargs(name: str, cast: Cast) -> dict[str, Any] | None:
    if name in MATRIX:
        return MATRIX[name].build(cast)
    if is_allauths(name):
        return ALLAUTH_KWARGS.get(name)
    raise AssertionError(f"{name} is not in the permission matrix")


def every_view() -> list[tuple[str, Callable[..., Any]]]:
    """(route, callback) for every URL pattern, however deeply included."""
    found: list[tuple[str, Callable[..., Any]]] = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                found.append((route, pattern.callback))

    walk(get_resolver().url_patterns, "/")
    return found


# --- no view opts out --------------------------------------------------------------------------------


def _is_exempt(callback: Callable[..., Any]) -> bool:
    view_class = getattr(callback, "view_class", None)
    dispatch = getattr(view_class, "dispatch", None)
    return bool(getattr(callback, "csrf_exempt", False) or getattr(dispatch, "csrf_exempt", False))


def test_no_view_in_the_urlconf_is_csrf_exempt():
    views = every_view()
    assert len(views) > 100  # the walk found the URLconf, allauth's included

    exempt = [route for route, callback in views if _is_exempt(callback)]

    assert not exempt, f"csrf_exempt views: {exempt}"


CSRF_BYPASS = re.compile(r"\b(csrf_exempt|_dont_enforce_csrf_checks|csrf_processing_done)\b")


def test_no_project_code_turns_csrf_checks_off():
    """Also the ways around the check the URL walk cannot see (a view called from another, a middleware)."""
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}: {match[0]}"
        for app in PROJECT_APPS
        for path in sorted((settings.BASE_DIR / app).rglob("*.py"))
        for match in CSRF_BYPASS.finditer(path.read_text())
    ]
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert not offenders


# --- every unsafe request without the token is refused -----------------------------------------------


def _victim(user) -> Client:
    """A browser with a session and a CSRF cookie, whose owner a hostile page makes send a request."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.cookies[settings.CSRF_COOKIE_NAME] = _get_new_csrf_string()
    return client


ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>")


def sample_url(name: str, route: str, slug: str) -> str:
    """The URL with the real task force's slug and ids that exist nowhere.

    The CSRF check runs before the view, so the objects need not exist: were a view ever let through without
    the token, it would answer (a 404, a redirect) instead of the CSRF refusal, and fail the test.
    """
    if name in ALLAUTH_KWARGS:
        return reverse(name, kwargs=ALLAUTH_KWARGS[name])
    kwargs: dict[str, Any] = {}
    for match in ROUTE_PARAMETER.finditer(route):
        key = match["name"] or match["group"]
        converter = match["converter"] or "str"
        if converter == "int":
            kwargs[key] = MISSING_PK
        elif converter == "uuid":
            kwargs[key] = uuid.UUID(int=MISSING_PK)
        else:
            kwargs[key] = slug if key == "slug" else "not-a-key"
    return reverse(name, kwargs=kwargs)


def _refused_by_csrf(response) -> bool:
    return response.status_code == 403 and CSRF_REFUSAL in response.content.decode()


@pytest.mark.postgres
def test_unsafe_requests_without_the_token_are_refused(cast):
    # CsrfViewMiddleware.process_view runs before any view, sign-in requirement or our own middleware's
    # process_view, so a visitor with only a CSRF cookie meets exactly the check a signed-in one does
    # (test_a_forged_form_from_another_site_is_refused signs in), at a fraction of the cost per request.
    victim = _victim(None)
    urls = [sample_url(name, route, cast.taskforce.slug) for name, route in urlconf_names().items()]
    assert len(urls) > 100
    before = table_state()

    not_refused = [
        f"{method} {url}: {response.status_code}"
        for url in urls
        for method in UNSAFE_METHODS
        for response in [victim.generic(method, url, b"confirm=on", content_type="application/x-www-form-urlencoded")]
        if not _refused_by_csrf(response)
    ]

    assert not not_refused
    # The victim's own session, made by signing in, may be written; nothing else.
    assert changed_tables(before, table_state(), ignore=SESSION_TABLES) == {}


@pytest.mark.parametrize("name", ["account_login", "account_change_password", "members:person_offboard"])
def test_a_forged_form_from_another_site_is_refused(name, cast):
    """A made-up token and the attacker's Origin: sign-in (login CSRF), a password, a person's access."""
    url = sample_url(name, urlconf_names()[name], cast.taskforce.slug)

    forged = _victim(cast.admin).post(
        url,
        {"csrfmiddlewaretoken": _get_new_csrf_string(), "login": "ada@example.org", "password": "x"},
        headers={"Origin": "https://evil.example"},
    )

    assert _refused_by_csrf(forged)


def test_a_post_with_the_token_gets_past_the_check(cast):
    """The control for the test above: the same client, with its token, is not refused by the CSRF check."""
    client = _victim(cast.coordinator)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(reverse("account_logout"), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert SESSION_KEY not in client.session


# --- no GET changes anything -------------------------------------------------------------------------

# Writes a GET of one particular page may make, each judged acceptable, and why. Anything else is a bug.
GET_WRITES_BY_URL: dict[str, dict[str, str]] = {
    # allauth mirrors the account's address into its own table the first time the page is opened.
    "account_email": {"account_emailaddress": "allauth's copy of the person's own address"},
    # Reading an announcement records that this person read it: the GET is the event being recorded; one
    # row per reader and announcement, about the reader only. SameSite=Lax keeps another site's <img> from
    # doing it, and a forged top-level visit can at worst mark one announcement read.
    "members:announcement": {"members_announcementread": "the reader's own read receipt"},
    # Opening one's own signature request records "viewed" in the e-signature trail (and audits it), as
    # signature services do; only the addressee's own request, and only from "sent".
    "mous:request": {"mous_signaturerequest": "viewed_at of the addressee's own request"},
    # The executed agreement is rendered once and its bytes and hash kept, so every download is the same
    # file: a write-once cache of an immutable document.
    "mous:pdf": {"mous_mouversion": "the executed PDF, rendered once and sealed"},
    # Default reference rows created on first use, idempotently (the same rows whoever opens it first).
    "cases:recommendations": {"cases_recommendation": "the default recommendations, seeded on first use"},
    "members:training_matrix": {"members_trainingtopic": "the default training topics, seeded on first use"},
    "members:training_new": {"members_trainingtopic": "the default training topics, seeded on first use"},
    "members:training_topics": {"members_trainingtopic": "the default training topics, seeded on first use"},
    # The roster of a meeting not yet ended is materialised (one row per invitee, nobody marked present)
    # when the facilitator opens the live page or prints the sign-in sheet.
    "meetings:run": {"meetings_attendance": "the roster of invitees, nobody marked"},
    "meetings:signin_pdf": {"meetings_attendance": "the roster of invitees, nobody marked"},
}

# Most to least privileged: the first and the last role let in see the two ends of what a page does.
ROLE_ORDER = ("admin", "coordinator", "facilitator", "liaison_b", "liaison_a", "member_b", "outsider")


def _roles_let_in(name: str) -> list[str]:
    """The most and the least privileged roles the matrix lets through (a refusal only writes its audit row)."""
    if is_allauths(name):
        return ["member_b"]
    row = MATRIX[name]
    let_in = [role for role in ROLE_ORDER if _status(row.expect[role]) < 400]
    return sorted({let_in[0], let_in[-1]}, key=ROLE_ORDER.index) if let_in else []


def _status(expected: Any) -> int:
    return getattr(expected, "status", expected)


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(urlconf_names()))
def test_no_get_changes_anything(name, cast):
    url = reverse(name, kwargs=url_kwargs(name, cast))  # builds the page's objects first
    allowed = GET_MAY_WRITE | set(GET_WRITES_BY_URL.get(name, {}))
    roles = _roles_let_in(name)
    clients = {role: Client() for role in roles}
    for role, client in clients.items():
        client.force_login(getattr(cast, role))  # before the snapshot: signing in writes last_login
    before = table_state()

    for role, client in clients.items():
        response = client.get(url)
        assert response.status_code < 500, f"GET {url} as {role}: {response.status_code}"
        # Signing out is a change of state too (a forged link to /accounts/logout/ must not do it).
        assert SESSION_KEY in client.session, f"GET {url} signed {role} out"
        if not response.get("Content-Type", "").startswith("text/html"):
            break  # a PDF or CSV: rendering it for a second person costs seconds and shows nothing new

    changes = changed_tables(before, table_state(), ignore=frozenset(allowed))
    assert changes == {}, f"GET {url} as {' and '.join(roles)} wrote to the database: {changes}"


def test_every_exception_names_a_real_page():
    assert set(GET_WRITES_BY_URL) <= set(urlconf_names())
