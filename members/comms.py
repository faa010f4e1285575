"""Announcements, the resource library and the contact sheet: who may read what, and every write.

One rule decides who reads an announcement or a library document (`tier_q`), and the list, detail and
download views all fetch through `announcements_visible_to` / `documents_visible_to`, so a page can never
show what a download would refuse. The rule, per tier:

- all members: anyone who can view the task force;
- named agencies: the people of the chosen memberships (their agency groups), plus the coordinators;
- coordinators only: the task force's coordinators.

Authors always read what they wrote; site admins see every ordinary record, as everywhere else.

Uploads are checked by their bytes, never by the name or the browser's content type (`sniff_upload`),
stored under random names in PRIVATE_MEDIA_ROOT, and leave only through the download view.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import (
    Announcement,
    AnnouncementRead,
    LibraryDocument,
    LibraryFolder,
    LibraryVersion,
    Membership,
    MembershipStatus,
    Subcommittee,
    Tier,
    User,
)
from members.selectors import people_of_taskforce
from taskforce import audit, notifications, permissions
from taskforce.models import TaskForce

ANNOUNCEMENT_EMAIL = "members.announcement"

# The largest file the library accepts. Settings may lower or raise it (LIBRARY_MAX_UPLOAD_BYTES).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def max_upload_bytes() -> int:
    return int(getattr(settings, "LIBRARY_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES))


# --- who may read: one rule, one query ------------------------------------------------------------------


def _is_coordinator(user: Any) -> Q:
    """Whether `user` coordinates the row's task force, as a subquery (no join, no duplicates)."""
    return Q(
        Exists(
            TaskForce.objects.filter(pk=OuterRef("taskforce_id"), coordinators__user=user),
        )
    )


def tier_q(user: Any, model: type[Announcement] | type[LibraryDocument]) -> Q:
    """The rows of `model` whose tier lets `user` read them, given they can view the task force."""
    named = Exists(
        model.agencies.through.objects.filter(
            **{f"{model._meta.model_name}_id": OuterRef("pk")},
            membership__group__user=user,
            membership__status=MembershipStatus.ACTIVE,
        )
    )
    return Q(tier=Tier.ALL_MEMBERS) | Q(tier=Tier.NAMED_AGENCIES) & Q(named) | _is_coordinator(user) | Q(author=user)


def _visible[M: (Announcement, LibraryDocument)](user: Any, queryset: QuerySet[M]) -> QuerySet[M]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    taskforces = permissions.visible_to(user, "taskforce.view_taskforce", TaskForce.objects.all())
    queryset = queryset.filter(taskforce__in=taskforces.values("pk"))
    if user.is_superuser:
        return queryset
    return queryset.filter(tier_q(user, queryset.model))


def announcements_visible_to(user: Any, taskforce: TaskForce) -> QuerySet[Announcement]:
    return _visible(user, Announcement.objects.filter(taskforce=taskforce))


def documents_visible_to(user: Any, taskforce: TaskForce) -> QuerySet[LibraryDocument]:
    return _visible(user, LibraryDocument.objects.filter(taskforce=taskforce))


def fetch_visible[M: (Announcement, LibraryDocument)](request: HttpRequest, queryset: QuerySet[M], pk: Any) -> M:
    """The row if the tier lets the person read it, else a 404 like a missing id, audited like permissions'."""
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        try:
            exists = queryset.model._default_manager.filter(pk=pk).exists()
        except (ValueError, TypeError):
            exists = False
        audit.record(
            "access.not_found",
            request=request,
            model=queryset.model._meta.label_lower,
            lookup={"pk": str(pk)},
            exists=exists,
        )
        raise Http404 from None


def may_post(user: Any, taskforce: TaskForce) -> bool:
    """Coordinators and facilitators post announcements and manage the library (taskforce.manage_work)."""
    return permissions.has_perm(user, "taskforce.manage_work", taskforce)


def may_use_tier(user: Any, taskforce: TaskForce, tier: str) -> bool:
    """Only coordinators write for coordinators only: a facilitator could not read it back otherwise."""
    return tier != Tier.COORDINATORS or permissions.has_perm(user, "taskforce.manage_members", taskforce)


def audience(*, taskforce: TaskForce, tier: str, agencies: list[Membership], subcommittee: Subcommittee | None):
    """The people a tier reaches (for email and read receipts): active people of the task force."""
    people = people_of_taskforce(taskforce)
    coordinators = Q(groups=taskforce.coordinators)
    if tier == Tier.COORDINATORS:
        people = people.filter(coordinators)
    elif tier == Tier.NAMED_AGENCIES:
        groups = [m.group_id for m in agencies if m.status == MembershipStatus.ACTIVE]
        people = people.filter(Q(groups__in=groups) | coordinators)
    if subcommittee is not None:
        people = people.filter(Q(subcommittees=subcommittee) | coordinators)
    return people.distinct()


def announcement_audience(announcement: Announcement):
    return audience(
        taskforce=announcement.taskforce,
        tier=announcement.tier,
        agencies=list(announcement.agencies.all()),
        subcommittee=announcement.subcommittee,
    )


# --- announcements -------------------------------------------------------------------------------------


def _check_tier(*, taskforce: TaskForce, actor: Any, tier: str, agencies: list[Membership]) -> None:
    if not may_use_tier(actor, taskforce, tier):
        raise ValidationError(_("Only coordinators can write for coordinators only."))
    if tier == Tier.NAMED_AGENCIES and not agencies:
        raise ValidationError(_("Name at least one agency."))
    if any(m.taskforce_id != taskforce.pk for m in agencies):
        raise ValidationError(_("Those agencies are not in this task force."))


@transaction.atomic
def announcement_publish(
    *,
    taskforce: TaskForce,
    actor: Any,
    title: str,
    body: str,
    tier: str,
    agencies: list[Membership] | None = None,
    subcommittee: Subcommittee | None = None,
    send_email: bool = False,
) -> Announcement:
    """Publish now; with send_email, one notification row per person of the audience (sent after commit)."""
    agencies = list(agencies or []) if tier == Tier.NAMED_AGENCIES else []
    _check_tier(taskforce=taskforce, actor=actor, tier=tier, agencies=agencies)
    if subcommittee is not None and subcommittee.taskforce_id != taskforce.pk:
        raise ValidationError(_("That subcommittee is not in this task force."))
    announcement = Announcement(
        taskforce=taskforce, subcommittee=subcommittee, title=title, body=body, tier=tier, author=actor
    )
    announcement.full_clean()
    announcement.save()
    announcement.agencies.set(agencies)
    # The author has read what they wrote; receipts then count the others.
    AnnouncementRead.objects.create(announcement=announcement, user=actor)
    emailed = 0
    if send_email:
        now = timezone.now()
        for person in announcement_audience(announcement).exclude(pk=actor.pk).exclude(email=""):
            if notifications.schedule(kind=ANNOUNCEMENT_EMAIL, subject=announcement, recipient=person, due_at=now):
                emailed += 1
        announcement.emailed_at = now
        announcement.save(update_fields=["emailed_at"])
        notifications.queue_sweep()
    audit.record(
        "announcement.published",
        actor=actor,
        obj=announcement,
        taskforce=taskforce,
        tier=tier,
        agencies=[m.pk for m in agencies],
        emailed=emailed,
    )
    return announcement


@transaction.atomic
def announcement_delete(*, announcement: Announcement, actor: Any) -> None:
    notifications.cancel(subject=announcement)
    audit.record("announcement.deleted", actor=actor, obj=announcement, title=announcement.title)
    announcement.delete()


def announcement_mark_read(*, announcement: Announcement, user: Any) -> bool:
    """Record the first opening; True if this was it. Idempotent under concurrent clicks."""
    _read, created = AnnouncementRead.objects.get_or_create(announcement=announcement, user=user)
    return created


def render_announcement_email(notification: Any) -> notifications.Message | None:
    """Re-checks the tier at send time: someone who lost access since publishing gets nothing."""
    recipient = notification.recipient
    announcement = (
        _visible(recipient, Announcement.objects.all())
        .select_related("taskforce", "author")
        .filter(pk=notification.subject_id)
        .first()
    )
    if announcement is None:
        return None
    url = settings.SITE_URL + reverse("members:announcement", args=[announcement.taskforce.slug, announcement.pk])
    return notifications.render_message(
        subject=f"[{announcement.taskforce.name}] {announcement.title}",
        template="members/comms/email/announcement",
        context={
            "recipient": recipient,
            "announcement": announcement,
            "url": url,
            "taskforce_name": announcement.taskforce.name,
        },
    )


@dataclass
class Receipts:
    read: list[tuple[User, datetime]]
    unread: list[User]

    @property
    def total(self) -> int:
        return len(self.read) + len(self.unread)

    @property
    def rate(self) -> int:
        return round(100 * len(self.read) / self.total) if self.total else 0


def receipts(announcement: Announcement) -> Receipts:
    """Who of the audience opened it and when, and who has not yet (the author is not counted)."""
    reads = {
        row.user_id: row.read_at
        for row in AnnouncementRead.objects.filter(announcement=announcement).exclude(user_id=announcement.author_id)
    }
    people = list(announcement_audience(announcement).exclude(pk=announcement.author_id))
    read = sorted(((p, reads[p.pk]) for p in people if p.pk in reads), key=lambda pair: pair[1])
    return Receipts(read=read, unread=[p for p in people if p.pk not in reads])


def read_ids(user: Any, announcements: list[Announcement]) -> set[int]:
    return set(
        AnnouncementRead.objects.filter(user=user, announcement__in=announcements).values_list(
            "announcement_id", flat=True
        )
    )


# --- uploads: checked by their bytes ------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    label: str
    content_type: str
    extensions: tuple[str, ...]


PDF = FileType("PDF", "application/pdf", (".pdf",))
PNG = FileType("PNG image", "image/png", (".png",))
JPEG = FileType("JPEG image", "image/jpeg", (".jpg", ".jpeg"))
DOCX = FileType("Word document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",))
XLSX = FileType("Excel workbook", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
PPTX = FileType(
    "PowerPoint presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    (".pptx",),
)
TEXT = FileType("Plain text", "text/plain; charset=utf-8", (".txt",))
CSV = FileType("CSV", "text/csv; charset=utf-8", (".csv",))

ALLOWED_TYPES = (PDF, DOCX, XLSX, PPTX, PNG, JPEG, TEXT, CSV)
ACCEPT_ATTRIBUTE = ",".join(ext for kind in ALLOWED_TYPES for ext in kind.extensions)

# The main part an Office Open XML package must declare in [Content_Types].xml to be that kind of file.
# Macro-enabled variants (.docm ...) declare other types and are refused with everything else.
_OOXML_MAIN = {
    ".docx": (DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    ".xlsx": (XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
    ".pptx": (PPTX, "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
}
_OOXML_MAX_ENTRIES = 5000
_CONTENT_TYPES_MAX_BYTES = 1024 * 1024
# Text that a browser or an office suite might treat as markup or script if it ever got the chance.
_MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|\?xml)|<!--", re.IGNORECASE)


class UploadRejected(ValidationError):
    pass


def clean_file_name(name: str) -> str:
    """A download name safe in any header or file system: no directories, controls, or leading dots."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*;')
    name = name.strip().lstrip(".").strip()
    name = re.sub(r"\s+", " ", name)
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 150 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else name[:150]
    return name


def _extension(name: str) -> str:
    return Path(name).suffix.lower()


def sniff_upload(data: bytes, name: str) -> FileType:
    """The type the bytes prove, if it is allowed and agrees with the name's extension; else UploadRejected."""
    extension = _extension(name)
    if data.startswith(b"%PDF-"):
        found = PDF
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        found = PNG
    elif data.startswith(b"\xff\xd8\xff"):
        found = JPEG
    elif data.startswith(b"PK\x03\x04"):
        found = _sniff_ooxml(data, extension)
    else:
        found = _sniff_text(data, extension)
    if extension not in found.extensions:
        raise UploadRejected(
            _("The file's contents are a %(kind)s, but its name ends in %(ext)s. Rename it and try again.")
            % {"kind": found.label, "ext": extension or _("nothing")}
        )
    return found


def _sniff_ooxml(data: bytes, extension: str) -> FileType:
    expected = _OOXML_MAIN.get(extension)
    if expected is None:
        raise UploadRejected(_("Zip archives are accepted only as Word, Excel or PowerPoint files."))
    kind, main = expected
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if len(entries) > _OOXML_MAX_ENTRIES:
                raise UploadRejected(_("This document has too many parts to be a normal office file."))
            names = {entry.filename for entry in entries}
            info = next((entry for entry in entries if entry.filename == "[Content_Types].xml"), None)
            if info is None or info.file_size > _CONTENT_TYPES_MAX_BYTES:
                raise UploadRejected(_("This is not a valid %(kind)s.") % {"kind": kind.label})
            declared = archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        raise UploadRejected(_("This is not a valid %(kind)s.") % {"kind": kind.label}) from None
    if main.encode() not in declared:
        raise UploadRejected(
            _("This file is not a %(kind)s (macro-enabled documents are not accepted).") % {"kind": kind.label}
        )
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise UploadRejected(_("Documents with macros are not accepted."))
    return kind


def _sniff_text(data: bytes, extension: str) -> FileType:
    kind = CSV if extension == ".csv" else TEXT
    if extension not in (".txt", ".csv"):
        claimed = next((kind for kind in ALLOWED_TYPES if extension in kind.extensions), None)
        if claimed is not None:
            raise UploadRejected(_("The contents of this file are not a %(kind)s.") % {"kind": claimed.label})
        raise UploadRejected(
            _("This kind of file is not accepted. Upload a PDF, Word, Excel, PowerPoint, PNG, JPEG, text or CSV file.")
        )
    if b"\x00" in data:
        raise UploadRejected(_("This is not a text file."))
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadRejected(_("Text files must be saved as UTF-8.")) from None
    if _MARKUP.search(data[:65536]):
        raise UploadRejected(_("Text files may not contain web pages or images (HTML, SVG, XML)."))
    return kind


def read_upload(upload: UploadedFile) -> bytes:
    """The upload's bytes, refusing anything over the cap before reading it all."""
    limit = max_upload_bytes()
    if upload.size is not None and upload.size > limit:
        raise UploadRejected(_("Files may be at most %(mb)s MB.") % {"mb": limit // (1024 * 1024)})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(_("Files may be at most %(mb)s MB.") % {"mb": limit // (1024 * 1024)})
    if not data:
        raise UploadRejected(_("The file is empty."))
    return data


def library_root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "library"


def stored_path(version: LibraryVersion) -> Path:
    """Where a version's bytes are. Storage names are ours (hex), but check containment anyway."""
    if not re.fullmatch(r"[0-9a-f]{32}", version.storage_name):
        raise Http404
    root = library_root().resolve()
    path = (root / version.storage_name[:2] / version.storage_name).resolve()
    if root not in path.parents:
        raise Http404
    return path


def _store(data: bytes) -> str:
    storage_name = secrets.token_hex(16)
    path = library_root() / storage_name[:2] / storage_name
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    # "xb": never overwrite; the name is random, so a clash means something is badly wrong.
    with path.open("xb") as handle:
        handle.write(data)
    path.chmod(0o640)
    return storage_name


# --- library -----------------------------------------------------------------------------------------


@transaction.atomic
def folder_save(*, taskforce: TaskForce, actor: Any, name: str, description: str = "") -> LibraryFolder:
    if LibraryFolder.objects.filter(taskforce=taskforce, name__iexact=name).exists():
        raise ValidationError(_("There is already a folder called %(name)s.") % {"name": name})
    folder = LibraryFolder(taskforce=taskforce, name=name, description=description)
    folder.full_clean()
    folder.save()
    audit.record("library.folder_created", actor=actor, obj=folder, taskforce=taskforce)
    return folder


@contextmanager
def _files_discarded_on_error() -> Iterator[list[Path]]:
    """Files written inside the block are deleted if it fails (its transaction rolled back: no row names them)."""
    written: list[Path] = []
    try:
        yield written
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _version_create(
    *, document: LibraryDocument, actor: Any, upload: UploadedFile, note: str, written: list[Path]
) -> LibraryVersion:
    data = read_upload(upload)
    file_name = clean_file_name(upload.name)
    if not file_name or not Path(file_name).stem:
        raise UploadRejected(_("The file needs a name."))
    kind = sniff_upload(data, file_name)
    number = (document.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    storage_name = _store(data)
    written.append(library_root() / storage_name[:2] / storage_name)
    return LibraryVersion.objects.create(
        document=document,
        number=number,
        file_name=file_name,
        storage_name=storage_name,
        content_type=kind.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        note=note,
        uploaded_by=actor,
    )


def document_create(
    *,
    taskforce: TaskForce,
    actor: Any,
    title: str,
    description: str,
    kind: str,
    tier: str,
    upload: UploadedFile,
    folder: LibraryFolder | None = None,
    agencies: list[Membership] | None = None,
) -> LibraryDocument:
    agencies = list(agencies or []) if tier == Tier.NAMED_AGENCIES else []
    _check_tier(taskforce=taskforce, actor=actor, tier=tier, agencies=agencies)
    if folder is not None and folder.taskforce_id != taskforce.pk:
        raise ValidationError(_("That folder is not in this task force."))
    with _files_discarded_on_error() as written, transaction.atomic():
        document = LibraryDocument(
            taskforce=taskforce, folder=folder, title=title, description=description, kind=kind, tier=tier, author=actor
        )
        document.full_clean()
        document.save()
        document.agencies.set(agencies)
        version = _version_create(document=document, actor=actor, upload=upload, note="", written=written)
        audit.record(
            "library.document_created",
            actor=actor,
            obj=document,
            taskforce=taskforce,
            tier=tier,
            agencies=[m.pk for m in agencies],
            version=version.number,
            sha256=version.sha256,
        )
    return document


def version_add(*, document: LibraryDocument, actor: Any, upload: UploadedFile, note: str = "") -> LibraryVersion:
    with _files_discarded_on_error() as written, transaction.atomic():
        document = LibraryDocument.objects.select_for_update().get(pk=document.pk)
        version = _version_create(document=document, actor=actor, upload=upload, note=note, written=written)
        document.updated_at = timezone.now()
        document.save(update_fields=["updated_at"])
        audit.record(
            "library.version_added",
            actor=actor,
            obj=document,
            taskforce=document.taskforce,
            version=version.number,
            sha256=version.sha256,
        )
    return version


@transaction.atomic
def document_update(
    *,
    document: LibraryDocument,
    actor: Any,
    title: str,
    description: str,
    kind: str,
    tier: str,
    folder: LibraryFolder | None,
    agencies: list[Membership] | None = None,
) -> LibraryDocument:
    taskforce = document.taskforce
    agencies = list(agencies or []) if tier == Tier.NAMED_AGENCIES else []
    _check_tier(taskforce=taskforce, actor=actor, tier=tier, agencies=agencies)
    if folder is not None and folder.taskforce_id != taskforce.pk:
        raise ValidationError(_("That folder is not in this task force."))
    before = document.tier
    document.title, document.description, document.kind = title, description, kind
    document.tier, document.folder, document.updated_at = tier, folder, timezone.now()
    document.full_clean()
    document.save()
    document.agencies.set(agencies)
    audit.record(
        "library.document_updated", actor=actor, obj=document, tier_before=before, tier=tier, agencies=len(agencies)
    )
    return document


@transaction.atomic
def document_delete(*, document: LibraryDocument, actor: Any) -> None:
    """Remove a document and every version's file (a wrong upload must be retractable); audited with hashes."""
    versions = list(document.versions.all())
    audit.record(
        "library.document_deleted",
        actor=actor,
        obj=document,
        title=document.title,
        versions=[{"number": v.number, "sha256": v.sha256, "file_name": v.file_name} for v in versions],
    )
    paths = [stored_path(version) for version in versions]
    document.delete()

    def unlink() -> None:
        for path in paths:
            path.unlink(missing_ok=True)

    # Only once the rows are gone for good: a rolled-back delete keeps its files.
    transaction.on_commit(unlink)


# --- contact sheet -----------------------------------------------------------------------------------


def contact_sheet(taskforce: TaskForce) -> QuerySet[Membership]:
    """Active agencies with who to call for what: liaison, alternate, main and after-hours contacts."""
    return (
        Membership.objects.filter(taskforce=taskforce, status=MembershipStatus.ACTIVE)
        .select_related("agency", "liaison", "alternate_liaison")
        .order_by("agency__name")
    )


# --- dashboard card ----------------------------------------------------------------------------------


def announcement_cards(request: HttpRequest, taskforce: TaskForce) -> list[Any]:
    """The latest announcements the person may read, unread ones marked, on the task-force dashboard."""
    from taskforce.dashboard import Card

    # Whether the person has read each one comes with it (as read_ids would say), not in a second query.
    read_by_user = AnnouncementRead.objects.filter(announcement=OuterRef("pk"), user_id=request.user.pk)
    latest = list(
        announcements_visible_to(request.user, taskforce)
        .select_related("author")
        .annotate(_read_by_user=Exists(read_by_user))
        .order_by("-published_at", "-pk")[:4]
    )
    if not latest:
        return []
    read = {announcement.pk for announcement in latest if announcement._read_by_user}
    return [Card("members/comms/card.html", {"announcements": latest, "read": read}, order=15)]
