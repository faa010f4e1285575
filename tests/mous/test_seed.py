"""The demo MOU seed: runs after the members demo, once, and leaves the demo liaison a signature to give."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from mous.models import LetterOfUnderstanding, Mou, Objection, RequestStatus

pytestmark = pytest.mark.django_db


def test_it_seeds_an_agreement_part_way_through_signing_once():
    call_command("seed_demo")
    call_command("seed_mous")
    mou = Mou.objects.get()
    assert mou.versions.count() == 2 and mou.signing_version.number == 2
    assert Objection.objects.get().resolved_in == mou.signing_version
    requests = mou.signing_version.requests
    assert requests.get(user__email="liaison@example.org").status == RequestStatus.SENT
    assert requests.filter(status=RequestStatus.SIGNED).count() >= 10
    assert LetterOfUnderstanding.objects.filter(
        party__membership__agency__name="Harbor Hospitality Association"
    ).exists()
    call_command("seed_mous")
    assert Mou.objects.count() == 1
