"""Concurrent signatures of the same thing: exactly one takes effect (row locks on PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from mous import services
from mous.models import RequestStatus, SignatureRequest
from tests.mous.conftest import step_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_simultaneous_signatures_for_one_party_take_effect_once(cast, signing):
    req = step_for(signing, cast.liaison_a)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            services.request_sign(
                req=req,
                actor=cast.liaison_a,
                typed_name="Larry Liaison",
                typed_title="Sheriff",
                attest=True,
                document_sha256=signing.signing_version.sha256,
            )
            outcomes.append("signed")
        except services.MouError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "signed"]
    assert SignatureRequest.objects.filter(party__membership=cast.agency_a, status=RequestStatus.SIGNED).count() == 1


def test_a_signature_racing_a_new_version_either_lands_on_the_old_version_and_is_voided_or_is_refused(cast, signing):
    req = step_for(signing, cast.liaison_a)
    clause = signing.clauses.get(position=7)
    services.clause_update(
        clause=clause,
        actor=cast.coordinator,
        expected_revision=clause.revision,
        heading=clause.heading,
        body="New term.",
    )
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def sign() -> None:
        try:
            barrier.wait()
            services.request_sign(
                req=req,
                actor=cast.liaison_a,
                typed_name="Larry Liaison",
                typed_title="Sheriff",
                attest=True,
                document_sha256=signing.signing_version.sha256,
            )
        except services.MouError:
            pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    def circulate() -> None:
        try:
            barrier.wait()
            services.version_circulate(mou=signing, actor=cast.coordinator)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign), threading.Thread(target=circulate)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    signing.refresh_from_db()
    assert signing.signing_version.number == 2
    # Whatever the order, nothing signed counts for the version now out for signature.
    assert not signing.signing_version.requests.filter(status=RequestStatus.SIGNED).exists()
