"""The permission matrix: every URL in the URLconf, every kind of person, the status each must get.

A view added without an entry here fails `test_every_url_is_in_the_matrix`, so nobody ships a page whose
access rules were never written down. The cast (tests/cast.py): Ada is the site admin; Alice coordinates
Harbor (and is liaison of agency C); Fred facilitates (and is a member of agency B); Larry is liaison of
agency A; Bea is liaison of agency B; Mia is a member of agency B; Oscar coordinates Lakeshore and must not
learn that anything in Harbor exists.

Rules checked for every row: anonymous visitors are sent to sign in; a 404 looks exactly like the 404 for
an id that does not exist and leaves an `access.not_found` audit event; a 403 leaves `access.forbidden`.
"""

from __future__ import annotations

import inspect
import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, include, path, resolve, reverse

from members import services
from members.models import Goal, Invitation, Subcommittee, TrainingEvent
from taskforce.models import AuditEvent
from tests.cases.matrix_entries import case_rows
from tests.cast import Cast
from tests.meetings.matrix_entries import meeting_rows
from tests.members.comms_matrix_entries import comms_rows
from tests.mous.matrix_entries import mou_rows

# The matrix is about object permissions; the second-factor gate is tested in tests/security/test_auth_mfa.py.
pytestmark = pytest.mark.usefixtures("plain_settings")

ROLES = ("anonymous", "admin", "coordinator", "facilitator", "liaison_a", "liaison_b", "member_b", "outsider")
MISSING_SLUG = "no-such-task-force"
MISSING_PK = 987654


@dataclass(frozen=True)
class Expect:
    """An expected status; with `bug`, the test is a strict xfail that names the wrong behaviour."""

    status: int
    bug: str = ""


@dataclass(frozen=True)
class Row:
    build: Callable[[Cast], dict[str, Any]]  # URL kwargs from the cast
    method: str
    expect: dict[str, int | Expect]
    data: Callable[[Cast], dict[str, Any]] = field(default=lambda cast: {})
    audits_404: bool = True  # a guarded lookup; False for the invitation link, which answers for itself


def harbor(cast: Cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug}


def agency_a(cast: Cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug, "pk": cast.agency_a.pk}


def person_a(cast: Cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug, "pk": cast.liaison_a.pk}


def pending_invitation(cast: Cast) -> dict[str, Any]:
    """An open invitation to agency A, made by its liaison on first use; resent or revoked by the test."""
    invitation = Invitation.objects.filter(
        membership=cast.agency_a, email="dee@sheriff.example.org", accepted_at__isnull=True, revoked_at__isnull=True
    ).first() or services.invitation_create(
        membership=cast.agency_a, actor=cast.liaison_a, email="dee@sheriff.example.org", full_name="Dee", role="member"
    )
    return {"slug": cast.taskforce.slug, "pk": invitation.pk}


def nothing(cast: Cast) -> dict[str, Any]:
    return {}


def goal(cast: Cast) -> dict[str, Any]:
    made = Goal.objects.filter(taskforce=cast.taskforce).first() or services.goal_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Protocols",
        objective="Write one",
        target_on=date(2027, 1, 1),
        status="on_track",
        progress=0,
    )
    return {"slug": cast.taskforce.slug, "pk": made.pk}


def subcommittee(cast: Cast) -> dict[str, Any]:
    """Chaired by Bea, who may edit it without managing the task force's work."""
    made = Subcommittee.objects.filter(taskforce=cast.taskforce).first() or services.subcommittee_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        name="Protocols",
        charge="Draft the protocol",
        chair=cast.liaison_b,
        members=[cast.member_b],
        goals=[],
    )
    return {"slug": cast.taskforce.slug, "pk": made.pk}


def training_event(cast: Cast) -> dict[str, Any]:
    """A joint training Mia attended."""
    services.training_topics_ensure(taskforce=cast.taskforce)
    made = TrainingEvent.objects.filter(taskforce=cast.taskforce).first() or services.training_event_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="CSEC 101",
        kind="joint",
        topics=list(cast.taskforce.training_topics.all()[:1]),
        trainer="",
        held_on=date(2026, 10, 1),
        duration_minutes=60,
        attendees=[cast.member_b],
    )
    return {"slug": cast.taskforce.slug, "pk": made.pk}


def certificate_of_mia(cast: Cast) -> dict[str, Any]:
    return {**training_event(cast), "person_pk": cast.member_b.pk}


def signed_in(status: int, **overrides: int | Expect) -> dict[str, int | Expect]:
    """Everyone signed in gets `status`; anonymous visitors are sent to sign in."""
    return {"anonymous": 302, **dict.fromkeys(ROLES[1:], status), **overrides}


def in_harbor(status: int = 200, **overrides: int | Expect) -> dict[str, int | Expect]:
    """Everyone of Harbor gets `status`; the outsider cannot tell Harbor exists."""
    return signed_in(status, outsider=404, **overrides)


def harbor_managers(status: int = 200, **overrides: int | Expect) -> dict[str, int | Expect]:
    """Only the site admin and Harbor's coordinators (taskforce.manage_members); others of Harbor 403."""
    return in_harbor(403, admin=status, coordinator=status, **overrides)


def work_managers(status: int = 200, **overrides: int | Expect) -> dict[str, int | Expect]:
    """taskforce.manage_work: coordinators and facilitators (and the site admin)."""
    return in_harbor(403, admin=status, coordinator=status, facilitator=status, **overrides)


def agency_a_editors(status: int = 200, **overrides: int | Expect) -> dict[str, int | Expect]:
    """members.change_membership on agency A: its liaison, Harbor's coordinators and the site admin."""
    return in_harbor(403, admin=status, coordinator=status, liaison_a=status, **overrides)


# url name -> how to build it, the method, and the status each person gets.
MATRIX: dict[str, Row] = {
    # A person with one task force goes straight to it; the admin sees the list of all of them.
    "home": Row(nothing, "GET", signed_in(302, admin=200)),
    "taskforce:create": Row(nothing, "GET", signed_in(403, admin=200)),
    "taskforce:audit_log": Row(nothing, "GET", signed_in(403, admin=200)),
    "taskforce:dashboard": Row(harbor, "GET", in_harbor()),
    "taskforce:charter": Row(harbor, "GET", in_harbor()),
    "taskforce:charter_edit": Row(harbor, "GET", harbor_managers()),
    "taskforce:charter_history": Row(harbor, "GET", in_harbor()),
    "members:my_profile": Row(nothing, "GET", signed_in(200)),
    # Anyone may open an invitation link; a made-up token is a 404 whoever asks.
    "members:invitation_accept": Row(
        lambda cast: {"token": "not-a-real-token"}, "GET", dict.fromkeys(ROLES, 404), audits_404=False
    ),
    "members:directory": Row(harbor, "GET", in_harbor()),
    "members:directory_csv": Row(harbor, "GET", in_harbor()),
    "members:directory_pdf": Row(harbor, "GET", in_harbor()),
    "members:sectors": Row(harbor, "GET", in_harbor()),
    "members:onboard": Row(harbor, "GET", harbor_managers()),
    "members:membership_detail": Row(agency_a, "GET", in_harbor()),
    "members:membership_edit": Row(agency_a, "GET", agency_a_editors()),
    "members:agency_edit": Row(agency_a, "GET", agency_a_editors()),
    "members:invite": Row(agency_a, "GET", agency_a_editors()),
    "members:withdraw": Row(agency_a, "GET", harbor_managers()),
    # POST only. An invitation is seen only by those who manage it (coordinators, the agency's liaisons):
    # to everyone else in Harbor it does not exist.
    "members:invitation_resend": Row(
        pending_invitation, "POST", in_harbor(404, admin=302, coordinator=302, liaison_a=302)
    ),
    "members:invitation_revoke": Row(
        pending_invitation, "POST", in_harbor(404, admin=302, coordinator=302, liaison_a=302)
    ),
    "members:person_detail": Row(person_a, "GET", in_harbor()),
    "members:person_roles": Row(person_a, "GET", harbor_managers()),
    "members:person_offboard": Row(person_a, "GET", harbor_managers()),
    "members:plan": Row(harbor, "GET", in_harbor()),
    "members:goal_new": Row(harbor, "GET", work_managers()),
    "members:goal_edit": Row(goal, "GET", work_managers()),
    "members:subcommittee_new": Row(harbor, "GET", work_managers()),
    "members:subcommittee_detail": Row(subcommittee, "GET", in_harbor()),
    "members:subcommittee_edit": Row(subcommittee, "GET", work_managers(liaison_b=200)),
    "members:training": Row(harbor, "GET", in_harbor()),
    "members:training_new": Row(harbor, "GET", work_managers()),
    "members:training_edit": Row(training_event, "GET", work_managers()),
    "members:training_matrix": Row(harbor, "GET", in_harbor()),
    "members:training_topics": Row(harbor, "GET", work_managers()),
    # The attendee and those who manage training; to anyone else the certificate does not exist.
    "members:training_certificate": Row(
        certificate_of_mia, "GET", in_harbor(404, admin=200, coordinator=200, facilitator=200, member_b=200)
    ),
}

# The cases app's rows live next to its test world (tests/cases/matrix_entries.py).
MATRIX.update(case_rows(Row, in_harbor, harbor_managers))
# Announcements, library, contact sheet and task force health (tests/members/comms_matrix_entries.py).
MATRIX.update(comms_rows(Row, in_harbor, harbor_managers, work_managers))
# The meetings app's rows (tests/meetings/matrix_entries.py).
MATRIX.update(meeting_rows(Row, in_harbor, signed_in))

# The MOU app's rows (tests/mous/matrix_entries.py).
MATRIX.update(mou_rows(Row, in_harbor, harbor_managers))

# allauth's own views (sign-in, password, two factors, sessions). They guard themselves; we check that an
# anonymous visitor never breaks them and is sent to sign in from every page that manages an account.
ALLAUTH_PUBLIC = {
    "account_login",
    "account_logout",
    "account_inactive",
    "account_signup",
    "account_email_verification_sent",
    "account_confirm_email",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_confirm_login_code",
    "mfa_authenticate",
    "mfa_login_webauthn",
}
ALLAUTH_MANAGEMENT = {
    "account_email",
    "account_change_password",
    "account_set_password",
    "account_reauthenticate",
    "account_request_reauthentication_code",
    "account_confirm_reauthentication_code",
    "mfa_index",
    "mfa_reauthenticate",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_list_webauthn",
    "mfa_add_webauthn",
    "mfa_reauthenticate_webauthn",
    "mfa_remove_webauthn",
    "mfa_edit_webauthn",
    "usersessions_list",
}
ALLAUTH = ALLAUTH_PUBLIC | ALLAUTH_MANAGEMENT
ALLAUTH_KWARGS: dict[str, dict[str, Any]] = {
    "account_confirm_email": {"key": "not-a-key"},
    "account_reset_password_from_key": {"uidb36": "zz", "key": "not-a-key"},
    "mfa_remove_webauthn": {"pk": MISSING_PK},
    "mfa_edit_webauthn": {"pk": MISSING_PK},
}


# --- the URLconf ------------------------------------------------------------------------------------------


def urlconf_names() -> dict[str, str]:
    """Every URL pattern as fully-qualified name -> route; unnamed patterns get a '<unnamed ...>' key."""
    found: dict[str, str] = {}

    def walk(patterns: list, namespaces: tuple[str, ...], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
                walk(pattern.url_patterns, inner, route)
            elif isinstance(pattern, URLPattern):
                name = ":".join((*namespaces, pattern.name)) if pattern.name else f"<unnamed {route}>"
                found[name] = route

    walk(get_resolver().url_patterns, (), "/")
    return found


def unlisted(urls: dict[str, str]) -> list[str]:
    """URL names of the URLconf with no matrix row (allauth's own views aside)."""
    return sorted(set(urls) - set(MATRIX) - ALLAUTH)


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
# url name -> the names of its path parameters ("slug", "pk", "token", "review_pk", ...).
PARAMETER_NAMES: dict[str, tuple[str, ...]] = {
    name: tuple(PARAMETER.findall(route)) for name, route in urlconf_names().items() if name in MATRIX
}


def view_reads(url: str, needle: str) -> bool:
    """Whether the view behind `url`, or a helper of its module it calls (two levels down), has `needle` in
    its source: "request.htmx" for the partials, "request.POST" for the form handlers."""
    seen: set[Any] = set()

    def reads(func: Any, depth: int) -> bool:
        func = inspect.unwrap(func)
        if func in seen or depth > 2 or not inspect.isfunction(func):
            return False
        seen.add(func)
        if needle in inspect.getsource(func):
            return True
        module = func.__globals__
        helpers = (module.get(name) for name in func.__code__.co_names)
        return any(
            inspect.isfunction(helper) and helper.__module__ == func.__module__ and reads(helper, depth + 1)
            for helper in helpers
        )

    return reads(resolve(url).func, 0)


def answers_htmx(url: str) -> bool:
    """The partials: views that answer htmx differently. The rest answer htmx as any request."""
    return view_reads(url, "request.htmx")


def test_the_partials_are_found():
    """The htmx-aware views known today are found (through their helpers too), so none is skipped silently."""
    found = {
        name
        for name, params in PARAMETER_NAMES.items()
        if params == ("slug",) and answers_htmx(reverse(name, kwargs={"slug": "x"}))
    }
    assert {"cases:list", "cases:mine", "members:directory"} <= found


def rows_by_builder() -> dict[str, list[str]]:
    """Rows that build their URL with the same function, keyed by the first of them.

    For checks where every request must be refused and change nothing: one world serves all the rows built
    the same way (a request that changed it fails the check anyway), instead of one world per row.
    """
    groups: dict[int, list[str]] = {}
    for name, row in MATRIX.items():
        groups.setdefault(id(row.build), []).append(name)
    return {names[0]: names for names in groups.values()}


def test_every_url_is_in_the_matrix():
    urls = urlconf_names()
    missing = unlisted(urls)
    assert not missing, (
        "URLs with no permission-matrix entry (add each to MATRIX in tests/security/test_permission_matrix.py, "
        "with the status every role must get): " + ", ".join(f"{name} ({urls[name]})" for name in missing)
    )
    stale = sorted((set(MATRIX) | ALLAUTH) - set(urls))
    assert not stale, "Matrix entries for URLs that no longer exist: " + ", ".join(stale)


def test_every_matrix_row_names_every_role():
    incomplete = {
        name: sorted(set(ROLES) - set(row.expect)) for name, row in MATRIX.items() if set(row.expect) != set(ROLES)
    }
    assert not incomplete


def _extra_urlconf(*extra) -> str:
    """A URLconf module: ours plus `extra` patterns, registered under a throwaway name for ROOT_URLCONF."""
    from taskforce import urls

    module = types.ModuleType("tests.security._urlconf_with_a_new_view")
    module.urlpatterns = [*urls.urlpatterns, *extra]
    sys.modules[module.__name__] = module
    return module.__name__


def test_a_new_view_with_an_object_in_its_path_fails_the_enumeration():
    """The guard really guards: a route added without a matrix row, at the top or inside an app, is reported."""

    def export(request, slug, pk):  # pragma: no cover - never requested
        raise AssertionError

    urlconf = _extra_urlconf(
        path("tf/<slug:slug>/secret/<int:pk>/export.csv", export, name="secret_export"),
        path("", include(([path("tf/<slug:slug>/cases/<int:pk>/leak.pdf", export, name="leak_pdf")], "cases"))),
        path("tf/<slug:slug>/unnamed/<int:pk>/", export),
    )
    with override_settings(ROOT_URLCONF=urlconf):
        missing = set(unlisted(urlconf_names()))
    assert missing - set(unlisted(urlconf_names())) == {
        "<unnamed /tf/<slug:slug>/unnamed/<int:pk>/>",
        "cases:leak_pdf",
        "secret_export",
    }


def test_every_url_inside_a_task_force_hides_it_from_the_outsider():
    """Every row with a task force in its path (every object route but the invitation link and the calendar
    feed, whose tokens are the credential) refuses Oscar with the 404 a missing task force gets."""
    inside = [name for name, params in PARAMETER_NAMES.items() if "slug" in params]
    assert len(inside) > 120
    assert [name for name in inside if _status(MATRIX[name].expect["outsider"]) != 404] == []
    assert sorted(name for name, params in PARAMETER_NAMES.items() if params and "slug" not in params) == [
        "meetings:feed",
        "members:invitation_accept",
    ]


# --- the matrix -------------------------------------------------------------------------------------------


@pytest.fixture
def cast(shared_cast):
    """Hundreds of tests here share one cast, rebuilt per module; each test still rolls back."""
    return shared_cast


def _cases():
    for name, row in MATRIX.items():
        for role in ROLES:
            expected = row.expect[role]
            marks = ()
            if isinstance(expected, Expect) and expected.bug:
                marks = (pytest.mark.xfail(strict=True, reason=expected.bug),)
            yield pytest.param(name, role, id=f"{name}[{role}]", marks=marks)


def _status(expected: int | Expect) -> int:
    return expected.status if isinstance(expected, Expect) else expected


def _request(client, method: str, url: str, data: dict[str, Any]):
    return client.post(url, data) if method == "POST" else client.generic(method, url)


def _user(cast: Cast, role: str):
    return None if role == "anonymous" else getattr(cast, role)


@pytest.mark.parametrize(("name", "role"), list(_cases()))
def test_permission_matrix(name, role, cast, client_for):
    row = MATRIX[name]
    expected = _status(row.expect[role])
    user = _user(cast, role)
    client = client_for(user)
    kwargs = row.build(cast)
    url = reverse(name, kwargs=kwargs)
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    response = _request(client, row.method, url, row.data(cast))

    assert response.status_code == expected, f"{row.method} {url} as {role}: got {response.status_code}"
    if role == "anonymous" and expected == 302:
        login = reverse("account_login")
        assert response["Location"].startswith(f"{login}?next="), response["Location"]
    new_events = AuditEvent.objects.filter(id__gt=before)
    if expected == 403:
        assert new_events.filter(action="access.forbidden", actor=user).exists(), "a 403 must be audited"
    if expected == 404:
        _assert_404_leaks_nothing(response, client, row, name, kwargs, row.data(cast), new_events, user)
    if (expected in (403, 404) or (role == "anonymous" and expected == 302)) and answers_htmx(url):
        _assert_htmx_refused_alike(client, row.method, url, row.data(cast), role, expected, response)


def _htmx(client, method: str, url: str, data: dict[str, Any]):
    """The same request as htmx sends it (an HTMX partial is a view of its own to some code paths)."""
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{url}"}
    if method == "POST":
        return client.post(url, data, headers=headers)
    return client.generic(method, url, headers=headers)


def _assert_htmx_refused_alike(client, method: str, url: str, data: dict, role: str, expected: int, plain) -> None:
    partial = _htmx(client, method, url, data)
    if role == "anonymous" and expected == 302:
        # htmx cannot follow a 302 to a full page; the sign-in redirect comes as HX-Redirect (or a plain 302).
        target = partial.get("HX-Redirect") or partial.get("Location", "")
        assert partial.status_code in (302, 401), f"htmx {url} as anonymous: got {partial.status_code}"
        assert target.startswith(reverse("account_login")), target
        return
    assert partial.status_code == expected, f"htmx {method} {url} as {role}: got {partial.status_code}"
    if expected == 404:
        assert _normalise(partial.content) == _normalise(plain.content), "an htmx 404 must look like any other"


# Per-request values: the CSP nonce and the masked CSRF token. Everything else must match byte for byte.
PER_REQUEST = re.compile(rb'(nonce="|"X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]*')


def _normalise(body: bytes) -> bytes:
    return PER_REQUEST.sub(rb"\1-", body)


def _assert_404_leaks_nothing(response, client, row: Row, name: str, kwargs: dict, data: dict, new_events, user):
    body = _normalise(response.content)
    variants = []
    if "slug" in kwargs:
        variants.append({**kwargs, "slug": MISSING_SLUG})
    # Every id in the path, one at a time: a child id (review, grant, action item, version...) as well as the pk.
    for key, value in kwargs.items():
        if isinstance(value, int):
            variants.append({**kwargs, key: MISSING_PK})
    if "token" in kwargs:
        variants.append({**kwargs, "token": "another-made-up-token"})
    for variant in variants:
        missing = _request(client, row.method, reverse(name, kwargs=variant), data)
        assert missing.status_code == 404
        assert _normalise(missing.content) == body, (
            "a 404 for an existing object must look exactly like one for a missing id"
        )
    if row.audits_404:
        refused = new_events.filter(action="access.not_found", actor=user).order_by("id").first()
        assert refused is not None, "a 404 on an existing object must be audited"
        assert refused.detail.get("exists", True) is True, refused.detail


# --- allauth ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALLAUTH))
def test_allauth_pages_never_fail_for_anonymous_visitors(name, db, client):
    url = reverse(name, kwargs=ALLAUTH_KWARGS.get(name))
    response = client.get(url)
    assert response.status_code < 500
    if name in ALLAUTH_MANAGEMENT:
        assert response.status_code == 302, f"{url}: got {response.status_code}"
        assert response["Location"].startswith(reverse("account_login")), response["Location"]


@pytest.mark.parametrize("name", sorted(ALLAUTH))
def test_allauth_pages_never_fail_for_a_member(name, cast, client_for):
    response = client_for(cast.member_b).get(reverse(name, kwargs=ALLAUTH_KWARGS.get(name)))
    assert response.status_code < 500


# --- POST-only views --------------------------------------------------------------------------------------

POST_ONLY = [name for name, row in MATRIX.items() if row.method == "POST"]


@pytest.mark.parametrize("name", POST_ONLY)
def test_post_only_views_refuse_get(name, cast, client_for):
    kwargs = MATRIX[name].build(cast)
    for role in ROLES[1:]:
        # 405 before any lookup, so a GET tells nobody whether the invitation exists.
        response = client_for(_user(cast, role)).get(reverse(name, kwargs=kwargs))
        assert response.status_code == 405, role


# --- refused GETs are refused as POSTs too ----------------------------------------------------------------


def _refused_posts():
    for name, row in MATRIX.items():
        if row.method != "GET":
            continue
        for role in ROLES:
            expected = _status(row.expect[role])
            if expected in (403, 404) or (role == "anonymous" and expected == 302):
                yield pytest.param(name, role, id=f"{name}[{role}]")


@pytest.mark.parametrize(("name", "role"), list(_refused_posts()))
def test_a_refused_page_also_refuses_a_post(name, role, cast, client_for):
    """Nobody gets around a check by posting where they may not even look (a view must check before it branches)."""
    row = MATRIX[name]
    expected = _status(row.expect[role])
    url = reverse(name, kwargs=row.build(cast))
    client = client_for(_user(cast, role))
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    writes = {"access.not_found", "access.forbidden"}

    response = client.post(url, {"confirm": "on", "reason": "x", "roles": ["coordinator"]})

    assert response.status_code in (expected, 405), f"POST {url} as {role}: got {response.status_code}"
    if expected == 302:
        assert response.status_code == 405 or response["Location"].startswith(reverse("account_login"))
    # A refusal changes nothing: the only events written are the refusal's own.
    assert set(AuditEvent.objects.filter(id__gt=before).values_list("action", flat=True)) <= writes
