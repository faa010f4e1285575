"""Announcements, library and contact sheet rows of the permission matrix, and the health dashboard's
(tests/security/test_permission_matrix.py merges them in).

The announcement and the document are for named agencies, agency B: Larry (agency A) gets the same 404 as
for one that does not exist; Fred facilitates and is one of agency B's people, so he reads them. The
library's files go to PRIVATE_MEDIA_ROOT, a temporary folder per test (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from members import comms
from members.models import Announcement, LibraryDocument, Tier

PDF = b"%PDF-1.4\n%%EOF\n"


def _harbor(cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug}


def _announcement(cast) -> dict[str, Any]:
    made = Announcement.objects.filter(taskforce=cast.taskforce).first() or comms.announcement_publish(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="For the CAC",
        body="Only agency B reads this.",
        tier=Tier.NAMED_AGENCIES,
        agencies=[cast.agency_b],
    )
    return {"slug": cast.taskforce.slug, "pk": made.pk}


def _document(cast) -> dict[str, Any]:
    made = LibraryDocument.objects.filter(taskforce=cast.taskforce).first() or comms.document_create(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="CAC protocol",
        description="",
        kind="protocol",
        tier=Tier.NAMED_AGENCIES,
        agencies=[cast.agency_b],
        upload=SimpleUploadedFile("protocol.pdf", PDF),
    )
    return {"slug": cast.taskforce.slug, "pk": made.pk}


def _version(cast) -> dict[str, Any]:
    return {**_document(cast), "number": 1}


def comms_rows(Row, in_harbor, harbor_managers, work_managers) -> dict[str, Any]:  # noqa: N803 - the matrix's own classes
    readers_of_b = in_harbor(200, liaison_a=404)
    managers_of_b = in_harbor(403, admin=200, coordinator=200, facilitator=200, liaison_a=404)
    managers_of_b_post = in_harbor(403, admin=302, coordinator=302, facilitator=302, liaison_a=404)
    return {
        "members:announcements": Row(_harbor, "GET", in_harbor()),
        "members:announcement_new": Row(_harbor, "GET", work_managers()),
        "members:announcement": Row(_announcement, "GET", readers_of_b),
        # POST only: those who post withdraw; Larry cannot tell it exists.
        "members:announcement_delete": Row(_announcement, "POST", managers_of_b_post),
        "members:library": Row(_harbor, "GET", in_harbor()),
        "members:document_new": Row(_harbor, "GET", work_managers()),
        "members:folder_new": Row(_harbor, "GET", work_managers()),
        "members:document": Row(_document, "GET", readers_of_b),
        "members:document_edit": Row(_document, "GET", managers_of_b),
        "members:document_delete": Row(_document, "POST", managers_of_b_post),
        "members:version_new": Row(_document, "GET", managers_of_b),
        "members:document_download": Row(_document, "GET", readers_of_b),
        "members:version_download": Row(_version, "GET", readers_of_b),
        "members:contact_sheet": Row(_harbor, "GET", in_harbor()),
        "members:contact_sheet_pdf": Row(_harbor, "GET", in_harbor()),
        # Task force health and the funders' report: coordinators (taskforce.manage_members) and the site admin.
        "taskforce:health": Row(_harbor, "GET", harbor_managers()),
        "taskforce:health_report_pdf": Row(_harbor, "GET", harbor_managers()),
        "taskforce:health_report_csv": Row(_harbor, "GET", harbor_managers()),
    }
