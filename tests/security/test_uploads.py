"""Uploads: type checked by content, size capped, names never used as paths.

Already proved elsewhere, and not repeated here:
- tests/members/test_comms.py: the sniffer accepts the allowed kinds by their bytes and refuses HTML, SVG,
  mislabelled images, macro documents, zips, NULs in text, executables (test_it_refuses_hostile_and_
  mislabelled_files); the size cap at the service; `../`, `..\\`, absolute and CRLF names stored under a
  random name (test_path_tricks_in_names_never_reach_the_disk); a failed upload leaves no file; downloads
  are attachments, never sniffed.
- tests/meetings/test_actions.py: a report-back attachment disguised as text is refused and nothing saved.
- tests/security/test_xss.py: the stored file names (library versions, report-backs) shown on pages are
  escaped like every other text.

Here: the same rules through every form that takes a file (library document, new version, report-back,
MOU verification), over the cap and disguised; and the name tricks the library tests leave out (NUL,
right-to-left override, full-width slashes, Windows device names).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from meetings import actions
from meetings.models import ReportBack
from members import comms
from members.models import LibraryDocument, LibraryVersion
from taskforce.models import AuditEvent
from tests.members.test_comms import PDF_BYTES, add_document

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


@pytest.fixture(autouse=True)
def _plain_settings(settings):
    settings.REQUIRE_MFA = False
    settings.LIBRARY_MAX_UPLOAD_BYTES = 4096


def files_on_disk(settings) -> list[Path]:
    return [path for path in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if path.is_file()]


def disguised(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")  # the browser's claim is never read


OVER_THE_CAP = PDF_BYTES + b"0" * 5000
REFUSED = [
    ("an HTML page named .pdf", "minutes.pdf", HTML, "not a PDF"),
    ("a program named .pdf", "minutes.pdf", EXE, "not a PDF"),
    ("a file over the cap", "minutes.pdf", OVER_THE_CAP, "at most"),
]


@pytest.mark.parametrize(("what", "name", "data", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_the_library_forms_refuse_with_a_message_and_save_nothing(
    what, name, data, message, cast, client_for, settings
):
    client = client_for(cast.coordinator)
    response = client.post(
        reverse("members:document_new", args=[cast.taskforce.slug]),
        {"title": "Protocol", "kind": "protocol", "tier": "all", "file": disguised(name, data)},
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert not LibraryDocument.objects.exists() and files_on_disk(settings) == []

    document = add_document(cast)
    before = files_on_disk(settings)
    response = client.post(
        reverse("members:version_new", args=[cast.taskforce.slug, document.pk]), {"file": disguised(name, data)}
    )
    assert response.status_code == 200 and message in response.content.decode()
    assert document.versions.count() == 1 and files_on_disk(settings) == before
    assert AuditEvent.objects.filter(action="library.upload_refused", actor=cast.coordinator).count() == 2


@pytest.mark.parametrize(("what", "name", "data", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_report_back_refuses_with_a_message_and_saves_nothing(what, name, data, message, cast, client_for, settings):
    action = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Survey the shelters", owner_membership=cast.agency_b
    )
    url = reverse("meetings:action_report", args=[cast.taskforce.slug, action.pk])
    data = {
        "report-status": "on_track",
        "report-progress": "Table attached",
        "report-attachment": disguised(name, data),
    }

    client = client_for(cast.liaison_b)
    response = client.post(url, data)

    assert response.status_code in (200, 302)
    page = client.get(response["Location"]) if response.status_code == 302 else response
    assert message in page.content.decode()
    assert not ReportBack.objects.filter(action_item=action, submitted_at__isnull=False).exists()
    assert files_on_disk(settings) == []


@pytest.mark.parametrize(
    ("what", "data", "message"),
    [("an HTML page", HTML, "not a PDF"), ("a program", EXE, "not a PDF"), ("nothing", b"", "")],
)
def test_mou_verification_takes_pdfs_only(what, data, message, cast, client_for):
    """The file is only hashed and read for printed hashes; still, only a PDF goes as far as the PDF reader."""
    url = reverse("mous:verify", args=[cast.taskforce.slug])
    response = client_for(cast.liaison_b).post(url, {"pdf": disguised("mou.pdf", data)})
    assert response.status_code == 200
    body = response.content.decode()
    if message:
        assert message in body
    assert not AuditEvent.objects.filter(action="mou.verification").exists()


def test_mou_verification_reads_a_real_pdf(cast, client_for):
    """A genuine PDF passes the check (the whole match is tested in tests/mous/test_views.py)."""
    url = reverse("mous:verify", args=[cast.taskforce.slug])
    response = client_for(cast.liaison_b).post(url, {"pdf": disguised("mou.pdf", PDF_BYTES)})
    assert response.status_code == 200 and "not a PDF" not in response.content.decode()
    assert AuditEvent.objects.filter(action="mou.verification").exists()


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("minutes\x00.pdf", "minutes.pdf"),  # NUL: a C library would stop reading the name here
        ("evil\u202efdp.pdf", "evilfdp.pdf"),  # right-to-left override would show "evilpdf.pdf"-like lies
        ("..\uff0f..\uff0fetc\uff0fpasswd.pdf", "\uff0f..\uff0fetc\uff0fpasswd.pdf"),  # full-width slashes
        ("CON.pdf", "CON.pdf"),  # a Windows device name: harmless as a label, never a path
        ("a" * 300 + ".pdf", "a" * 146 + ".pdf"),
    ],
)
def test_odd_names_are_labels_and_the_stored_path_is_ours(name, shown, cast, settings):
    document = add_document(cast, name=name)
    version = document.versions.get()
    assert version.file_name == shown
    stored = comms.stored_path(version)
    assert stored.parent.parent == (Path(settings.PRIVATE_MEDIA_ROOT) / "library").resolve()
    assert len(stored.name) == 32 and int(stored.name, 16) >= 0  # 128 random bits in hex, nothing of the name
    assert [p.name for p in files_on_disk(settings)] == [version.storage_name]


def test_the_download_name_cannot_break_the_header(cast, client_for):
    document = add_document(cast, name='r\u00e9sum\u00e9 \u202e"x";.pdf')
    response = client_for(cast.coordinator).get(
        reverse("members:document_download", args=[cast.taskforce.slug, document.pk])
    )
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
    assert "\u202e" not in disposition and '\\"' not in disposition
    assert LibraryVersion.objects.get(document=document).file_name == "r\u00e9sum\u00e9 x.pdf"
