"""The base layout's own cost on every task-force page: the person, their second factor, the task force in the
URL and their permissions on it, each read once per request, with the same 404/403 answers as before."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from taskforce.models import AuditEvent

pytestmark = pytest.mark.django_db


def _sql(client, url: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        status = client.get(url).status_code
    return status, [query["sql"] for query in captured.captured_queries]


def test_the_second_factor_is_read_with_the_person(cast, client_for, settings):
    settings.REQUIRE_MFA = True
    TOTP.activate(cast.coordinator, generate_totp_secret())
    client = client_for(cast.coordinator)
    url = reverse("taskforce:charter", args=[cast.taskforce.slug])
    client.get(url)  # the session's clock and activity are written on the first request
    status, sql = _sql(client, url)
    assert status == 200
    assert not [q for q in sql if q.lstrip().startswith('SELECT 1 AS "a" FROM "mfa_authenticator"')]
    # Removing it takes effect on the next request, from whatever session.
    Authenticator.objects.filter(user=cast.coordinator).delete()
    assert client.get(url).url == reverse("mfa_activate_totp")


def test_the_task_force_and_the_persons_grants_are_read_once(cast, client_for):
    client = client_for(cast.liaison_a)
    url = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
    client.get(url)
    status, sql = _sql(client, url)
    assert status == 200
    # The person's task forces with their grants, once, for the time-zone middleware, the view, the navigation
    # and the cards; no other read of the task force.
    grants = [q for q in sql if q.startswith('(SELECT "taskforce_taskforceuserobjectpermission"')]
    assert len(grants) == 1
    assert not [q for q in sql if q.startswith('SELECT "taskforce_taskforce"')]


def test_another_task_force_is_a_404_and_audited(cast, client_for):
    response = client_for(cast.liaison_a).get(reverse("taskforce:charter", args=[cast.other_taskforce.slug]))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="access.not_found", actor=cast.liaison_a).exists()


def test_seeing_without_managing_is_a_403_and_audited(cast, client_for):
    response = client_for(cast.liaison_a).get(reverse("taskforce:health", args=[cast.taskforce.slug]))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.forbidden", actor=cast.liaison_a).exists()
