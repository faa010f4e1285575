"""permissions.get_with_perms: the same answer as get_for_user then perms_on, from one query for cases."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory

from cases import services
from cases.models import Case, Level
from taskforce import permissions
from taskforce.models import AuditEvent
from tests.cases.world import make_case


@pytest.fixture
def cases(cast):
    standard = make_case(cast, number="STD-1", lead=cast.agency_b, actor=cast.liaison_b)
    restricted = make_case(cast, number="RES-1", lead=cast.agency_b, actor=cast.liaison_b, confidentiality="restricted")
    services.grant_create(
        case=restricted, actor=cast.liaison_b, level=Level.SUMMARY, justification="x", person=cast.coordinator
    )
    return [standard, restricted]


def test_it_answers_as_get_for_user_then_perms_on_for_everyone(cast, cases):
    people = [cast.admin, cast.coordinator, cast.facilitator, cast.liaison_a, cast.liaison_b, cast.member_b]
    for person in [*people, cast.outsider]:
        for case in cases:
            try:
                expected = permissions.get_for_user(person, "cases.view_case", Case.objects.all(), pk=case.pk)
            except Http404:
                with pytest.raises(Http404):
                    permissions.get_with_perms(person, Case.objects.all(), pk=case.pk)
                continue
            got, perms = permissions.get_with_perms(person, Case.objects.all(), pk=case.pk)
            assert got == expected
            assert perms == permissions.perms_on(person, expected), (person, case)


def test_an_unseen_case_and_a_missing_one_are_the_same_audited_404(cast, cases):
    request = RequestFactory().get("/")
    request.user = cast.outsider
    for pk in (cases[1].pk, 10**9):
        with pytest.raises(Http404):
            permissions.get_with_perms(cast.outsider, Case.objects.all(), request=request, pk=pk)
    refused = AuditEvent.objects.filter(action="access.not_found", detail__model="cases.case")
    assert sorted(event.detail["exists"] for event in refused) == [False, True]
