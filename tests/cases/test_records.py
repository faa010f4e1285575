"""Encryption at rest and key rotation, history with values for full access only, optimistic locking,
the watermarked review PDF, the two-factor rule and the pseudonym rule."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from pypdf import PdfReader

from cases import services
from cases.forms import CaseForm
from cases.models import Case
from taskforce.auth import user_requires_mfa
from taskforce.models import AuditEvent
from taskforce.services import StaleEdit
from tests.cases.world import SUMMARY_SECRET


def raw(sql, *params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def test_narrative_is_encrypted_at_rest(world):
    summary, needs = raw("SELECT summary, service_needs FROM cases_case WHERE id = %s", world.case.pk)
    assert summary.startswith("fernet:") and "bus station" not in summary
    assert needs.startswith("fernet:")
    (values,) = raw('SELECT "values" FROM cases_casechange WHERE case_id = %s ORDER BY id LIMIT 1', world.case.pk)
    assert "bus station" not in values
    assert Case.objects.get(pk=world.case.pk).summary == SUMMARY_SECRET


def test_keys_rotate(world, settings):
    old = settings.FIELD_ENCRYPTION_KEYS
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert Case.objects.get(pk=world.case.pk).summary == SUMMARY_SECRET


def test_audit_rows_never_carry_the_narrative(cast, world, client_for):
    client_for(cast.liaison_a).get(reverse("cases:detail", kwargs={"slug": cast.taskforce.slug, "pk": world.case.pk}))
    services.case_update(case=world.case, actor=cast.liaison_b, expected_version=1, summary="Moved to kinship care.")
    for event in AuditEvent.objects.filter(object_type="cases.case"):
        text = f"{event.object_label} {event.detail}"
        assert "bus station" not in text and "kinship" not in text and "J.D." not in text


def test_history_shows_values_to_full_access_only(cast, world, client_for):
    services.case_update(case=world.case, actor=cast.liaison_b, expected_version=1, summary="Moved to kinship care.")
    url = reverse("cases:history", kwargs={"slug": cast.taskforce.slug, "pk": world.case.pk})
    body = client_for(cast.liaison_a).get(url).content.decode()
    assert "Moved to kinship care." in body and "Bea Liaison" in body
    summary_only = client_for(cast.coordinator).get(url).content.decode()
    assert "Summary" in summary_only and "Bea Liaison" in summary_only  # which field, who
    assert "Moved to kinship care." not in summary_only and "bus station" not in summary_only


def test_two_editors_cannot_overwrite_each_other(cast, world):
    services.case_update(case=world.case, actor=cast.liaison_b, expected_version=1, status="active")
    with pytest.raises(StaleEdit):
        services.case_update(case=world.case, actor=cast.liaison_b, expected_version=1, status="closed")


def test_the_edit_page_keeps_a_stale_edit_for_the_editor(cast, world, client_for):
    services.case_update(case=world.case, actor=cast.liaison_b, expected_version=1, status="active")
    url = reverse("cases:edit", kwargs={"slug": cast.taskforce.slug, "pk": world.case.pk})
    data = {
        "number": "2026-001", "label": "J.D.", "age_band": "15_17", "county": "", "referral_source": "hotline",
        "trafficking_type": "sex", "status": "closed", "confidentiality": "standard", "summary": "mine",
        "service_needs": "", "version": 1,
    }  # fmt: skip
    response = client_for(cast.liaison_b).post(url, data)
    assert response.status_code == 200
    assert "Someone else changed this" in response.content.decode()


def test_the_review_pdf_is_watermarked_and_audited(cast, world, client_for):
    url = reverse("cases:review_pdf", kwargs={"slug": cast.taskforce.slug, "pk": world.case.pk})
    response = client_for(cast.liaison_a).get(url)
    assert response["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Larry Liaison" in text  # the watermark and the footer name the reader
    assert "Placement is stable" in text and "Confirm therapy intake" in text
    assert AuditEvent.objects.filter(action="case.exported", actor=cast.liaison_a, detail__format="pdf").exists()


def test_anyone_with_access_to_a_case_must_use_two_factors(cast, world):
    assert user_requires_mfa(cast.member_b)
    assert user_requires_mfa(cast.liaison_a)


def test_a_member_without_case_access_is_not_asked_for_two_factors(cast):
    assert not user_requires_mfa(cast.member_b)


@pytest.mark.parametrize(("label", "ok"), [("J.D.", True), ("Sparrow", True), ("Jane Doe", False), ("JD", True)])
def test_the_label_is_a_pseudonym(cast, label, ok):
    form = CaseForm(
        {"number": "X-1", "label": label, "age_band": "unknown", "referral_source": "other", "trafficking_type": "sex",
         "status": "open", "confidentiality": "standard"},
        taskforce=cast.taskforce,
    )  # fmt: skip
    assert form.is_valid() is ok, form.errors


def test_record_many_writes_in_one_insert_what_record_writes_one_by_one(cast, rf):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from taskforce import audit
    from taskforce.models import AuditEvent
    from tests.cases.world import make_case

    cases = [make_case(cast, number=f"AU-{i}", lead=cast.agency_a, actor=cast.liaison_a) for i in range(3)]
    request = rf.get("/", HTTP_USER_AGENT="pytest", REMOTE_ADDR="10.0.0.7")
    request.user = cast.liaison_a
    one = audit.record("case.viewed", request=request, obj=cases[0], level="full", agenda_item=1)
    with CaptureQueriesContext(connection) as insert:
        many = audit.record_many(
            "case.viewed", [(case, {"level": "full", "agenda_item": 1}) for case in cases], request=request
        )
    assert len(insert) == 1 and len(many) == 3
    fields = (
        "actor_id",
        "actor_label",
        "action",
        "taskforce_id",
        "object_type",
        "object_label",
        "ip_address",
        "user_agent",
        "detail",
    )
    stored = AuditEvent.objects.filter(action="case.viewed", object_id=str(cases[0].pk)).order_by("pk")
    assert len(stored) == 2 and [getattr(stored[0], f) for f in fields] == [getattr(one, f) for f in fields]
    assert len({tuple(str(getattr(e, f)) for f in fields) for e in stored}) == 1  # record_many's equals record's
    assert audit.record_many("case.viewed", [], request=request) == []
