"""Cross-task-force isolation: the people running Lakeshore can do nothing in Harbor.

Oscar coordinates Lakeshore and is the liaison of its sheriff; Lena facilitates it. Every URL of the
permission matrix (tests/security/test_permission_matrix.py) that lives in a task force, built with Harbor's
objects, is tried by them: POSTed under Harbor's slug, and, for URLs naming an object, asked for with GET and
POST under Lakeshore's own slug — Harbor's ids inside the task force they run, where their roles are real.
Every answer is a refusal (404, 403, or 405 for a GET on a POST-only view), and no row of the database
changes but the audit trail recording the refusals. The matrix itself checks every GET under Harbor's slug
(Oscar's 404 byte for byte) and tests/members/test_access.py the GETs under Lakeshore's slug for Oscar; this
adds the facilitator, the POSTs and the database.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from members import services
from members.models import Role, User
from tests.cast import join
from tests.conftest import FAST_HASHERS
from tests.security.table_state import changed_tables, table_state
from tests.security.test_permission_matrix import MATRIX, PARAMETER_NAMES, rows_by_builder

pytestmark = pytest.mark.usefixtures("plain_settings")

# Rows a refusal may write: the audit events, and the session a signed-in test client carries.
MAY_CHANGE = frozenset({"taskforce_auditevent", "django_session", "usersessions_usersession"})
REFUSED = {403, 404, 405}
# What someone trying their luck would post: confirmations, a reason, a role, a status.
HOPEFUL_POST = {"confirm": "on", "reason": "x", "roles": ["coordinator"], "status": "done", "acknowledged": "1"}


@pytest.fixture(scope="module")
def lakeshore_staff(_module_cast, django_db_blocker) -> dict[str, User]:
    """Lakeshore's coordinator Oscar and a facilitator, Lena, added to the module's cast once."""
    cast = _module_cast
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        facilitator = join(cast.other_membership, actor=cast.outsider, email="lena@lake.example.org", name="Lena")
        services.role_grant(taskforce=cast.other_taskforce, user=facilitator, role=Role.FACILITATOR, actor=cast.admin)
    return {"coordinator": cast.outsider, "facilitator": facilitator}


@pytest.fixture
def cast(shared_cast):
    return shared_cast


# Rows that live inside a task force (have a slug), grouped by how their URL is built: one Harbor world each.
GROUPS = {
    first: [name for name in names if "slug" in PARAMETER_NAMES[name]]
    for first, names in rows_by_builder().items()
    if any("slug" in PARAMETER_NAMES[name] for name in names)
}


def attempts(name: str, kwargs: dict[str, Any], lake: str) -> list[tuple[str, str]]:
    """(method, url): a POST under Harbor's slug; GET and POST under Lakeshore's when the URL names an object."""
    found = [("POST", reverse(name, kwargs=kwargs))]
    if set(kwargs) - {"slug"}:
        foreign = reverse(name, kwargs={**kwargs, "slug": lake})
        found += [("GET", foreign), ("POST", foreign)]
    return found


@pytest.mark.parametrize("first", sorted(GROUPS))
def test_lakeshore_staff_can_do_nothing_in_harbor(first, cast, lakeshore_staff):
    kwargs = MATRIX[first].build(cast)
    clients = {}
    for role, person in lakeshore_staff.items():
        clients[role] = Client()
        clients[role].force_login(person)
    before = table_state()

    let_in = {}
    for name in GROUPS[first]:
        data: dict[str, Any] = {**HOPEFUL_POST, **MATRIX[name].data(cast)}
        for method, url in attempts(name, kwargs, cast.other_taskforce.slug):
            for role, client in clients.items():
                status = (client.post(url, data) if method == "POST" else client.get(url)).status_code
                if status not in REFUSED:
                    let_in[f"{role} {method} {url}"] = status

    assert not let_in, f"Lakeshore's people got through: {let_in}"
    assert changed_tables(before, table_state(), ignore=MAY_CHANGE) == {}


def test_the_isolation_test_covers_every_task_force_url():
    covered = {name for names in GROUPS.values() for name in names}
    assert covered == {name for name, params in PARAMETER_NAMES.items() if "slug" in params}
    assert len(covered) > 120
