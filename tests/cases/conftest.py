from __future__ import annotations

import pytest

from tests.cases.world import World, build_world


@pytest.fixture(autouse=True)
def _no_mfa_gate(settings):
    # Everyone with case access must use two factors (tested in test_mfa_check); these tests are about access.
    settings.REQUIRE_MFA = False


@pytest.fixture
def world(cast) -> World:
    return build_world(cast)
