"""Announcements, the resource library and the contact sheet.

Every announcement and document is fetched through members.comms' tier selectors: what the list shows is
exactly what the detail page and the download let through; anything else is an audited 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Max, Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from members import comms
from members.comms_forms import AnnouncementForm, DocumentForm, FolderForm, VersionForm
from members.models import (
    DocumentKind,
    LibraryDocument,
    LibraryFolder,
    LibraryVersion,
    Membership,
    MembershipStatus,
    Subcommittee,
)
from taskforce import audit, permissions
from taskforce.models import TaskForce
from taskforce.pdf import pdf_response, render_pdf


def _manager(request: HttpRequest, taskforce: TaskForce) -> None:
    if not comms.may_post(request.user, taskforce):
        permissions.deny(request, taskforce, "taskforce.manage_work")


def _tier_kwargs(request: HttpRequest, taskforce: TaskForce) -> dict:
    return {
        "memberships": Membership.objects.filter(taskforce=taskforce, status=MembershipStatus.ACTIVE).select_related(
            "agency"
        ),
        "coordinator": permissions.has_perm(request.user, "taskforce.manage_members", taskforce),
    }


def _first_error(error: ValidationError) -> str:
    return error.messages[0] if error.messages else str(error)


# --- announcements -------------------------------------------------------------------------------------


@login_required
def announcements(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    visible = (
        comms.announcements_visible_to(request.user, taskforce)
        .select_related("author", "subcommittee")
        .order_by("-published_at", "-pk")
    )
    subcommittee = None
    if request.GET.get("subcommittee", "").isdigit():
        subcommittee = Subcommittee.objects.filter(taskforce=taskforce, pk=request.GET["subcommittee"]).first()
        if subcommittee is not None:
            visible = visible.filter(subcommittee=subcommittee)
    page = Paginator(visible, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "members/comms/announcements.html",
        {
            "taskforce": taskforce,
            "page": page,
            "read": comms.read_ids(request.user, list(page.object_list)),
            "subcommittee": subcommittee,
            "can_post": comms.may_post(request.user, taskforce),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def announcement_new(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_work")
    form = AnnouncementForm(
        request.POST or None,
        subcommittees=Subcommittee.objects.filter(taskforce=taskforce),
        initial={"subcommittee": request.GET.get("subcommittee")},
        **_tier_kwargs(request, taskforce),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            announcement = comms.announcement_publish(
                taskforce=taskforce,
                actor=request.user,
                title=data["title"],
                body=data["body"],
                tier=data["tier"],
                agencies=list(data["agencies"]),
                subcommittee=data["subcommittee"],
                send_email=data["send_email"],
            )
        except ValidationError as error:
            form.add_error(None, _first_error(error))
        else:
            if data["send_email"]:
                messages.success(request, _("Announcement published and emailed to its readers."))
            else:
                messages.success(request, _("Announcement published."))
            return redirect("members:announcement", slug=taskforce.slug, pk=announcement.pk)
    return render(request, "members/comms/announcement_form.html", {"taskforce": taskforce, "form": form})


@login_required
def announcement_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    announcement = comms.fetch_visible(
        request,
        comms.announcements_visible_to(request.user, taskforce).select_related("author", "subcommittee"),
        pk,
    )
    comms.announcement_mark_read(announcement=announcement, user=request.user)
    # Receipts are for whoever posts announcements (they chase the people who have not read it).
    receipts = comms.receipts(announcement) if comms.may_post(request.user, taskforce) else None
    return render(
        request,
        "members/comms/announcement_detail.html",
        {
            "taskforce": taskforce,
            "announcement": announcement,
            "agencies": announcement.agencies.select_related("agency"),
            "receipts": receipts,
            "can_manage": comms.may_post(request.user, taskforce),
        },
    )


@login_required
@require_POST
def announcement_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    announcement = comms.fetch_visible(request, comms.announcements_visible_to(request.user, taskforce), pk)
    if not comms.may_post(request.user, taskforce):
        permissions.deny(request, announcement, "taskforce.manage_work")
    comms.announcement_delete(announcement=announcement, actor=request.user)
    messages.success(request, _("Announcement withdrawn. Emails already sent cannot be recalled."))
    return redirect("members:announcements", slug=taskforce.slug)


# --- library -----------------------------------------------------------------------------------------


def _document(request: HttpRequest, taskforce: TaskForce, pk: int) -> LibraryDocument:
    queryset = comms.documents_visible_to(request.user, taskforce).select_related("folder", "author")
    return comms.fetch_visible(request, queryset, pk)


@login_required
def library(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    documents = (
        comms.documents_visible_to(request.user, taskforce)
        .select_related("folder")
        .annotate(latest=Max("versions__number"))
        .prefetch_related(Prefetch("versions", queryset=LibraryVersion.objects.order_by("-number")))
        .order_by("folder__name", "title")
    )
    kind = request.GET.get("kind", "")
    if kind in DocumentKind.values:
        documents = documents.filter(kind=kind)
    folders: dict[LibraryFolder | None, list[LibraryDocument]] = {}
    for folder in LibraryFolder.objects.filter(taskforce=taskforce):
        folders[folder] = []
    loose: list[LibraryDocument] = []
    for document in documents:
        (folders[document.folder] if document.folder in folders else loose).append(document)
    return render(
        request,
        "members/comms/library.html",
        {
            "taskforce": taskforce,
            "folders": [(folder, docs) for folder, docs in folders.items() if docs or not kind],
            "loose": loose,
            "kinds": DocumentKind.choices,
            "kind": kind,
            "can_manage": comms.may_post(request.user, taskforce),
            "active_agencies": Membership.objects.filter(taskforce=taskforce, status=MembershipStatus.ACTIVE).count(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def folder_new(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_work")
    form = FolderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            comms.folder_save(taskforce=taskforce, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("name", _first_error(error))
        else:
            messages.success(request, _("Folder created."))
            return redirect("members:library", slug=taskforce.slug)
    return render(
        request,
        "members/comms/form.html",
        {
            "taskforce": taskforce,
            "form": form,
            "page_title": _("New folder"),
            "cancel_url": "members:library",
            "section": "library",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def document_new(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_work")
    form = DocumentForm(
        request.POST or None,
        request.FILES or None,
        folders=LibraryFolder.objects.filter(taskforce=taskforce),
        initial={"folder": request.GET.get("folder"), "kind": request.GET.get("kind") or DocumentKind.PROTOCOL},
        **_tier_kwargs(request, taskforce),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = comms.document_create(
                taskforce=taskforce,
                actor=request.user,
                title=data["title"],
                description=data["description"],
                kind=data["kind"],
                tier=data["tier"],
                folder=data["folder"],
                agencies=list(data["agencies"]),
                upload=data["file"],
            )
        except comms.UploadRejected as error:
            audit.record(
                "library.upload_refused",
                request=request,
                taskforce=taskforce,
                reason=_first_error(error),
                name=comms.clean_file_name(data["file"].name)[:150],
            )
            form.add_error("file", _first_error(error))
        except ValidationError as error:
            form.add_error(None, _first_error(error))
        else:
            messages.success(request, _("Document added to the library."))
            return redirect("members:document", slug=taskforce.slug, pk=document.pk)
    return render(
        request,
        "members/comms/form.html",
        {
            "taskforce": taskforce,
            "form": form,
            "page_title": _("Add a document"),
            "page_lead": _(
                "Files are checked by their contents. They are stored privately and download only for the "
                "people you choose below."
            ),
            "cancel_url": "members:library",
            "multipart": True,
            "max_mb": comms.max_upload_bytes() // (1024 * 1024),
            "section": "library",
        },
    )


@login_required
def document_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    document = _document(request, taskforce, pk)
    return render(
        request,
        "members/comms/document_detail.html",
        {
            "taskforce": taskforce,
            "document": document,
            "versions": document.versions.select_related("uploaded_by"),
            "agencies": document.agencies.select_related("agency"),
            "can_manage": comms.may_post(request.user, taskforce),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def document_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    document = _document(request, taskforce, pk)
    if not comms.may_post(request.user, taskforce):
        permissions.deny(request, document, "taskforce.manage_work")
    initial = {
        "title": document.title,
        "kind": document.kind,
        "folder": document.folder,
        "description": document.description,
        "tier": document.tier,
        "agencies": list(document.agencies.all()),
    }
    form = DocumentForm(
        request.POST or None,
        with_file=False,
        initial=initial,
        folders=LibraryFolder.objects.filter(taskforce=taskforce),
        **_tier_kwargs(request, taskforce),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            comms.document_update(
                document=document,
                actor=request.user,
                title=data["title"],
                description=data["description"],
                kind=data["kind"],
                tier=data["tier"],
                folder=data["folder"],
                agencies=list(data["agencies"]),
            )
        except ValidationError as error:
            form.add_error(None, _first_error(error))
        else:
            messages.success(request, _("Document saved."))
            return redirect("members:document", slug=taskforce.slug, pk=document.pk)
    return render(
        request,
        "members/comms/form.html",
        {
            "taskforce": taskforce,
            "form": form,
            "document": document,
            "page_title": _("Edit %(title)s") % {"title": document.title},
            "section": "library",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_new(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    document = _document(request, taskforce, pk)
    if not comms.may_post(request.user, taskforce):
        permissions.deny(request, document, "taskforce.manage_work")
    form = VersionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = comms.version_add(
                document=document, actor=request.user, upload=form.cleaned_data["file"], note=form.cleaned_data["note"]
            )
        except comms.UploadRejected as error:
            audit.record(
                "library.upload_refused",
                request=request,
                obj=document,
                reason=_first_error(error),
                name=comms.clean_file_name(form.cleaned_data["file"].name)[:150],
            )
            form.add_error("file", _first_error(error))
        else:
            messages.success(request, _("Version %(n)s uploaded.") % {"n": version.number})
            return redirect("members:document", slug=taskforce.slug, pk=document.pk)
    return render(
        request,
        "members/comms/form.html",
        {
            "taskforce": taskforce,
            "form": form,
            "document": document,
            "page_title": _("New version of %(title)s") % {"title": document.title},
            "multipart": True,
            "max_mb": comms.max_upload_bytes() // (1024 * 1024),
            "section": "library",
        },
    )


@login_required
@require_POST
def document_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    document = _document(request, taskforce, pk)
    if not comms.may_post(request.user, taskforce):
        permissions.deny(request, document, "taskforce.manage_work")
    comms.document_delete(document=document, actor=request.user)
    messages.success(request, _("Document and all its versions deleted."))
    return redirect("members:library", slug=taskforce.slug)


def _serve(request: HttpRequest, document: LibraryDocument, version: LibraryVersion) -> FileResponse:
    path = comms.stored_path(version)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        audit.record("library.file_missing", request=request, obj=document, version=version.number)
        raise Http404 from None
    audit.record("library.downloaded", request=request, obj=document, version=version.number, sha256=version.sha256)
    response = FileResponse(handle, as_attachment=True, filename=version.file_name, content_type=version.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # Should a browser ever render it anyway, it gets no scripts, no plugins and an opaque origin.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@login_required
def document_download(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    document = _document(request, taskforce, pk)
    version = document.versions.order_by("-number").first()
    if version is None:
        raise Http404
    return _serve(request, document, version)


@login_required
def version_download(request: HttpRequest, slug: str, pk: int, number: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    document = _document(request, taskforce, pk)
    version = document.versions.filter(number=number).first()
    if version is None:
        audit.record("access.not_found", request=request, obj=document, model="members.libraryversion")
        raise Http404
    return _serve(request, document, version)


# --- contact sheet -----------------------------------------------------------------------------------


@login_required
def contact_sheet(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    return render(
        request,
        "members/comms/contact_sheet.html",
        {"taskforce": taskforce, "memberships": comms.contact_sheet(taskforce)},
    )


@login_required
def contact_sheet_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    context = {
        "taskforce": taskforce,
        "memberships": comms.contact_sheet(taskforce),
        "generated_at": timezone.now(),
        "title": _("Contact sheet"),
        "subtitle": _("Who to call at each agency, and for what. Keep a printed copy where connectivity is poor."),
    }
    pdf = render_pdf("pdf/contact_sheet.html", context, request=request)
    audit.record("contact_sheet.exported", request=request, taskforce=taskforce, format="pdf")
    return pdf_response(pdf, f"{taskforce.slug}-contact-sheet.pdf")
