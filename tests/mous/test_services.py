"""Every state change of an MOU, through its services."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from mous import documents, services
from mous.models import (
    Clause,
    LouStatus,
    MouStatus,
    MouVersion,
    ObjectionStatus,
    RequestStatus,
    SignatureRequest,
    canonical_text,
    sha256_hex,
)
from taskforce import agenda, permissions
from taskforce.models import AuditEvent
from taskforce.services import StaleEdit
from tests.mous.conftest import sign, step_for

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def clause(mou, position: int) -> Clause:
    return mou.clauses.get(position=position)


def revise(cast, mou, position: int, body: str) -> Clause:
    c = clause(mou, position)
    return services.clause_update(
        clause=c, actor=cast.coordinator, expected_revision=c.revision, heading=c.heading, body=body
    )


# --- drafting --------------------------------------------------------------------------------------------


def test_it_drafts_from_the_domain_template_with_each_partys_roles(cast, mou):
    headings = [c.heading for c in mou.clauses.all()]
    assert headings == [
        "Purpose and shared mission",
        "Coordination of the task force",
        "Roles, responsibilities and response of each party",
        "Information sharing and confidentiality",
        "Communication and coordination on cases and victims",
        "Training commitments",
        "Term, amendment and withdrawal",
        "Signatures",
    ]
    roles = clause(mou, 3).body
    assert "Sheriff's Office" in roles and "Child Advocacy Center" in roles
    assert "Investigates trafficking of minors." in roles and "Responds within 24 hours." in roles
    assert "survivor's signed" in clause(mou, 4).body
    assert mou.status == MouStatus.DRAFT
    assert AuditEvent.objects.filter(action="mou.created", object_id=str(mou.pk)).exists()


def test_it_grants_coordinators_parties_and_liaisons(cast, mou):
    assert permissions.has_perm(cast.coordinator, "mous.manage_mou", mou)
    assert permissions.has_perm(cast.member_b, "mous.view_mou", mou)
    assert not permissions.has_perm(cast.member_b, "mous.comment_mou", mou)
    assert permissions.has_perm(cast.liaison_a, "mous.comment_mou", mou)
    assert not permissions.has_perm(cast.liaison_a, "mous.manage_mou", mou)
    assert not permissions.has_perm(cast.outsider, "mous.view_mou", mou)


def test_a_non_party_agency_does_not_see_it(cast):
    mou = services.mou_create(taskforce=cast.taskforce, actor=cast.coordinator, title="A only", parties=[cast.agency_a])
    assert not permissions.has_perm(cast.liaison_b, "mous.view_mou", mou)
    services.mou_set_parties(mou=mou, actor=cast.coordinator, parties=[cast.agency_a, cast.agency_b])
    assert permissions.has_perm(cast.liaison_b, "mous.comment_mou", mou)
    services.mou_set_parties(mou=mou, actor=cast.coordinator, parties=[cast.agency_a])
    assert not permissions.has_perm(cast.liaison_b, "mous.view_mou", mou)


def test_it_copies_an_earlier_mou(cast, circulated):
    revise(cast, circulated, 6, "Annual joint training.")
    copy = services.mou_create(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Copy", parties=[cast.agency_a], copy_of=circulated
    )
    # The copy takes the last circulated text, not unsaved draft work.
    assert [c.body for c in copy.clauses.all()] == [c.body for c in circulated.latest_version.clauses.all()]
    assert copy.copied_from == circulated


def test_an_edit_from_a_stale_revision_conflicts_and_keeps_the_saved_text(cast, mou):
    c = clause(mou, 2)
    services.clause_update(clause=c, actor=cast.coordinator, expected_revision=1, heading=c.heading, body="First")
    with pytest.raises(StaleEdit) as caught:
        services.clause_update(clause=c, actor=cast.admin, expected_revision=1, heading=c.heading, body="Second")
    assert caught.value.current.body == "First"
    assert clause(mou, 2).body == "First"
    assert clause(mou, 2).revision == 2


def test_clauses_can_be_added_moved_and_deleted(cast, mou):
    added = services.clause_add(mou=mou, actor=cast.coordinator, heading="Data retention", body="Seven years.")
    assert added.position == 9
    services.clause_move(clause=added, actor=cast.coordinator, direction=-1)
    assert clause(mou, 8).heading == "Data retention"
    services.clause_delete(clause=clause(mou, 8), actor=cast.coordinator, expected_revision=1)
    assert mou.clauses.count() == 8
    assert [c.position for c in mou.clauses.all()] == list(range(1, 9))


# --- versions --------------------------------------------------------------------------------------------


def test_circulating_freezes_an_immutable_hashed_version(cast, mou):
    v1 = services.version_circulate(mou=mou, actor=cast.coordinator)
    assert v1.number == 1
    clauses = [(c.number, c.heading, c.body) for c in v1.clauses.all()]
    assert v1.canonical_text == canonical_text(mou.title, clauses)
    assert v1.sha256 == sha256_hex(v1.canonical_text)
    revise(cast, mou, 3, "Changed.")
    v1.refresh_from_db()
    assert v1.clauses.get(number=3).body != "Changed."
    v2 = services.version_circulate(mou=mou, actor=cast.coordinator)
    assert v2.number == 2 and v2.sha256 != v1.sha256
    mou.refresh_from_db()
    assert mou.status == MouStatus.REVIEW


def test_canonical_text_is_deterministic_and_documented():
    a = canonical_text("T", [(1, "H", "Body\r\nline  ")])
    b = canonical_text("T", [(1, "H", "Body\nline")])
    assert a == b == '{"clauses":[{"body":"Body\\nline","heading":"H","number":1}],"title":"T"}'


def test_circulating_an_unchanged_draft_is_refused(cast, circulated):
    with pytest.raises(services.MouError, match="Nothing changed"):
        services.version_circulate(mou=circulated, actor=cast.coordinator)


def test_the_diff_is_clause_by_clause(cast, circulated):
    from mous.rendering import diff_versions

    revise(cast, circulated, 3, "Entirely new roles.")
    services.clause_add(mou=circulated, actor=cast.coordinator, heading="Evaluation", body="Yearly.")
    v2 = services.version_circulate(mou=circulated, actor=cast.coordinator)
    v1 = circulated.versions.get(number=1)
    rows = diff_versions(list(v1.clauses.all()), list(v2.clauses.all()))
    states = [r.state for r in rows]
    assert states.count("changed") == 1 and states.count("added") == 1 and states.count("same") == 7
    changed = next(r for r in rows if r.state == "changed")
    assert "<ins" in changed.inline and "Entirely new roles." in changed.right


# --- objections -------------------------------------------------------------------------------------------


def test_a_party_liaison_objects_and_the_next_version_resolves_it(cast, circulated):
    v1 = circulated.latest_version
    objection = services.objection_raise(
        mou=circulated,
        version=v1,
        clause_number=3,
        actor=cast.liaison_a,
        reason="We cannot respond within 24 hours in rural areas.",
        proposed_wording="Responds within 48 hours.",
    )
    assert objection.status == ObjectionStatus.OPEN and objection.party.membership == cast.agency_a
    services.objection_comment(objection=objection, actor=cast.coordinator, body="Would 36 hours work?")
    services.objection_comment(objection=objection, actor=cast.liaison_a, body="48 please.")
    assert objection.comments.count() == 2
    with pytest.raises(services.MouError, match="still open"):
        services.mou_send_for_signature(mou=circulated, actor=cast.coordinator)
    revise(cast, circulated, 3, clause(circulated, 3).body.replace("24 hours", "48 hours"))
    v2 = services.version_circulate(mou=circulated, actor=cast.coordinator)
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.REVISED
    assert objection.resolved_in == v2


def test_an_objection_on_an_unchanged_clause_stays_open(cast, circulated):
    objection = services.objection_raise(
        mou=circulated, version=circulated.latest_version, clause_number=5, actor=cast.liaison_b, reason="Too vague."
    )
    revise(cast, circulated, 6, "Other clause changed.")
    services.version_circulate(mou=circulated, actor=cast.coordinator)
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.OPEN and objection.resolved_in is None


def test_accepting_puts_the_proposed_wording_in_the_draft(cast, circulated):
    objection = services.objection_raise(
        mou=circulated,
        version=circulated.latest_version,
        clause_number=6,
        actor=cast.liaison_b,
        reason="Six months is too short.",
        proposed_wording="Within twelve months.",
    )
    services.objection_accept(objection=objection, actor=cast.coordinator)
    assert clause(circulated, 6).body == "Within twelve months."
    v2 = services.version_circulate(mou=circulated, actor=cast.coordinator)
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.ACCEPTED and objection.resolved_in == v2


def test_only_the_objecting_agency_withdraws(cast, circulated):
    objection = services.objection_raise(
        mou=circulated, version=circulated.latest_version, clause_number=2, actor=cast.liaison_a, reason="x"
    )
    with pytest.raises(services.NotAuthorized):
        services.objection_withdraw(objection=objection, actor=cast.liaison_b)
    services.objection_withdraw(objection=objection, actor=cast.liaison_a)
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.WITHDRAWN


@pytest.mark.parametrize("who", ["member_b", "outsider", "coordinator"])
def test_only_a_party_liaison_may_object(cast, circulated, who):
    with pytest.raises(services.NotAuthorized):
        services.objection_raise(
            mou=circulated, version=circulated.latest_version, clause_number=1, actor=getattr(cast, who), reason="x"
        )
    assert AuditEvent.objects.filter(action="mou.objection_refused").exists()


def test_a_non_party_liaison_may_not_object(cast, parties):
    mou = services.mou_create(taskforce=cast.taskforce, actor=cast.coordinator, title="A", parties=[cast.agency_a])
    version = services.version_circulate(mou=mou, actor=cast.coordinator)
    with pytest.raises(services.NotAuthorized):
        services.objection_raise(mou=mou, version=version, clause_number=1, actor=cast.liaison_b, reason="x")


def test_open_objections_go_to_the_agenda_or_say_there_is_no_meeting(cast, circulated, monkeypatch):
    services.objection_raise(
        mou=circulated, version=circulated.latest_version, clause_number=3, actor=cast.liaison_a, reason="x"
    )
    proposals = []
    monkeypatch.setattr(agenda, "_handler", proposals.append)
    services.objections_to_agenda(mou=circulated, actor=cast.coordinator)
    assert proposals[0].item_type == "mou_objections" and "Clause 3" in proposals[0].description
    assert circulated.objections.get().agenda_proposed_at is not None

    def no_meeting(proposal):
        raise agenda.NoUpcomingMeeting("No meeting is scheduled.")

    monkeypatch.setattr(agenda, "_handler", no_meeting)
    with pytest.raises(agenda.NoUpcomingMeeting):
        services.objections_to_agenda(mou=circulated, actor=cast.coordinator)


# --- signatures -------------------------------------------------------------------------------------------


def test_sending_needs_a_signatory_for_every_party(cast, parties):
    mou = services.mou_create(
        taskforce=cast.taskforce, actor=cast.coordinator, title="With C", parties=[*parties, cast.agency_c]
    )
    services.version_circulate(mou=mou, actor=cast.coordinator)
    with pytest.raises(services.MouError, match="Social Services"):
        services.mou_send_for_signature(mou=mou, actor=cast.coordinator)


def test_both_signatories_sign_and_the_mou_is_executed(cast, signing, django_capture_on_commit_callbacks):
    version = signing.signing_version
    assert step_for(signing, cast.liaison_a).status == RequestStatus.SENT
    services.request_view(req=step_for(signing, cast.liaison_a), actor=cast.liaison_a)
    assert step_for(signing, cast.liaison_a).status == RequestStatus.VIEWED
    sign(signing, cast.liaison_a)
    signing.refresh_from_db()
    assert signing.status == MouStatus.SIGNING
    with django_capture_on_commit_callbacks(execute=True):
        sign(signing, cast.liaison_b)
    signing.refresh_from_db()
    assert signing.status == MouStatus.EXECUTED and signing.executed_version == version
    signature = step_for(signing, cast.liaison_b)
    assert signature.document_sha256 == version.sha256 and signature.attested
    assert signature.typed_title == "Director"
    events = AuditEvent.objects.filter(action="mou.signed", object_id=str(signing.pk))
    assert events.count() == 2 and events.first().detail["sha256"] == version.sha256
    version.refresh_from_db()
    assert version.executed_at is not None and version.executed_pdf_sha256


def test_nobody_signs_for_an_agency_they_are_not_the_signatory_of(cast, signing):
    req = step_for(signing, cast.liaison_a)
    for intruder in (cast.liaison_b, cast.coordinator, cast.member_b, cast.admin):
        with pytest.raises(services.NotAuthorized):
            services.request_sign(
                req=req,
                actor=intruder,
                typed_name="X",
                typed_title="Y",
                attest=True,
                document_sha256=signing.signing_version.sha256,
            )
    assert AuditEvent.objects.filter(action="mou.sign_refused").count() == 4
    assert step_for(signing, cast.liaison_a).status == RequestStatus.SENT


def test_a_signatory_replaced_after_sending_can_no_longer_sign(cast, signing):
    from tests.mous.conftest import name_signatory

    name_signatory(cast.agency_a, None, cast.liaison_a)
    with pytest.raises(services.NotAuthorized):
        sign(signing, cast.liaison_a)


def test_signing_needs_the_attestation_and_the_exact_hash(cast, signing):
    with pytest.raises(services.MouError, match="Attest"):
        sign(signing, cast.liaison_a, attest=False)
    with pytest.raises(services.MouError, match="not the version"):
        sign(signing, cast.liaison_a, document_sha256="0" * 64)


def test_a_second_signature_of_the_same_party_and_version_does_not_take_effect(cast, signing):
    sign(signing, cast.liaison_a)
    with pytest.raises(services.MouError):
        sign(signing, cast.liaison_a)
    # Even bypassing the service's checks, the database keeps one signature per party and version.
    from django.db import IntegrityError, transaction

    req = step_for(signing, cast.liaison_a)
    clone = SignatureRequest(
        version=req.version,
        party=req.party,
        user=cast.liaison_b,
        role="signer",
        status="signed",
        typed_name="X",
        attested=True,
        document_sha256="x",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()


def test_a_later_version_voids_signatures_and_asks_again(cast, signing):
    sign(signing, cast.liaison_a)
    old = signing.signing_version
    revise(cast, signing, 7, "Three years.")
    v2 = services.version_circulate(mou=signing, actor=cast.coordinator)
    signing.refresh_from_db()
    assert signing.status == MouStatus.SIGNING and signing.signing_version == v2
    assert set(old.requests.values_list("status", flat=True)) == {RequestStatus.VOIDED}
    assert step_for(signing, cast.liaison_a).status == RequestStatus.SENT
    with pytest.raises(services.MouError, match="no longer open"):
        services.request_sign(
            req=old.requests.get(user=cast.liaison_a),
            actor=cast.liaison_a,
            typed_name="L",
            typed_title="T",
            attest=True,
            document_sha256=old.sha256,
        )


def test_approvers_act_in_order_before_the_signatory(cast, circulated):
    party_a = circulated.parties.get(membership=cast.agency_a)
    services.party_routing_set(
        party=party_a, actor=cast.coordinator, approvers=[cast.admin], copied=[cast.facilitator], signing_in_order=True
    )
    services.mou_send_for_signature(mou=circulated, actor=cast.coordinator)
    circulated.refresh_from_db()
    approval = step_for(circulated, cast.admin)
    assert approval.status == RequestStatus.SENT
    assert step_for(circulated, cast.liaison_a).status == RequestStatus.WAITING
    with pytest.raises(services.MouError):
        sign(circulated, cast.liaison_a)
    services.request_approve(req=approval, actor=cast.admin)
    assert step_for(circulated, cast.liaison_a).status == RequestStatus.SENT
    from mous.selectors import status_matrix

    states = {r.party.membership.agency.name: r.state for r in status_matrix(circulated)}
    assert states == {"Sheriff's Office": "approved", "Child Advocacy Center": "sent"}


def test_decline_notifies_the_coordinator_and_copied_people(cast, circulated):
    from taskforce.models import Notification

    party_b = circulated.parties.get(membership=cast.agency_b)
    services.party_routing_set(
        party=party_b, actor=cast.coordinator, approvers=[], copied=[cast.member_b], signing_in_order=True
    )
    services.mou_send_for_signature(mou=circulated, actor=cast.coordinator)
    circulated.refresh_from_db()
    services.request_decline(
        req=step_for(circulated, cast.liaison_b), actor=cast.liaison_b, reason="resources", text="No staff."
    )
    recipients = set(Notification.objects.filter(kind=services.PARTY_DECLINED).values_list("recipient", flat=True))
    assert recipients == {cast.coordinator.pk, cast.member_b.pk}
    from mous.selectors import status_matrix

    assert {r.party.membership.agency.name: r.state for r in status_matrix(circulated)}["Child Advocacy Center"] == (
        "declined"
    )
    assert AuditEvent.objects.filter(action="mou.declined", detail__reason="resources").exists()


def test_a_letter_of_understanding_replaces_a_declined_signature(cast, signing, django_capture_on_commit_callbacks):
    services.request_decline(req=step_for(signing, cast.liaison_b), actor=cast.liaison_b, reason="terms", text="No.")
    sign(signing, cast.liaison_a)
    signing.refresh_from_db()
    assert signing.status == MouStatus.SIGNING
    party_b = signing.parties.get(membership=cast.agency_b)
    with django_capture_on_commit_callbacks(execute=True):
        letter = services.lou_issue(party=party_b, actor=cast.coordinator)
    signing.refresh_from_db()
    assert signing.status == MouStatus.EXECUTED
    assert letter.accepted_clause_numbers == list(range(1, 9))
    with pytest.raises(services.NotAuthorized):
        services.lou_acknowledge(letter=letter, actor=cast.liaison_a)
    services.lou_acknowledge(letter=letter, actor=cast.liaison_b)
    letter.refresh_from_db()
    assert letter.status == LouStatus.ACKNOWLEDGED
    text = pdf_text(documents.lou_pdf(letter))
    assert "Letter of understanding" in text and "Child Advocacy Center" in text
    assert "Investigates trafficking of minors." in text and "Acknowledged" in text
    executed = pdf_text(documents.executed_pdf(signing.executed_version))
    assert "letter of understanding" in executed


def test_the_letter_leaves_out_clauses_the_agency_objects_to(cast, circulated):
    services.objection_raise(
        mou=circulated, version=circulated.latest_version, clause_number=4, actor=cast.liaison_b, reason="x"
    )
    letter = services.lou_issue(party=circulated.parties.get(membership=cast.agency_b), actor=cast.coordinator)
    assert 4 not in letter.accepted_clause_numbers and 3 in letter.accepted_clause_numbers
    services.lou_withdraw(letter=letter, actor=cast.coordinator)
    letter.refresh_from_db()
    assert letter.status == LouStatus.WITHDRAWN


def test_the_executed_pdf_has_clauses_signature_page_and_certificate(cast, signing):
    sign(signing, cast.liaison_a)
    sign(signing, cast.liaison_b)
    signing.refresh_from_db()
    version = services.store_executed_pdf(version_id=signing.executed_version_id)
    text = pdf_text(bytes(version.executed_pdf))
    flat = "".join(text.split())
    assert "Purpose and shared mission" in text and "Information sharing and confidentiality" in text
    assert "Signatures" in text and "Signing certificate" in text
    assert "Larry Liaison, Director" in text and "Bea Liaison, Director" in text
    assert version.sha256 in flat
    # Stored once: every download is the same file.
    again = services.store_executed_pdf(version_id=version.pk)
    assert bytes(again.executed_pdf) == bytes(version.executed_pdf)


def test_renewal_drafts_from_the_executed_version_and_asks_everyone_again(cast, signing):
    sign(signing, cast.liaison_a)
    sign(signing, cast.liaison_b)
    signing.refresh_from_db()
    executed = signing.executed_version
    services.mou_renew(mou=signing, actor=cast.coordinator)
    signing.refresh_from_db()
    assert signing.status == MouStatus.EXECUTED and signing.renewal_of == executed
    services.version_circulate(mou=signing, actor=cast.coordinator, note="Renewal")
    services.mou_send_for_signature(mou=signing, actor=cast.coordinator)
    # A revision during the renewal's signing voids only the renewal's steps.
    revise(cast, signing, 6, "Annual refresher training.")
    v2 = services.version_circulate(mou=signing, actor=cast.coordinator)
    signing.refresh_from_db()
    signing.refresh_from_db()
    assert signing.status == MouStatus.SIGNING and signing.executed_version == executed
    assert v2.requests.filter(role="signer").count() == 2
    sign(signing, cast.liaison_a)
    sign(signing, cast.liaison_b)
    signing.refresh_from_db()
    assert signing.status == MouStatus.EXECUTED and signing.executed_version == v2
    assert MouVersion.objects.filter(mou=signing, executed_at__isnull=False).count() == 2
    # The first term's signatures are still on record.
    assert executed.requests.filter(status=RequestStatus.SIGNED).count() == 2


def test_an_executed_mou_cannot_be_edited_without_a_renewal(cast, signing):
    sign(signing, cast.liaison_a)
    sign(signing, cast.liaison_b)
    with pytest.raises(services.MouError, match="renewal"):
        revise(cast, signing, 1, "x")


# --- hostile input ----------------------------------------------------------------------------------------


def test_script_in_a_clause_never_reaches_html_or_pdf_as_markup(cast, mou):
    from mous.rendering import clause_html

    hostile = "<script>alert(1)</script> **bold** <img src=x onerror=alert(2)> [x](javascript:alert(3))"
    html = clause_html(hostile)
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html and "<strong>bold</strong>" in html
    revise(cast, mou, 1, hostile)
    services.version_circulate(mou=mou, actor=cast.coordinator)
    mou.refresh_from_db()
    services.mou_send_for_signature(mou=mou, actor=cast.coordinator)
    mou.refresh_from_db()
    sign(mou, cast.liaison_a)
    sign(mou, cast.liaison_b)
    mou.refresh_from_db()
    text = pdf_text(documents.executed_pdf(mou.executed_version))
    assert "<script>alert(1)</script>" in text  # shown as text, never run


def test_a_party_is_asked_again_after_declining_or_a_new_signatory(cast, signing):
    from tests.mous.conftest import name_signatory

    services.request_decline(req=step_for(signing, cast.liaison_b), actor=cast.liaison_b, reason="terms", text="No")
    party_b = signing.parties.get(membership=cast.agency_b)
    # The CAC names Mia its signatory after talking it over; it is asked again, on the same version.
    name_signatory(cast.agency_b, cast.member_b, cast.liaison_b)
    party_b.refresh_from_db()
    services.party_resend(party=party_b, actor=cast.coordinator)
    assert step_for(signing, cast.member_b).status == RequestStatus.SENT
    assert not signing.signing_version.requests.filter(user=cast.liaison_b).exists()
    assert AuditEvent.objects.get(action="mou.party_asked_again").detail["previous"][0]["status"] == "declined"
    sign(signing, cast.liaison_a)
    sign(signing, cast.member_b)
    signing.refresh_from_db()
    assert signing.status == MouStatus.EXECUTED
    with pytest.raises(services.MouError):
        services.party_resend(party=party_b, actor=cast.coordinator)


def test_open_objections_land_on_the_next_meetings_agenda_through_the_meetings_app(cast, circulated):
    """The real seam: the meetings app's handler puts one MOU-objections item on the next meeting."""
    from datetime import time, timedelta

    from django.utils import timezone

    from meetings import services as meetings
    from meetings.models import AgendaItem

    later = meetings.meeting_create(
        taskforce=cast.taskforce, actor=cast.facilitator, title="Quarterly", day=timezone.localdate() + timedelta(days=30),
        start_time=time(10), end_time=time(11), time_zone="America/New_York", facilitator=cast.facilitator,
    )  # fmt: skip
    sooner = meetings.meeting_create(
        taskforce=cast.taskforce, actor=cast.facilitator, title="Monthly", day=timezone.localdate() + timedelta(days=7),
        start_time=time(10), end_time=time(11), time_zone="America/New_York", facilitator=cast.facilitator,
    )  # fmt: skip
    services.objection_raise(
        mou=circulated, version=circulated.latest_version, clause_number=3, actor=cast.liaison_a, reason="Too broad"
    )
    services.objections_to_agenda(mou=circulated, actor=cast.coordinator)
    item = AgendaItem.objects.get(item_type="mou_objections")
    assert item.meeting == sooner and item.meeting != later
    assert "Clause 3" in item.description
