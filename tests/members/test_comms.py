"""Announcements (tiers, email, read receipts), the resource library (safe uploads, private downloads) and
the contact sheet.

The cast (tests/cast.py): Alice coordinates Harbor; Fred facilitates (agency B); Larry is liaison of
agency A; Bea liaison of agency B; Mia a member of agency B; Oscar coordinates Lakeshore.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from members import comms, services
from members.models import Announcement, AnnouncementRead, LibraryDocument, LibraryVersion, Tier
from taskforce import notifications
from taskforce.models import AuditEvent, Notification

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ooxml(main: str, *, extra: dict[str, bytes] | None = None, content_types: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if content_types:
            archive.writestr(
                "[Content_Types].xml",
                f'<?xml version="1.0"?><Types><Override PartName="/word/document.xml" ContentType="{main}"/></Types>',
            )
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"


def upload(name: str, data: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    # The browser's content type is whatever the uploader says; the checks never read it.
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(autouse=True)
def _plain_settings(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.REQUIRE_MFA = False
    mail.outbox = []


def announce(cast, tier: str, *, agencies=None, actor=None, **extra) -> Announcement:
    return comms.announcement_publish(
        taskforce=cast.taskforce,
        actor=actor or cast.coordinator,
        title=f"News for {tier}",
        body="The protocol was updated.",
        tier=tier,
        agencies=agencies or [],
        **extra,
    )


def add_document(cast, tier: str = Tier.ALL_MEMBERS, *, agencies=None, name="protocol.pdf", data=PDF_BYTES):
    return comms.document_create(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Response protocol",
        description="",
        kind="protocol",
        tier=tier,
        agencies=agencies or [],
        upload=upload(name, data),
    )


READERS = ("admin", "coordinator", "facilitator", "liaison_a", "liaison_b", "member_b", "outsider")


def readers(cast, queryset_for) -> set[str]:
    return {role for role in READERS if queryset_for(getattr(cast, role)).exists()}


# --- tiers ---------------------------------------------------------------------------------------------


def test_all_members_reach_everyone_in_the_task_force_and_nobody_outside(cast):
    item = announce(cast, Tier.ALL_MEMBERS)
    seen = readers(cast, lambda user: comms.announcements_visible_to(user, cast.taskforce).filter(pk=item.pk))
    assert seen == set(READERS) - {"outsider"}


def test_named_agencies_reach_their_people_and_the_coordinators_only(cast):
    item = announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_b])
    seen = readers(cast, lambda user: comms.announcements_visible_to(user, cast.taskforce).filter(pk=item.pk))
    # Fred facilitates but is also one of agency B's people; Larry (agency A) is not told.
    assert seen == {"admin", "coordinator", "facilitator", "liaison_b", "member_b"}


def test_coordinators_only_reach_the_coordinators(cast):
    item = announce(cast, Tier.COORDINATORS)
    seen = readers(cast, lambda user: comms.announcements_visible_to(user, cast.taskforce).filter(pk=item.pk))
    assert seen == {"admin", "coordinator"}


def test_library_documents_follow_the_same_rule(cast):
    document = add_document(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_a])
    seen = readers(cast, lambda user: comms.documents_visible_to(user, cast.taskforce).filter(pk=document.pk))
    assert seen == {"admin", "coordinator", "liaison_a"}


def test_the_tier_check_is_one_query(cast, django_assert_num_queries):
    announce(cast, Tier.ALL_MEMBERS)
    announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_b])
    announce(cast, Tier.COORDINATORS)
    with django_assert_num_queries(1):
        titles = sorted(a.title for a in comms.announcements_visible_to(cast.member_b, cast.taskforce))
    assert titles == ["News for agencies", "News for all"]


def test_a_withdrawn_agency_loses_its_named_announcements(cast):
    item = announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_a])
    services.membership_withdraw(membership=cast.agency_a, actor=cast.admin)
    assert not comms.announcements_visible_to(cast.liaison_a, cast.taskforce).filter(pk=item.pk).exists()


def test_a_facilitator_cannot_write_for_coordinators_only(cast):
    with pytest.raises(ValidationError):
        announce(cast, Tier.COORDINATORS, actor=cast.facilitator)
    form_page = _client(cast.facilitator).get(reverse("members:announcement_new", args=[cast.taskforce.slug]))
    assert b'value="coordinators"' not in form_page.content


def test_named_agencies_need_an_agency_of_this_task_force(cast):
    with pytest.raises(ValidationError):
        announce(cast, Tier.NAMED_AGENCIES, agencies=[])
    with pytest.raises(ValidationError):
        announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.other_membership])


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_the_list_and_the_page_agree_and_a_hidden_one_is_an_audited_404(cast):
    hidden = announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_b])
    shown = announce(cast, Tier.ALL_MEMBERS)
    larry = _client(cast.liaison_a)
    listing = larry.get(reverse("members:announcements", args=[cast.taskforce.slug]))
    assert shown.title.encode() in listing.content
    assert hidden.title.encode() not in listing.content
    response = larry.get(reverse("members:announcement", args=[cast.taskforce.slug, hidden.pk]))
    missing = larry.get(reverse("members:announcement", args=[cast.taskforce.slug, 987654]))
    assert response.status_code == missing.status_code == 404
    event = AuditEvent.objects.filter(action="access.not_found", actor=cast.liaison_a).order_by("id").first()
    assert event.detail == {"model": "members.announcement", "lookup": {"pk": str(hidden.pk)}, "exists": True}


# --- email and read receipts ---------------------------------------------------------------------------


def test_it_emails_the_audience_once_and_nobody_else(cast):
    item = announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_b], send_email=True)
    assert item.emailed_at is not None
    notifications.sweep()
    recipients = sorted(message.to[0] for message in mail.outbox)
    # Bea, Mia and Fred of agency B; Alice wrote it. Larry and Oscar get nothing.
    assert recipients == sorted([cast.liaison_b.email, cast.member_b.email, cast.facilitator.email])
    assert "The protocol was updated." in mail.outbox[0].body
    assert reverse("members:announcement", args=[cast.taskforce.slug, item.pk]) in mail.outbox[0].body
    notifications.sweep()
    assert len(mail.outbox) == 3


def test_someone_who_lost_access_before_the_sweep_gets_nothing(cast):
    announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_b], send_email=True)
    services.person_offboard(taskforce=cast.taskforce, person=cast.member_b, actor=cast.admin)
    notifications.sweep()
    assert cast.member_b.email not in [message.to[0] for message in mail.outbox]


def test_a_subcommittee_announcement_emails_its_members(cast):
    subcommittee = services.subcommittee_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        name="Protocols",
        charge="Draft",
        chair=cast.liaison_a,
        members=[cast.member_b],
        goals=[],
    )
    announce(cast, Tier.ALL_MEMBERS, subcommittee=subcommittee, send_email=True)
    notifications.sweep()
    assert sorted(message.to[0] for message in mail.outbox) == sorted([cast.liaison_a.email, cast.member_b.email])


def test_without_email_nothing_is_scheduled(cast):
    announce(cast, Tier.ALL_MEMBERS)
    assert not Notification.objects.filter(kind=comms.ANNOUNCEMENT_EMAIL).exists()


def test_opening_it_records_a_read_receipt_once_and_the_author_sees_who_has_not(cast):
    item = announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_b])
    url = reverse("members:announcement", args=[cast.taskforce.slug, item.pk])
    mia = _client(cast.member_b)
    assert mia.get(url).status_code == 200
    mia.get(url)
    assert AnnouncementRead.objects.filter(announcement=item, user=cast.member_b).count() == 1
    receipts = comms.receipts(item)
    assert [person for person, _when in receipts.read] == [cast.member_b]
    assert sorted(p.email for p in receipts.unread) == sorted([cast.liaison_b.email, cast.facilitator.email])
    page = _client(cast.coordinator).get(url)
    assert b"Read by 1 of 3" in page.content
    assert b"Not yet read" in page.content
    # Members see the announcement, not who has read it.
    assert b"Not yet read" not in mia.get(url).content


def test_the_list_marks_unread_announcements(cast):
    item = announce(cast, Tier.ALL_MEMBERS)
    listing = _client(cast.member_b).get(reverse("members:announcements", args=[cast.taskforce.slug]))
    assert b"is-unread" in listing.content
    _client(cast.member_b).get(reverse("members:announcement", args=[cast.taskforce.slug, item.pk]))
    listing = _client(cast.member_b).get(reverse("members:announcements", args=[cast.taskforce.slug]))
    assert b"is-unread" not in listing.content


def test_a_coordinator_posts_through_the_form(cast):
    response = _client(cast.coordinator).post(
        reverse("members:announcement_new", args=[cast.taskforce.slug]),
        {"title": "Meeting moved", "body": "To Thursday.", "tier": "agencies", "agencies": [cast.agency_a.pk]},
    )
    item = Announcement.objects.get(title="Meeting moved")
    assert response.status_code == 302
    assert list(item.agencies.all()) == [cast.agency_a]
    assert AuditEvent.objects.filter(action="announcement.published", object_id=str(item.pk)).exists()


# --- uploads -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("protocol.pdf", PDF_BYTES, "application/pdf"),
        ("chart.png", PNG_BYTES, "image/png"),
        ("photo.jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 16, "image/jpeg"),
        ("plan.docx", ooxml(DOCX_MAIN), comms.DOCX.content_type),
        ("notes.txt", "Call the hotline first — 24/7.\n".encode(), "text/plain; charset=utf-8"),
        ("contacts.csv", b"\xef\xbb\xbfAgency,Phone\nSheriff,555-0100\n", "text/csv; charset=utf-8"),
    ],
)
def test_it_accepts_the_allowed_kinds_by_their_bytes(name, data, content_type):
    assert comms.sniff_upload(data, name).content_type == content_type


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("report.pdf", b"<!doctype html><html><script>alert(1)</script></html>"),  # HTML renamed to .pdf
        ("report.pdf", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),  # SVG renamed to .pdf
        ("image.png", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("notes.txt", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("notes.txt", b"hello <!-- a comment hides markup -->"),
        ("page.html", b"<p>hello</p>"),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>'),
        ("photo.pdf", PNG_BYTES),  # a real PNG with the wrong name
        ("protocol.png", PDF_BYTES),
        ("macro.docx", ooxml(DOCM_MAIN)),  # a macro-enabled document named .docx
        ("macro.docx", ooxml(DOCX_MAIN, extra={"word/vbaProject.bin": b"\x00"})),
        ("plain.docx", ooxml(DOCX_MAIN, content_types=False)),  # any old zip
        ("archive.zip", ooxml(DOCX_MAIN)),
        ("sheet.xlsx", ooxml(DOCX_MAIN)),  # a Word file named .xlsx
        ("broken.docx", b"PK\x03\x04 not really a zip"),
        ("binary.txt", b"text\x00with a NUL"),
        ("latin1.csv", "caf\xe9".encode("latin-1")),
        ("program.exe", b"MZ\x90\x00"),
        ("noextension", PDF_BYTES),
    ],
)
def test_it_refuses_hostile_and_mislabelled_files(name, data):
    with pytest.raises(comms.UploadRejected):
        comms.sniff_upload(data, name)


def test_it_refuses_a_file_over_the_size_cap(cast, settings):
    settings.LIBRARY_MAX_UPLOAD_BYTES = 1024
    with pytest.raises(comms.UploadRejected, match="at most"):
        add_document(cast, data=PDF_BYTES + b"0" * 2048)
    assert not LibraryDocument.objects.exists()


def test_the_form_refuses_a_hostile_file_with_a_message_and_an_audit_event(cast):
    response = _client(cast.coordinator).post(
        reverse("members:document_new", args=[cast.taskforce.slug]),
        {
            "title": "Totally a PDF",
            "kind": "protocol",
            "tier": "all",
            "file": upload("evil.pdf", b"<html><script>alert(1)</script></html>"),
        },
    )
    assert response.status_code == 200
    assert b"The contents of this file are not a PDF." in response.content
    assert not LibraryDocument.objects.exists()
    assert AuditEvent.objects.filter(action="library.upload_refused", actor=cast.coordinator).exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\system32\\report.pdf", "report.pdf"),
        ("/absolute/path/report.pdf", "report.pdf"),
        ('bad"name;\r\nX-Injected: 1.pdf', "badnameX-Injected 1.pdf"),
        ("...hidden.pdf", "hidden.pdf"),
    ],
)
def test_path_tricks_in_names_never_reach_the_disk(cast, settings, name, expected):
    document = add_document(cast, name=name)
    version = document.versions.get()
    assert version.file_name == expected
    stored = comms.stored_path(version)
    root = (Path(settings.PRIVATE_MEDIA_ROOT) / "library").resolve()
    assert root in stored.parents
    assert stored.name == version.storage_name
    assert stored.read_bytes() == PDF_BYTES
    assert "passwd" not in str(stored) and "report" not in str(stored)


def test_a_name_that_is_only_an_extension_is_refused(cast):
    with pytest.raises(comms.UploadRejected):
        add_document(cast, name="../.pdf")


# --- downloads -----------------------------------------------------------------------------------------


def test_a_download_is_an_attachment_never_sniffed_and_audited(cast):
    document = add_document(cast)
    response = _client(cast.member_b).get(reverse("members:document_download", args=[cast.taskforce.slug, document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="protocol.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert AuditEvent.objects.filter(
        action="library.downloaded", actor=cast.member_b, object_id=str(document.pk)
    ).exists()


def test_a_text_file_downloads_as_plain_text_whatever_the_uploader_claimed(cast):
    document = comms.document_create(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Notes",
        description="",
        kind="other",
        tier=Tier.ALL_MEMBERS,
        upload=upload("notes.txt", b"plain words", content_type="text/html"),
    )
    response = _client(cast.member_b).get(reverse("members:document_download", args=[cast.taskforce.slug, document.pk]))
    assert response["Content-Type"] == "text/plain; charset=utf-8"


def test_someone_outside_the_tier_gets_the_same_404_as_for_a_missing_document(cast):
    document = add_document(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_b])
    larry = _client(cast.liaison_a)
    for name in ("members:document", "members:document_download"):
        hidden = larry.get(reverse(name, args=[cast.taskforce.slug, document.pk]))
        missing = larry.get(reverse(name, args=[cast.taskforce.slug, 987654]))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.content == missing.content
    assert AuditEvent.objects.filter(action="access.not_found", actor=cast.liaison_a, detail__exists=True).count() == 2
    assert not AuditEvent.objects.filter(action="library.downloaded").exists()


def test_versions_count_up_and_each_stays_downloadable(cast):
    document = add_document(cast)
    comms.version_add(
        document=document,
        actor=cast.coordinator,
        upload=upload("protocol-v2.pdf", PDF_BYTES + b"%v2"),
        note="Hotline number",
    )
    assert list(document.versions.values_list("number", flat=True)) == [2, 1]
    client = _client(cast.member_b)
    latest = client.get(reverse("members:document_download", args=[cast.taskforce.slug, document.pk]))
    first = client.get(reverse("members:version_download", args=[cast.taskforce.slug, document.pk, 1]))
    assert b"".join(latest.streaming_content).endswith(b"%v2")
    assert b"".join(first.streaming_content) == PDF_BYTES
    assert (
        client.get(reverse("members:version_download", args=[cast.taskforce.slug, document.pk, 3])).status_code == 404
    )


def test_a_coordinator_uploads_through_the_form(cast):
    response = _client(cast.coordinator).post(
        reverse("members:document_new", args=[cast.taskforce.slug]),
        {
            "title": "Communication plan",
            "kind": "communication_plan",
            "tier": "all",
            "file": upload("plan.pdf", PDF_BYTES),
        },
    )
    document = LibraryDocument.objects.get(title="Communication plan")
    assert response.status_code == 302
    assert document.versions.get().size == len(PDF_BYTES)
    library = _client(cast.member_b).get(reverse("members:library", args=[cast.taskforce.slug]))
    assert b"Communication plan" in library.content


def test_members_cannot_upload(cast):
    response = _client(cast.member_b).post(
        reverse("members:document_new", args=[cast.taskforce.slug]),
        {"title": "Mine", "kind": "other", "tier": "all", "file": upload("x.pdf", PDF_BYTES)},
    )
    assert response.status_code == 403
    assert not LibraryVersion.objects.exists()


# --- contact sheet -------------------------------------------------------------------------------------


def test_the_contact_sheet_lists_who_to_call_with_after_hours_numbers(cast):
    services.agency_update(agency=cast.agency_a.agency, actor=cast.admin, after_hours_phone="555-0199")
    cast.agency_a.roles_and_responsibilities = "Investigations and emergency response"
    cast.agency_a.save()
    page = _client(cast.member_b).get(reverse("members:contact_sheet", args=[cast.taskforce.slug]))
    assert b"555-0199" in page.content
    assert b"Investigations and emergency response" in page.content
    assert cast.liaison_a.full_name.encode() in page.content
    response = _client(cast.member_b).get(reverse("members:contact_sheet_pdf", args=[cast.taskforce.slug]))
    assert response["Content-Disposition"].startswith("attachment;")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Sheriff's Office" in text
    assert "555-0199" in text
    assert "Larry Liaison" in text


def test_the_dashboard_shows_the_latest_announcements_a_person_may_read(cast):
    announce(cast, Tier.NAMED_AGENCIES, agencies=[cast.agency_b])
    mia = _client(cast.member_b).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug]))
    assert b"News for agencies" in mia.content
    assert b">New<" in mia.content
    larry = _client(cast.liaison_a).get(reverse("taskforce:dashboard", args=[cast.taskforce.slug]))
    assert b"News for agencies" not in larry.content


def test_the_list_filters_by_subcommittee_and_ignores_junk(cast):
    subcommittee = services.subcommittee_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        name="Protocols",
        charge="Draft",
        chair=None,
        members=[],
        goals=[],
    )
    announce(cast, Tier.ALL_MEMBERS, subcommittee=subcommittee)
    comms.announcement_publish(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Elsewhere", body="x", tier=Tier.ALL_MEMBERS
    )
    url = reverse("members:announcements", args=[cast.taskforce.slug])
    client = _client(cast.member_b)
    filtered = client.get(url, {"subcommittee": subcommittee.pk})
    assert b"News for all" in filtered.content and b"Elsewhere" not in filtered.content
    assert client.get(url, {"subcommittee": "'; drop"}).status_code == 200


def test_deleting_a_document_removes_every_version_and_file(cast, django_capture_on_commit_callbacks):
    document = add_document(cast)
    comms.version_add(document=document, actor=cast.coordinator, upload=upload("v2.pdf", PDF_BYTES + b"%2"))
    paths = [comms.stored_path(v) for v in document.versions.all()]
    assert all(path.exists() for path in paths)
    url = reverse("members:document_delete", args=[cast.taskforce.slug, document.pk])
    assert _client(cast.member_b).post(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(cast.facilitator).post(url)
    assert response.status_code == 302
    assert not LibraryDocument.objects.filter(pk=document.pk).exists()
    assert not any(path.exists() for path in paths)
    event = AuditEvent.objects.get(action="library.document_deleted")
    assert [v["number"] for v in event.detail["versions"]] == [2, 1]


def test_withdrawing_an_announcement_cancels_its_unsent_emails(cast):
    item = announce(cast, Tier.ALL_MEMBERS, send_email=True)
    response = _client(cast.coordinator).post(
        reverse("members:announcement_delete", args=[cast.taskforce.slug, item.pk])
    )
    assert response.status_code == 302
    assert not Announcement.objects.filter(pk=item.pk).exists()
    notifications.sweep()
    assert mail.outbox == []
    assert AuditEvent.objects.filter(action="announcement.deleted").exists()


def test_a_failed_upload_leaves_no_file_behind(cast, settings, monkeypatch):
    from members import comms as module

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(module.audit, "record", broken)
    with pytest.raises(RuntimeError):
        add_document(cast)
    root = Path(settings.PRIVATE_MEDIA_ROOT) / "library"
    assert not LibraryDocument.objects.exists()
    assert not [path for path in root.rglob("*") if path.is_file()]
