"""Two people at once on the same thing.

Edits (through the real views, two signed-in clients): both load the edit page, the first saves, the second
save is refused with the first person's text shown next to the second's, nothing is lost, and saving again
from the conflict page (now current) goes through. MOU clause, charter, meeting minutes, agenda item.

Signatures and approvals (real threads, each with its own PostgreSQL connection, released together by a
barrier): exactly one takes effect. MOU signature (and a signature racing a new version), MOU approval step,
objection resolution, minutes approval, case access-request decision.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection, models
from django.test import Client
from django.urls import reverse

from cases import services as case_services
from cases.models import AccessRequest, CaseGrant
from meetings import services as meeting_services
from meetings.models import AgendaItem, Minutes, MinutesStatus
from mous import services
from mous.models import ObjectionStatus, RecipientRole, RequestStatus, SignatureRequest
from taskforce import audit
from taskforce.models import AuditEvent, TaskForce
from tests.cases.world import build_world
from tests.meetings.conftest import meeting, series  # noqa: F401 - fixtures
from tests.mous.conftest import circulated, mou, parties, signing, step_for  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _no_second_factor_gate(settings):
    settings.REQUIRE_MFA = False  # the gate has its own tests; these are about concurrency


# --- edits through the views ------------------------------------------------------------------------------


def form_data(form) -> dict:
    """What a browser would post back for an unchanged form (model choices as primary keys)."""
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        if isinstance(value, list | tuple):
            data[name] = [getattr(v, "pk", v) for v in value]
        else:
            data[name] = getattr(value, "pk", value)
        if value is True:
            data[name] = "on"
    return data


@dataclass
class EditPage:
    url: str
    field: str  # the text both people change
    saved: Callable[[], str]  # what is stored now


def two_people_edit(first: Client, second: Client, page: EditPage) -> None:
    mine, theirs = first.get(page.url), second.get(page.url)
    assert mine.status_code == theirs.status_code == 200
    first_text, second_text = "First person's wording <b>", "Second person's wording"

    saved = first.post(page.url, {**form_data(mine.context["form"]), page.field: first_text})
    assert saved.status_code == 302, saved.content.decode()[-1500:]
    assert page.saved() == first_text

    refused = second.post(page.url, {**form_data(theirs.context["form"]), page.field: second_text})
    body = refused.content.decode()
    assert refused.status_code == 200, "the stale save is refused, on the page, not redirected away"
    assert "Someone else" in body
    # Nothing lost: the second person sees the first's saved text and still has their own.
    assert html.escape(first_text) in body or html.escape(first_text, quote=False) in body
    assert html.escape(second_text) in body
    assert page.saved() == first_text

    # Merging and saving again from the conflict page is allowed: it now starts from the current version.
    merged = f"{first_text} + {second_text}"
    again = second.post(page.url, {**form_data(refused.context["form"]), page.field: merged})
    assert again.status_code == 302, again.content.decode()[-1500:]
    assert page.saved() == merged


@pytest.mark.django_db
def test_two_people_editing_one_mou_clause(cast, client_for, mou):  # noqa: F811
    clause = mou.clauses.get(position=2)
    page = EditPage(
        reverse("mous:clause_edit", args=[mou.taskforce.slug, mou.pk, clause.pk]),
        "body",
        lambda: type(clause).objects.get(pk=clause.pk).body,
    )
    two_people_edit(client_for(cast.coordinator), client_for(cast.admin), page)


@pytest.mark.django_db
def test_two_people_editing_the_charter(cast, client_for):
    page = EditPage(
        reverse("taskforce:charter_edit", args=[cast.taskforce.slug]),
        "mission_statement",
        lambda: TaskForce.objects.get(pk=cast.taskforce.pk).mission_statement,
    )
    two_people_edit(client_for(cast.coordinator), client_for(cast.admin), page)


@pytest.mark.django_db
def test_two_people_editing_the_minutes(cast, client_for, meeting):  # noqa: F811
    minutes = meeting_services.minutes_draft(meeting=meeting, actor=cast.facilitator)
    page = EditPage(
        reverse("meetings:minutes_edit", args=[meeting.taskforce.slug, meeting.pk]),
        "summary",
        lambda: Minutes.objects.get(pk=minutes.pk).summary,
    )
    two_people_edit(client_for(cast.facilitator), client_for(cast.coordinator), page)


@pytest.mark.django_db
def test_two_people_editing_one_agenda_item(cast, client_for, meeting):  # noqa: F811
    item = meeting_services.item_add(
        meeting=meeting, actor=cast.facilitator, title="Shelter capacity", description="Numbers from the county."
    )
    page = EditPage(
        reverse("meetings:item_edit", args=[meeting.taskforce.slug, meeting.pk, item.pk]),
        "description",
        lambda: AgendaItem.objects.get(pk=item.pk).description,
    )
    two_people_edit(client_for(cast.facilitator), client_for(cast.coordinator), page)


# --- simultaneous signatures and approvals -------------------------------------------------------------------


def race(*attempts: Callable[[], object], refusals: tuple[type[Exception], ...]) -> list[str]:
    """Run the attempts at the same moment, each on its own thread and database connection.

    Returns "done" or "refused" per attempt; anything else raised fails the test.
    """
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def run(attempt: Callable[[], object]) -> None:
        try:
            barrier.wait(10)
            attempt()
            outcomes.append("done")
        except refusals:
            outcomes.append("refused")
        except BaseException as exc:  # reported below, with the test's own traceback
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a racer is stuck (a deadlock?)"
    assert not errors, errors
    return sorted(outcomes)


@pytest.fixture
def slow_audit(monkeypatch):
    """Every audit write waits a moment. Services write their audit row inside their transaction, after the
    checks, so the racers are sure to overlap there: without the row locks both would pass the checks
    (tried: drop a select_for_update and these tests fail)."""
    record = audit.record

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", slow)


def count(model: type[models.Model], **filters) -> int:
    return model.objects.filter(**filters).count()


def larry_signs(req, cast, agreement) -> None:
    """Larry signs his agency's step of the version out for signature, as the signing page would."""
    services.request_sign(
        req=req,
        actor=cast.liaison_a,
        typed_name="Larry Liaison",
        typed_title="Sheriff",
        attest=True,
        document_sha256=agreement.signing_version.sha256,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_audit")
def test_two_simultaneous_signatures_for_one_party_take_effect_once(cast, signing):  # noqa: F811
    req = step_for(signing, cast.liaison_a)

    def sign() -> None:
        larry_signs(req, cast, signing)

    assert race(sign, sign, refusals=(services.MouError,)) == ["done", "refused"]
    assert count(SignatureRequest, party__membership=cast.agency_a, status=RequestStatus.SIGNED) == 1
    assert count(AuditEvent, action="mou.signed", actor=cast.liaison_a) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_audit")
def test_a_signature_racing_a_new_version_either_lands_on_the_old_version_and_is_voided_or_is_refused(
    cast,
    signing,  # noqa: F811
):
    req = step_for(signing, cast.liaison_a)
    clause = signing.clauses.get(position=7)
    services.clause_update(
        clause=clause,
        actor=cast.coordinator,
        expected_revision=clause.revision,
        heading=clause.heading,
        body="New term.",
    )

    def sign() -> None:
        larry_signs(req, cast, signing)

    def circulate() -> None:
        services.version_circulate(mou=signing, actor=cast.coordinator)

    outcomes = race(sign, circulate, refusals=(services.MouError,))
    assert "done" in outcomes
    signing.refresh_from_db()
    assert signing.signing_version.number == 2
    # Whatever the order, nothing signed counts for the version now out for signature.
    assert not signing.signing_version.requests.filter(status=RequestStatus.SIGNED).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_audit")
def test_two_simultaneous_approvals_of_one_mou_step_take_effect_once(cast, signing):  # noqa: F811
    req = step_for(signing, cast.liaison_a)
    # Make Larry's step an internal approval (the agency's approver) rather than a signature.
    SignatureRequest.objects.filter(pk=req.pk).update(role=RecipientRole.APPROVER)

    def approve() -> None:
        services.request_approve(req=req, actor=cast.liaison_a)

    assert race(approve, approve, refusals=(services.MouError,)) == ["done", "refused"]
    assert count(SignatureRequest, pk=req.pk, status=RequestStatus.APPROVED) == 1
    assert count(AuditEvent, action="mou.approved", actor=cast.liaison_a) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_audit")
def test_an_objection_accepted_and_withdrawn_at_once_is_resolved_once(cast, circulated):  # noqa: F811
    objection = services.objection_raise(
        mou=circulated,
        version=circulated.latest_version,
        clause_number=3,
        actor=cast.liaison_a,
        reason="We cannot respond within 24 hours in rural areas.",
        proposed_wording="Responds within 48 hours.",
    )

    def accept() -> None:
        services.objection_accept(objection=objection, actor=cast.coordinator)

    def withdraw() -> None:
        services.objection_withdraw(objection=objection, actor=cast.liaison_a)

    assert race(accept, withdraw, refusals=(services.MouError,)) == ["done", "refused"]
    objection.refresh_from_db()
    assert objection.status in (ObjectionStatus.ACCEPTED, ObjectionStatus.WITHDRAWN)
    assert count(AuditEvent, action__in=["mou.objection_accepted", "mou.objection_withdrawn"]) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_audit")
def test_two_simultaneous_approvals_of_the_minutes_take_effect_once(cast, meeting):  # noqa: F811
    minutes = meeting_services.minutes_draft(meeting=meeting, actor=cast.facilitator)
    meeting_services.minutes_circulate(minutes=minutes, actor=cast.facilitator)

    def by(person) -> Callable[[], object]:
        return lambda: meeting_services.minutes_approve(minutes=minutes, actor=person)

    outcomes = race(by(cast.facilitator), by(cast.coordinator), refusals=(meeting_services.MeetingError,))
    assert outcomes == ["done", "refused"]
    approved = Minutes.objects.get(pk=minutes.pk)
    assert approved.status == MinutesStatus.APPROVED
    assert count(AuditEvent, action="minutes.approved") == 1
    # The seal matches the one approval that happened.
    assert meeting_services.minutes_verify(approved)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_audit")
def test_approving_and_declining_one_access_request_at_once_decides_it_once(cast):
    world = build_world(cast)
    # The release rule: the lead agency may share with Social Services (the requester's agency) once a
    # release names it.
    case_services.release_create(
        case=world.case,
        actor=cast.liaison_b,
        agencies=[cast.agency_c],
        signed_by="guardian",
        scope="Placement planning",
        signed_on=world.release.signed_on,
        expires_on=world.release.expires_on,
    )
    grants_before = count(CaseGrant, case=world.case)

    def approve() -> None:
        case_services.access_request_decide(access_request=world.access_request, actor=cast.liaison_b, approve=True)

    def decline() -> None:
        case_services.access_request_decide(
            access_request=world.access_request, actor=cast.liaison_b, approve=False, reason="Not needed"
        )

    assert race(approve, approve, decline, refusals=(case_services.ShareRefused,)) == ["done", "refused", "refused"]
    decided = AccessRequest.objects.get(pk=world.access_request.pk)
    assert decided.status in (AccessRequest.Status.APPROVED, AccessRequest.Status.DECLINED)
    new_grants = count(CaseGrant, case=world.case) - grants_before
    assert new_grants == (1 if decided.status == AccessRequest.Status.APPROVED else 0)
    assert count(AuditEvent, action__in=["case.access_approved", "case.access_declined"]) == 1
