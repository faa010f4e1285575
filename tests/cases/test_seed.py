from __future__ import annotations

import io

from django.core.management import call_command

from cases.models import Case


def test_the_demo_cases_seed_on_top_of_the_demo(db, settings):
    settings.REQUIRE_MFA = False
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_cases", stdout=io.StringIO())
    assert set(Case.objects.values_list("number", flat=True)) == {"CAC-2026-014", "SO-2026-101", "CAC-2026-020"}
    call_command("seed_cases", stdout=io.StringIO())  # a second run changes nothing
    assert Case.objects.count() == 3
