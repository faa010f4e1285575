"""An MOU between the Sheriff's Office (agency A) and the Child Advocacy Center (agency B) of Harbor.

Larry (liaison A) and Bea (liaison B) are their agencies' authorized signatories; Alice coordinates.
"""

from __future__ import annotations

import pytest

from members import services as member_services
from mous import services
from mous.models import Mou


def name_signatory(membership, person, actor):
    member_services.membership_update_profile(
        membership=membership,
        actor=actor,
        roles_and_responsibilities=membership.roles_and_responsibilities or "Investigates trafficking of minors.",
        response_commitments=membership.response_commitments or "Responds within 24 hours.",
        signatory=person,
        alternate_liaison=membership.alternate_liaison,
        acknowledge_commitment=True,
    )
    membership.refresh_from_db()


@pytest.fixture
def parties(cast):
    name_signatory(cast.agency_a, cast.liaison_a, cast.liaison_a)
    name_signatory(cast.agency_b, cast.liaison_b, cast.liaison_b)
    return [cast.agency_a, cast.agency_b]


@pytest.fixture
def mou(cast, parties) -> Mou:
    return services.mou_create(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Harbor Anti-Trafficking MOU", parties=parties
    )


@pytest.fixture
def circulated(cast, mou) -> Mou:
    services.version_circulate(mou=mou, actor=cast.coordinator)
    mou.refresh_from_db()
    return mou


@pytest.fixture
def signing(cast, circulated) -> Mou:
    services.mou_send_for_signature(mou=circulated, actor=cast.coordinator)
    circulated.refresh_from_db()
    return circulated


def out_for_signature(cast) -> Mou:
    """The `signing` fixture's MOU as a function, for tests that build the cast themselves (transactional ones)."""
    name_signatory(cast.agency_a, cast.liaison_a, cast.liaison_a)
    name_signatory(cast.agency_b, cast.liaison_b, cast.liaison_b)
    mou = services.mou_create(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Harbor MOU", parties=[cast.agency_a, cast.agency_b]
    )
    services.version_circulate(mou=mou, actor=cast.coordinator)
    services.mou_send_for_signature(mou=mou, actor=cast.coordinator)
    mou.refresh_from_db()
    return mou


def step_for(mou: Mou, user):
    return mou.signing_version.requests.get(user=user)


def sign(mou: Mou, user, **overrides):
    req = step_for(mou, user)
    data = {
        "typed_name": user.full_name,
        "typed_title": "Director",
        "attest": True,
        "document_sha256": mou.signing_version.sha256,
    }
    data.update(overrides)
    return services.request_sign(req=req, actor=user, **data)
