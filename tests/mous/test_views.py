"""MOU pages: who may see and do what, and that each page does what it says."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from mous import services
from mous.models import Mou, MouStatus, ObjectionStatus, RequestStatus
from taskforce.models import AuditEvent
from tests.mous.conftest import sign, step_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(settings):
    settings.REQUIRE_MFA = False


def url(name: str, mou: Mou, *args) -> str:
    return reverse(f"mous:{name}", args=[mou.taskforce.slug, mou.pk, *args])


@pytest.fixture
def a_only(cast, parties) -> Mou:
    """An agreement with the Sheriff's Office only: Bea (liaison B) and Mia (member B) are not parties."""
    mou = services.mou_create(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Sheriff only", parties=[cast.agency_a]
    )
    services.version_circulate(mou=mou, actor=cast.coordinator)
    return mou


def test_every_page_renders_for_the_coordinator(cast, client_for, signing):
    client = client_for(cast.coordinator)
    objection = services.objection_raise(
        mou=signing, version=signing.latest_version, clause_number=3, actor=cast.liaison_a, reason="Why"
    )
    clause = signing.clauses.first()
    step = step_for(signing, cast.liaison_a)
    party = signing.parties.first()
    pages = [
        reverse("mous:list", args=[cast.taskforce.slug]),
        reverse("mous:create", args=[cast.taskforce.slug]),
        reverse("mous:verify", args=[cast.taskforce.slug]),
        url("detail", signing),
        url("edit", signing),
        url("draft", signing),
        url("clause_add", signing),
        url("clause_edit", signing, clause.pk),
        url("circulate", signing),
        url("circulated", signing, 1),
        url("diff", signing),
        url("objections", signing),
        url("objection", signing, objection.pk),
        url("routing", signing, party.pk),
        url("request", signing, step.pk),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert b"Traceback" not in response.content


@pytest.mark.parametrize(
    ("who", "status"),
    [("coordinator", 200), ("liaison_a", 200), ("liaison_b", 404), ("member_b", 404), ("outsider", 404)],
)
def test_who_sees_an_agreement(cast, client_for, a_only, who, status):
    response = client_for(getattr(cast, who)).get(url("detail", a_only))
    assert response.status_code == status
    if status == 404:
        assert AuditEvent.objects.filter(action="access.not_found", actor=getattr(cast, who)).exists()


def test_the_list_shows_only_agreements_of_ones_agency(cast, client_for, a_only, mou):
    body = client_for(cast.liaison_b).get(reverse("mous:list", args=[cast.taskforce.slug])).content.decode()
    assert "Harbor Anti-Trafficking MOU" in body and "Sheriff only" not in body
    body = client_for(cast.coordinator).get(reverse("mous:list", args=[cast.taskforce.slug])).content.decode()
    assert "Harbor Anti-Trafficking MOU" in body and "Sheriff only" in body


@pytest.mark.parametrize("who", ["liaison_a", "member_b", "admin"])
def test_drafting_pages_are_for_coordinators(cast, client_for, mou, who):
    status = 200 if who == "admin" else 403
    assert client_for(getattr(cast, who)).get(url("draft", mou)).status_code == status


def test_a_member_cannot_create_an_agreement(cast, client_for):
    assert client_for(cast.member_b).get(reverse("mous:create", args=[cast.taskforce.slug])).status_code == 403
    assert client_for(cast.liaison_a).get(reverse("mous:create", args=[cast.taskforce.slug])).status_code == 403


def test_the_coordinator_creates_from_the_template(cast, client_for, parties):
    client = client_for(cast.coordinator)
    response = client.post(
        reverse("mous:create", args=[cast.taskforce.slug]),
        {"title": "Harbor MOU 2027", "parties": [cast.agency_a.pk, cast.agency_b.pk], "start_from": "template"},
    )
    mou = Mou.objects.get(title="Harbor MOU 2027")
    assert response.status_code == 302 and response["Location"] == url("draft", mou)
    body = client.get(url("draft", mou)).content.decode()
    assert "Information sharing and confidentiality" in body and "Sheriff's Office" in body


def test_circulating_from_the_page_creates_v1(cast, client_for, mou):
    response = client_for(cast.coordinator).post(url("circulate", mou), {"note": "First draft"})
    assert response.status_code == 302 and response["Location"] == url("circulated", mou, 1)
    mou.refresh_from_db()
    assert mou.status == MouStatus.REVIEW


def test_the_diff_page_shows_side_by_side_and_inline(cast, client_for, circulated):
    clause = circulated.clauses.get(position=3)
    services.clause_update(
        clause=clause, actor=cast.coordinator, expected_revision=1, heading=clause.heading, body="New roles text."
    )
    services.version_circulate(mou=circulated, actor=cast.coordinator)
    client = client_for(cast.liaison_b)
    side = client.get(url("diff", circulated) + "?a=1&b=2").content.decode()
    assert "New roles text." in side and "diff-ins" in side and "diff-del" in side
    inline = client.get(url("diff", circulated) + "?a=1&b=2&mode=inline").content.decode()
    assert "1 clause(s) changed" in inline


@pytest.mark.parametrize(
    ("who", "status"),
    [("liaison_a", 302), ("member_b", 404), ("liaison_b", 404), ("outsider", 404), ("coordinator", 403)],
)
def test_who_may_object(cast, client_for, a_only, who, status):
    response = client_for(getattr(cast, who)).post(
        url("objection_new", a_only, 1), {"clause_number": 3, "reason": "Too broad", "proposed_wording": ""}
    )
    assert response.status_code == status
    assert a_only.objections.count() == (1 if status == 302 else 0)
    if status == 403:
        assert AuditEvent.objects.filter(action="access.forbidden", actor=getattr(cast, who)).exists()


def test_a_member_of_a_party_may_object_no(cast, client_for, circulated):
    response = client_for(cast.member_b).post(url("objection_new", circulated, 1), {"clause_number": 3, "reason": "x"})
    assert response.status_code == 403


def test_the_objection_thread_and_accept(cast, client_for, circulated):
    objection = services.objection_raise(
        mou=circulated,
        version=circulated.latest_version,
        clause_number=3,
        actor=cast.liaison_b,
        reason="Too broad",
        proposed_wording="Narrower wording.",
    )
    client_for(cast.liaison_b).post(url("objection", circulated, objection.pk), {"body": "Please consider."})
    client_for(cast.coordinator).post(url("objection", circulated, objection.pk), {"body": "Accepted in v2."})
    assert objection.comments.count() == 2
    assert client_for(cast.member_b).post(url("objection", circulated, objection.pk), {"body": "x"}).status_code == 403
    assert client_for(cast.liaison_b).post(url("objection_accept", circulated, objection.pk)).status_code == 403
    client_for(cast.coordinator).post(url("objection_accept", circulated, objection.pk), {"apply_wording": "on"})
    objection.refresh_from_db()
    assert objection.status == ObjectionStatus.ACCEPTED
    ledger = client_for(cast.member_b).get(url("objections", circulated)).content.decode()
    assert "Child Advocacy Center" in ledger and "Accepted" in ledger


def test_objections_to_the_agenda_without_a_meeting_shows_a_message(cast, client_for, circulated):
    services.objection_raise(
        mou=circulated, version=circulated.latest_version, clause_number=3, actor=cast.liaison_b, reason="x"
    )
    response = client_for(cast.coordinator).post(url("objections_agenda", circulated), follow=True)
    assert response.status_code == 200
    assert "no upcoming meeting" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "status"), [("liaison_b", 403), ("coordinator", 403), ("member_b", 403), ("outsider", 404)]
)
def test_nobody_else_signs_for_agency_a(cast, client_for, signing, who, status):
    step = step_for(signing, cast.liaison_a)
    response = client_for(getattr(cast, who)).post(
        url("sign", signing, step.pk),
        {"typed_name": "X", "typed_title": "Y", "attest": "on", "document_sha256": signing.signing_version.sha256},
    )
    assert response.status_code == status
    step.refresh_from_db()
    assert step.status == RequestStatus.SENT
    if status == 403:
        assert AuditEvent.objects.filter(action="mou.sign_refused", actor=getattr(cast, who)).exists()
        assert AuditEvent.objects.filter(action="access.forbidden", actor=getattr(cast, who)).exists()


def test_the_signatory_signs_from_the_page_with_ip_and_user_agent(cast, client_for, signing):
    client = client_for(cast.liaison_a)
    step = step_for(signing, cast.liaison_a)
    page = client.get(url("request", signing, step.pk)).content.decode()
    assert signing.signing_version.sha256 in page
    step.refresh_from_db()
    assert step.status == RequestStatus.VIEWED
    response = client.post(
        url("sign", signing, step.pk),
        {
            "typed_name": "Larry Liaison",
            "typed_title": "Sheriff",
            "attest": "on",
            "document_sha256": signing.signing_version.sha256,
        },
        HTTP_USER_AGENT="TestBrowser/1.0",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert step.status == RequestStatus.SIGNED
    assert step.user_agent == "TestBrowser/1.0" and step.ip_address == "203.0.113.9"
    matrix = client_for(cast.coordinator).get(url("detail", signing)).content.decode()
    assert 'data-party="Sheriff&#x27;s Office" data-state="signed"' in matrix
    assert 'data-party="Child Advocacy Center" data-state="sent"' in matrix


def test_the_signing_page_refuses_without_attestation(cast, client_for, signing):
    step = step_for(signing, cast.liaison_a)
    response = client_for(cast.liaison_a).post(
        url("sign", signing, step.pk),
        {"typed_name": "L", "typed_title": "S", "document_sha256": signing.signing_version.sha256},
        follow=True,
    )
    assert "attest your authority" in response.content.decode()
    step.refresh_from_db()
    assert step.status == RequestStatus.VIEWED  # shown the form again, not signed


def test_a_step_page_is_for_its_person_and_the_coordinators(cast, client_for, signing):
    step = step_for(signing, cast.liaison_a)
    assert client_for(cast.member_b).get(url("request", signing, step.pk)).status_code == 403
    assert client_for(cast.coordinator).get(url("request", signing, step.pk)).status_code == 200
    step.refresh_from_db()
    assert step.status == RequestStatus.SENT  # the coordinator looking is not the signer viewing


def test_decline_from_the_page_and_issue_a_letter(cast, client_for, signing):
    step = step_for(signing, cast.liaison_b)
    response = client_for(cast.liaison_b).post(
        url("decline", signing, step.pk), {"reason": "resources", "text": "Not enough staff."}
    )
    assert response.status_code == 302
    party_b = signing.parties.get(membership=cast.agency_b)
    assert client_for(cast.liaison_b).post(url("lou_issue", signing, party_b.pk)).status_code == 403
    response = client_for(cast.coordinator).post(url("lou_issue", signing, party_b.pk))
    letter = party_b.letters.get()
    assert response.status_code == 302 and response["Location"] == url("lou", signing, letter.pk)
    client_for(cast.liaison_b).post(url("lou_acknowledge", signing, letter.pk))
    letter.refresh_from_db()
    assert letter.status == "acknowledged"
    pdf = client_for(cast.member_b).get(url("lou_pdf", signing, letter.pk))
    assert pdf["Content-Type"] == "application/pdf"


def test_the_executed_pdf_and_verification(cast, client_for, signing):
    from tests.mous.test_services import pdf_text

    assert client_for(cast.coordinator).get(url("pdf", signing)).status_code == 404
    sign(signing, cast.liaison_a)
    sign(signing, cast.liaison_b)
    response = client_for(cast.member_b).get(url("pdf", signing))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = b"".join(response.streaming_content) if response.streaming else response.content
    text = pdf_text(pdf)
    assert "Signing certificate" in text
    verify = reverse("mous:verify", args=[cast.taskforce.slug])
    upload = io.BytesIO(pdf)
    upload.name = "mou.pdf"
    body = client_for(cast.liaison_b).post(verify, {"pdf": upload}).content.decode()
    assert "This matches" in body and "byte-for-byte" in body
    signing.refresh_from_db()
    body = client_for(cast.liaison_a).post(verify, {"sha256": signing.executed_version.sha256}).content.decode()
    assert "This matches" in body
    # A copy that is not byte-identical is recognised by the document hash printed in it, and told apart.
    copy = io.BytesIO(pdf + b"\n% saved again by another program\n")
    copy.name = "copy.pdf"
    body = client_for(cast.liaison_b).post(verify, {"pdf": copy}).content.decode()
    assert "This matches" in body and "the file itself differs" in body
    body = client_for(cast.liaison_a).post(verify, {"sha256": "a" * 64}).content.decode()
    assert "No match" in body
    # Someone who cannot see the agreement learns nothing from its hash.
    body = (
        client_for(cast.outsider)
        .post(reverse("mous:verify", args=[cast.other_taskforce.slug]), {"sha256": signing.executed_version.sha256})
        .content.decode()
    )
    assert "No match" in body


def test_remind_now_is_for_coordinators(cast, client_for, signing):
    step = step_for(signing, cast.liaison_b)
    assert client_for(cast.liaison_a).post(url("remind", signing, step.pk)).status_code == 403
    response = client_for(cast.coordinator).post(url("remind", signing, step.pk), follow=True)
    assert "A reminder is on its way" in response.content.decode()


def test_the_dashboard_card_shows_what_waits_for_each_signatory(cast, client_for, signing):
    dashboard = reverse("taskforce:dashboard", args=[cast.taskforce.slug])
    body = client_for(cast.liaison_a).get(dashboard).content.decode()
    assert (
        "Agreements waiting for you" in body and url("request", signing, step_for(signing, cast.liaison_a).pk) in body
    )
    assert "Agreements waiting for you" not in client_for(cast.member_b).get(dashboard).content.decode()
    sign(signing, cast.liaison_a)
    assert "Agreements waiting for you" not in client_for(cast.liaison_a).get(dashboard).content.decode()


def test_script_in_a_clause_is_text_in_every_page(cast, client_for, mou):
    clause = mou.clauses.get(position=1)
    services.clause_update(
        clause=clause,
        actor=cast.coordinator,
        expected_revision=1,
        heading="<b onmouseover=alert(1)>Head</b>",
        body="<script>alert('x')</script>",
    )
    services.version_circulate(mou=mou, actor=cast.coordinator)
    clause.refresh_from_db()
    services.clause_update(
        clause=clause, actor=cast.coordinator, expected_revision=clause.revision, heading="Plain",
        body="<script>alert('y')</script> changed",
    )  # fmt: skip
    services.version_circulate(mou=mou, actor=cast.coordinator)
    client = client_for(cast.coordinator)
    for page in (url("draft", mou), url("circulated", mou, 1), url("diff", mou)):
        body = client.get(page).content.decode()
        assert "<script>alert" not in body and "<b onmouseover" not in body, page
        assert "&lt;script&gt;" in body, page


def test_the_coordinator_starts_from_a_copy_of_an_earlier_agreement(cast, client_for, circulated):
    response = client_for(cast.coordinator).post(
        reverse("mous:create", args=[cast.taskforce.slug]),
        {"title": "Copy of Harbor", "parties": [cast.agency_a.pk], "start_from": str(circulated.pk)},
    )
    copy = Mou.objects.get(title="Copy of Harbor")
    assert response.status_code == 302 and copy.copied_from == circulated
    assert copy.clauses.count() == circulated.latest_version.clauses.count()


def test_settings_term_and_parties(cast, client_for, mou):
    response = client_for(cast.coordinator).post(
        url("edit", mou),
        {
            "title": "Renamed",
            "effective_on": "2027-01-01",
            "expires_on": "2028-12-31",
            "reminder_delay_days": 3,
            "parties": [cast.agency_a.pk],
        },
    )
    assert response.status_code == 302
    mou.refresh_from_db()
    assert mou.title == "Renamed" and mou.reminder_delay_days == 3 and str(mou.expires_on) == "2028-12-31"
    assert list(mou.parties.values_list("membership", flat=True)) == [cast.agency_a.pk]
    assert client_for(cast.liaison_b).get(url("detail", mou)).status_code == 404
    bad = client_for(cast.coordinator).post(
        url("edit", mou),
        {"title": "X", "effective_on": "2027-01-01", "expires_on": "2026-01-01", "reminder_delay_days": 5},
    )
    assert "must expire after it takes effect" in bad.content.decode()


def test_routing_an_approver_then_approving_from_the_page(cast, client_for, circulated):
    party_b = circulated.parties.get(membership=cast.agency_b)
    response = client_for(cast.coordinator).post(
        url("routing", circulated, party_b.pk),
        {"approver_1": cast.member_b.pk, "copied": [cast.facilitator.pk], "signing_in_order": "on"},
    )
    assert response.status_code == 302
    client_for(cast.coordinator).post(url("send", circulated))
    circulated.refresh_from_db()
    approval = step_for(circulated, cast.member_b)
    assert step_for(circulated, cast.liaison_b).status == RequestStatus.WAITING
    page = client_for(cast.liaison_b).get(url("request", circulated, step_for(circulated, cast.liaison_b).pk))
    assert "approvers review this version first" in page.content.decode()
    response = client_for(cast.member_b).post(url("approve", circulated, approval.pk))
    assert response.status_code == 302
    assert step_for(circulated, cast.liaison_b).status == RequestStatus.SENT


def test_renewal_from_the_page(cast, client_for, signing):
    sign(signing, cast.liaison_a)
    sign(signing, cast.liaison_b)
    response = client_for(cast.coordinator).post(url("renew", signing), {"expires_on": "2030-06-30"})
    assert response.status_code == 302 and response["Location"] == url("draft", signing)
    signing.refresh_from_db()
    assert signing.renewal_of_id == signing.executed_version_id and str(signing.expires_on) == "2030-06-30"
    assert client_for(cast.liaison_a).post(url("renew", signing)).status_code == 403


def test_asking_a_declined_party_again_from_the_page(cast, client_for, signing):
    services.request_decline(req=step_for(signing, cast.liaison_b), actor=cast.liaison_b, reason="terms", text="No")
    party_b = signing.parties.get(membership=cast.agency_b)
    page = client_for(cast.coordinator).get(url("detail", signing)).content.decode()
    assert url("party_resend", signing, party_b.pk) in page and "Ask again" in page
    assert client_for(cast.liaison_b).post(url("party_resend", signing, party_b.pk)).status_code == 403
    response = client_for(cast.coordinator).post(url("party_resend", signing, party_b.pk), follow=True)
    assert "is asked again" in response.content.decode()
    assert step_for(signing, cast.liaison_b).status == RequestStatus.SENT


def test_the_status_matrix_escapes_names_and_offers_each_step_its_actions(cast, client_for, signing):
    # The matrix rows are built as strings by mous_tags.matrix_rows, not by the template engine.
    agency = cast.agency_a.agency  # agency_a is the Sheriff's Office's membership
    agency.name = "<i>Sheriff</i> & Co"
    agency.save(update_fields=["name"])
    step = step_for(signing, cast.liaison_a)
    page = client_for(cast.coordinator).get(url("detail", signing)).content.decode()
    assert "<i>Sheriff" not in page and 'data-party="&lt;i&gt;Sheriff&lt;/i&gt; &amp; Co"' in page
    assert f'action="{url("remind", signing, step.pk)}"' in page  # the coordinator reminds a pending step
    assert f'href="{url("routing", signing, step.party_id)}"' in page
    own = client_for(cast.liaison_a).get(url("detail", signing)).content.decode()
    assert f'href="{url("request", signing, step.pk)}"' in own and url("remind", signing, step.pk) not in own
