"""Directory, onboarding, agency profiles, people and invitations."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cases.forms import filter_selects
from members import selectors, services
from members.forms import (
    AcceptInvitationForm,
    AgencyForm,
    DirectoryFilterForm,
    ExistingAgencyOnboardForm,
    GoalForm,
    InviteForm,
    MembershipProfileForm,
    OnboardForm,
    PersonForm,
    RolesForm,
    SubcommitteeForm,
    TrainingEventForm,
    TrainingTopicForm,
    WithdrawForm,
)
from members.models import (
    Agency,
    Goal,
    Invitation,
    Membership,
    MembershipStatus,
    Role,
    Subcommittee,
    TaskForceRole,
    TrainingAttendance,
    TrainingEvent,
    TrainingKind,
    TrainingTopic,
    User,
)
from taskforce import audit, freshness, permissions
from taskforce.models import TaskForce
from taskforce.pdf import pdf_response, render_pdf


def _membership(
    request: HttpRequest, taskforce: TaskForce, pk: int, perm: str = "members.view_membership"
) -> Membership:
    queryset = Membership.objects.filter(taskforce=taskforce).select_related("agency", "liaison", "signatory")
    return permissions.get_for_user(request.user, perm, queryset, request=request, pk=pk)


def _people_of(taskforce: TaskForce):
    """Everyone with a role in the task force or an open invitation to it."""
    return User.objects.filter(
        Q(taskforce_roles__taskforce=taskforce)
        | Q(
            invitations__taskforce=taskforce,
            invitations__accepted_at__isnull=True,
            invitations__revoked_at__isnull=True,
        )
    ).distinct()


def _person(request: HttpRequest, taskforce: TaskForce, pk: int) -> User:
    person = _people_of(taskforce).select_related("agency").filter(pk=pk).first()
    if person is None:
        audit.record(
            "access.not_found", request=request, taskforce=taskforce, model="members.user", lookup={"pk": str(pk)}
        )
        raise Http404
    return person


# --- directory ----------------------------------------------------------------------------


DIRECTORY_PAGE_SIZE = 25


def _directory_filters(request: HttpRequest) -> tuple[DirectoryFilterForm, dict]:
    form = DirectoryFilterForm(request.GET or None)
    return form, (form.cleaned_data if form.is_valid() else {})


@login_required
def directory(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    form, filters = _directory_filters(request)
    # A page of agencies at a time: a statewide task force has hundreds of people (the CSV and the PDF list all).
    # The table shows the agency and its people's names, titles and roles, so it reads just those: not the
    # liaison, alternate and signatory rows nor every column of every person, which the exports need.
    # The same for everyone who may open the directory: cached until anything is written (taskforce.freshness), per
    # query string and language (the sector and status labels).
    key = f"directory:{taskforce.pk}:{sorted(request.GET.lists())}:{get_language()}"
    directory_rows, number, count = freshness.cached(
        key, lambda: _directory_page(taskforce, filters, request.GET.get("page"))
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "taskforce": taskforce,
        "form": form,
        "selects": filter_selects(form, ("sector", "level", "status")),
        "page": freshness.page_of(number, count, DIRECTORY_PAGE_SIZE),
        "directory_rows": directory_rows,
        # Read with taskforce_for's own check (the request's memo): no query of its own.
        "can_manage": "manage_members" in permissions.request_perms(request, taskforce),
        "query": query.urlencode(),
    }
    template = "members/partials/directory_table.html" if request.htmx else "members/directory.html"
    return render(request, template, context)


def _directory_page(taskforce: TaskForce, filters: dict, number: str | None) -> tuple[SafeString, int, int]:
    """The directory's rows for the requested page, the page's number and how many agencies there are."""
    memberships = (
        selectors.memberships_for_directory(taskforce, filters)
        .select_related(None)
        .select_related("agency")
        .prefetch_related(None)
    )
    page = Paginator(memberships, DIRECTORY_PAGE_SIZE).get_page(number)
    roles = selectors.roles_by_person(taskforce)  # also who is of the task force: everyone with a role in it
    people: dict[int, list[User]] = {}
    agencies = [membership.agency_id for membership in page.object_list]
    for person in User.objects.filter(agency_id__in=agencies).only("full_name", "title", "agency_id"):
        if person.pk in roles:
            people.setdefault(person.agency_id, []).append(person)
    # Labels asked once per distinct value: get_FOO_display translates the field's every choice on each call.
    sector_labels: dict[tuple[str, str], str] = {}
    status_labels: dict[str, str] = {}
    for membership in page.object_list:
        agency = membership.agency
        if (agency.sector, agency.level) not in sector_labels:
            sector_labels[agency.sector, agency.level] = agency.sector_label
        if membership.status not in status_labels:
            status_labels[membership.status] = membership.get_status_display()
        membership.sector_text = sector_labels[agency.sector, agency.level]
        membership.status_text = status_labels[membership.status]
    return _directory_rows(page.object_list, people, roles, taskforce), page.number, page.paginator.count


def _directory_rows(
    memberships: list, people: dict[int, list[User]], roles: dict[int, list[str]], taskforce: TaskForce
) -> SafeString:
    """The directory table's <tr>s (members/partials/directory_table.html), one string per agency.

    Built here like the people cells: the template's lookups, filters and a reversed URL per row were a good
    part of the page's own time. Every value that is not markup written here goes through escape().
    """
    # One reverse for the page, not one per row or person: the detail pages are <pk>/ under these prefixes.
    people_url = reverse("members:person_detail", kwargs={"slug": taskforce.slug, "pk": 0}).removesuffix("0/")
    agency_url = reverse("members:membership_detail", args=[taskforce.slug, 0]).removesuffix("0/")
    rural = f'<span class="badge text-bg-light border ms-1">{escape(_("Rural"))}</span>'
    tribal = f'<span class="badge text-bg-light border ms-1">{escape(_("Tribal"))}</span>'
    rows = []
    for membership in memberships:
        agency = membership.agency
        rows.append(
            f'<tr>\n    <th scope="row" class="fw-semibold"><a href="{escape(agency_url)}{membership.pk}/">'
            f"{escape(agency.name)}</a>\n      {rural if agency.is_rural else ''}\n"
            f"      {tribal if agency.is_tribal else ''}\n    </th>\n"
            f"    <td>{escape(membership.sector_text)}</td>\n"
            f"    <td>{escape(agency.jurisdiction or '—')}</td>\n"
            f'    <td><span class="badge badge-status-{escape(membership.status)}">{escape(membership.status_text)}</span>'
            f"</td>\n    <td>{_directory_people(people.get(agency.pk, []), roles, people_url)}</td>\n  </tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 (every value escaped above)


def _directory_people(people: list[User], roles: dict[int, list[str]], people_url: str) -> SafeString:
    """An agency's people cell of the directory: each name linked, their title and role badges.

    Built here rather than by a template loop, and with escape() rather than format_html per piece: a page holds
    some two hundred people, and either of those made this cell most of the page's time. Every value that is
    not markup written here goes through escape().
    """
    if not people:
        return format_html('<span class="text-muted">{}</span>', _("No one has joined yet"))
    cells = []
    for person in people:
        title = f'<span class="text-muted">, {escape(person.title)}</span>' if person.title else ""
        badges = "".join(
            f'<span class="badge badge-role ms-1">{escape(role)}</span>' for role in roles.get(person.pk, [])
        )
        cells.append(
            f'<div><a href="{escape(people_url)}{person.pk}/">{escape(person.full_name)}</a>{title}{badges}</div>'
        )
    return mark_safe("".join(cells))  # noqa: S308 (every value escaped above)


@login_required
def directory_csv(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    _form, filters = _directory_filters(request)
    roles = selectors.roles_by_person(taskforce)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{taskforce.slug}-directory.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["Agency", "Sector", "Level", "Jurisdiction", "Status", "Person", "Title", "Roles", "Email", "Phone"]
    )
    for membership in selectors.memberships_for_directory(taskforce, filters):
        agency = membership.agency
        base = [
            agency.name,
            agency.get_sector_display(),
            agency.get_level_display(),
            agency.jurisdiction,
            membership.get_status_display(),
        ]
        people = membership.agency.taskforce_people or [None]
        for person in people:
            if person is None:
                writer.writerow(_csv_safe([*base, "", "", "", "", ""]))
                continue
            writer.writerow(
                _csv_safe(
                    [
                        *base,
                        person.full_name,
                        person.title,
                        ", ".join(roles.get(person.pk, [])),
                        person.email,
                        person.phone,
                    ]
                )
            )
    audit.record("directory.exported", request=request, taskforce=taskforce, format="csv")
    return response


def _csv_safe(row: list[str]) -> list[str]:
    """Neutralise spreadsheet formulas (CSV injection) in user-entered cells."""
    return [
        "'" + cell if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell for cell in row
    ]


@login_required
def directory_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    context = {
        "taskforce": taskforce,
        "memberships": selectors.memberships_for_directory(taskforce, {"status": MembershipStatus.ACTIVE}),
        "roles": selectors.roles_by_person(taskforce),
        "generated_at": timezone.now(),
        "title": _("Member directory"),
    }
    pdf = render_pdf("pdf/directory.html", context, request=request)
    audit.record("directory.exported", request=request, taskforce=taskforce, format="pdf")
    return pdf_response(pdf, f"{taskforce.slug}-directory.pdf")


@login_required
def sector_coverage(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    rows = selectors.sector_coverage(taskforce)
    return render(
        request,
        "members/sectors.html",
        {
            "taskforce": taskforce,
            "rows": rows,
            "counts": selectors.coverage_counts(rows),
            "can_manage": permissions.has_perm(request.user, "taskforce.manage_members", taskforce),
        },
    )


# --- onboarding ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def onboard(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    existing_agencies = Agency.objects.exclude(memberships__taskforce=taskforce).order_by("name")
    mode = request.POST.get("mode") or request.GET.get("mode") or "new"
    posted = request.POST if request.method == "POST" else None
    form = OnboardForm(posted if mode == "new" else None, prefix="new", initial={"sector": request.GET.get("sector")})
    existing_form = ExistingAgencyOnboardForm(
        posted if mode == "existing" else None, prefix="existing", agencies=existing_agencies
    )
    active = form if mode == "new" else existing_form
    if request.method == "POST" and active.is_valid():
        data = active.cleaned_data
        try:
            if mode == "new":
                agency_fields = {key: data[key] for key in AgencyForm.Meta.fields}
                result = services.organization_onboard(
                    taskforce=taskforce,
                    actor=request.user,
                    agency_fields=agency_fields,
                    liaison_email=data["liaison_email"],
                    liaison_name=data["liaison_name"],
                    roles_and_responsibilities=data["roles_and_responsibilities"],
                )
            else:
                result = services.organization_onboard(
                    taskforce=taskforce,
                    actor=request.user,
                    agency=data["agency"],
                    liaison_email=data["liaison_email"],
                    liaison_name=data["liaison_name"],
                )
        except services.InvitationError as error:
            active.add_error("liaison_email", str(error))
        else:
            messages.success(
                request,
                _("%(agency)s added. An invitation is on its way to %(email)s.")
                % {"agency": result.membership.agency.name, "email": result.invitation.email},
            )
            return redirect("members:membership_detail", slug=taskforce.slug, pk=result.membership.pk)
    return render(
        request,
        "members/onboard.html",
        {
            "taskforce": taskforce,
            "form": form,
            "existing_form": existing_form,
            "mode": mode,
            "has_existing": existing_agencies.exists(),
        },
    )


@login_required
def membership_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    membership = _membership(request, taskforce, pk)
    user_perms = permissions.perms_on(request.user, membership)
    can_edit = "change_membership" in user_perms
    can_manage = permissions.has_perm(request.user, "taskforce.manage_members", taskforce)
    people = (
        User.objects.filter(agency=membership.agency, taskforce_roles__taskforce=taskforce)
        .distinct()
        .order_by("full_name")
    )
    invitations = membership.invitations.select_related("invited_by") if can_edit else Invitation.objects.none()
    return render(
        request,
        "members/membership_detail.html",
        {
            "taskforce": taskforce,
            "membership": membership,
            "agency": membership.agency,
            "people": people,
            "roles": selectors.roles_by_person(taskforce),
            "invitations": invitations,
            "can_edit": can_edit,
            "can_manage": can_manage,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    membership = _membership(request, taskforce, pk, "members.change_membership")
    people = User.objects.filter(
        agency=membership.agency, taskforce_roles__taskforce=taskforce, is_active=True
    ).distinct()
    initial = {
        "roles_and_responsibilities": membership.roles_and_responsibilities,
        "response_commitments": membership.response_commitments,
        "alternate_liaison": membership.alternate_liaison,
        "signatory": membership.signatory,
        "acknowledge_commitment": bool(membership.commitment_acknowledged_at),
    }
    form = MembershipProfileForm(request.POST or None, initial=initial, people=people)
    if request.method == "POST" and form.is_valid():
        services.membership_update_profile(membership=membership, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Profile saved."))
        return redirect("members:membership_detail", slug=taskforce.slug, pk=membership.pk)
    return render(
        request, "members/membership_form.html", {"taskforce": taskforce, "membership": membership, "form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def agency_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    membership = _membership(request, taskforce, pk, "members.change_membership")
    agency = membership.agency
    form = AgencyForm(request.POST or None, instance=Agency.objects.get(pk=agency.pk))
    if request.method == "POST" and form.is_valid():
        services.agency_update(agency=agency, actor=request.user, taskforce=taskforce, **form.cleaned_data)
        messages.success(request, _("Agency details saved."))
        return redirect("members:membership_detail", slug=taskforce.slug, pk=membership.pk)
    return render(request, "members/agency_form.html", {"taskforce": taskforce, "membership": membership, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    membership = _membership(request, taskforce, pk, "members.change_membership")
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(membership=membership, actor=request.user, **form.cleaned_data)
        except services.InvitationError as error:
            form.add_error("email", str(error))
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
            return redirect("members:membership_detail", slug=taskforce.slug, pk=membership.pk)
    return render(request, "members/invite.html", {"taskforce": taskforce, "membership": membership, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def membership_withdraw(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    membership = _membership(request, taskforce, pk)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.membership_withdraw(membership=membership, actor=request.user, reason=form.cleaned_data["reason"])
        messages.success(
            request, _("%(agency)s has withdrawn; its access has ended.") % {"agency": membership.agency.name}
        )
        return redirect("members:membership_detail", slug=taskforce.slug, pk=membership.pk)
    return render(request, "members/withdraw.html", {"taskforce": taskforce, "membership": membership, "form": form})


def _invitation(request: HttpRequest, taskforce: TaskForce, pk: int) -> Invitation:
    queryset = Invitation.objects.filter(taskforce=taskforce)
    return permissions.get_for_user(request.user, "members.change_invitation", queryset, request=request, pk=pk)


@login_required
@require_POST
def invitation_resend(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    invitation = _invitation(request, taskforce, pk)
    try:
        services.invitation_resend(invitation=invitation, actor=request.user)
    except services.InvitationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("A new link was sent to %(email)s; the old one no longer works.") % {"email": invitation.email}
        )
    return redirect("members:membership_detail", slug=taskforce.slug, pk=invitation.membership_id)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    invitation = _invitation(request, taskforce, pk)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except services.InvitationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Invitation to %(email)s withdrawn.") % {"email": invitation.email})
    return redirect("members:membership_detail", slug=taskforce.slug, pk=invitation.membership_id)


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_for_token(token)
    except services.InvitationError as error:
        return render(request, "members/invitation_invalid.html", {"reason": str(error)}, status=404)
    person = invitation.person
    needs_password = not person.has_usable_password()
    form = AcceptInvitationForm(
        request.POST or None,
        email=invitation.email,
        needs_password=needs_password,
        initial={"full_name": invitation.full_name},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        signed_in = request.user if request.user.is_authenticated else None
        try:
            user = services.invitation_accept(
                token=token,
                password=data.get("password1"),
                full_name=data["full_name"],
                title=data["title"],
                agency_role=data["agency_role"],
                phone=data["phone"],
                request=request,
                signed_in_user=signed_in,
            )
        except services.InvitationError as error:
            form.add_error(None, str(error))
        else:
            if signed_in is None:
                login(request, user, backend="taskforce.auth.ModelBackend")
            messages.success(request, _("Welcome to %(tf)s.") % {"tf": invitation.taskforce.name})
            if invitation.role == Role.LIAISON:
                messages.info(request, _("Next: complete your agency's profile, roles and responsibilities."))
                return redirect("members:membership_edit", slug=invitation.taskforce.slug, pk=invitation.membership_id)
            return redirect("taskforce:dashboard", slug=invitation.taskforce.slug)
    return render(
        request,
        "members/invitation_accept.html",
        {"invitation": invitation, "form": form, "needs_password": needs_password},
    )


# --- people ---------------------------------------------------------------------------------


@login_required
def person_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    person = _person(request, taskforce, pk)
    roles = TaskForceRole.objects.filter(taskforce=taskforce, user=person)
    can_manage = permissions.has_perm(request.user, "taskforce.manage_members", taskforce)
    membership = services.membership_of(person, taskforce)
    return render(
        request,
        "members/person_detail.html",
        {"taskforce": taskforce, "person": person, "roles": roles, "membership": membership, "can_manage": can_manage},
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_roles(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    person = _person(request, taskforce, pk)
    current = list(TaskForceRole.objects.filter(taskforce=taskforce, user=person).values_list("role", flat=True))
    form = RolesForm(request.POST or None, initial={"roles": current})
    if request.method == "POST" and form.is_valid():
        roles = set(form.cleaned_data["roles"])
        if services.membership_of(person, taskforce) is None:
            roles &= {Role.COORDINATOR, Role.FACILITATOR}
        services.roles_set(taskforce=taskforce, user=person, roles=roles, actor=request.user)
        messages.success(request, _("Roles of %(name)s saved.") % {"name": person.full_name})
        return redirect("members:person_detail", slug=taskforce.slug, pk=person.pk)
    return render(request, "members/person_roles.html", {"taskforce": taskforce, "person": person, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def person_offboard(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    person = _person(request, taskforce, pk)
    if request.method == "POST":
        services.person_offboard(taskforce=taskforce, person=person, actor=request.user)
        messages.success(request, _("%(name)s no longer has access to this task force.") % {"name": person.full_name})
        return redirect("members:directory", slug=taskforce.slug)
    return render(request, "members/person_offboard.html", {"taskforce": taskforce, "person": person})


@login_required
@require_http_methods(["GET", "POST"])
def my_profile(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None, instance=User.objects.get(pk=request.user.pk))
    if request.method == "POST" and form.is_valid():
        services.person_update(person=request.user, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Your details are saved."))
        return redirect("members:my_profile")
    return render(request, "members/my_profile.html", {"form": form})


# --- action plan and subcommittees ------------------------------------------------------------


@login_required
def plan(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    return render(
        request,
        "members/plan.html",
        {
            "taskforce": taskforce,
            "goals": selectors.goals_with_progress(taskforce),
            "subcommittees": selectors.subcommittees_of(taskforce),
            "can_manage": permissions.has_perm(request.user, "taskforce.manage_work", taskforce),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def goal_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_work")
    goal = None
    if pk is not None:
        goal = permissions.get_for_user(
            request.user, "members.view_goal", Goal.objects.filter(taskforce=taskforce), request=request, pk=pk
        )
    form = GoalForm(request.POST or None, instance=goal)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("reviewed") and goal is not None:
            services.goal_mark_reviewed(goal=goal, actor=request.user)
        services.goal_save(taskforce=taskforce, actor=request.user, goal=goal, **form.cleaned_data)
        messages.success(request, _("Goal saved."))
        return redirect("members:plan", slug=taskforce.slug)
    return render(request, "members/goal_form.html", {"taskforce": taskforce, "form": form, "goal": goal})


def _subcommittee(request: HttpRequest, taskforce: TaskForce, pk: int) -> Subcommittee:
    queryset = selectors.subcommittees_of(taskforce)
    return permissions.get_for_user(request.user, "members.view_subcommittee", queryset, request=request, pk=pk)


@login_required
def subcommittee_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    subcommittee = _subcommittee(request, taskforce, pk)
    can_manage = permissions.has_perm(request.user, "taskforce.manage_work", taskforce)
    return render(
        request,
        "members/subcommittee_detail.html",
        {
            "taskforce": taskforce,
            "subcommittee": subcommittee,
            "can_edit": can_manage or subcommittee.chair_id == request.user.pk,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def subcommittee_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    subcommittee = _subcommittee(request, taskforce, pk) if pk is not None else None
    chair_edits_own = subcommittee is not None and subcommittee.chair_id == request.user.pk
    if not chair_edits_own and not permissions.has_perm(request.user, "taskforce.manage_work", taskforce):
        permissions.deny(request, subcommittee or taskforce, "taskforce.manage_work")
    initial = {}
    if subcommittee is not None:
        initial = {
            "name": subcommittee.name,
            "charge": subcommittee.charge,
            "chair": subcommittee.chair,
            "members": list(subcommittee.members.all()),
            "goals": list(subcommittee.goals.all()),
        }
    form = SubcommitteeForm(
        request.POST or None,
        initial=initial,
        people=selectors.people_of_taskforce(taskforce),
        goals=Goal.objects.filter(taskforce=taskforce),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.subcommittee_save(
                taskforce=taskforce,
                actor=request.user,
                subcommittee=subcommittee,
                name=data["name"],
                charge=data["charge"],
                chair=data["chair"],
                members=list(data["members"]),
                goals=list(data["goals"]),
            )
        except ValidationError as error:
            form.add_error("name", error.messages[0] if error.messages else str(error))
        else:
            messages.success(request, _("Subcommittee saved."))
            return redirect("members:subcommittee_detail", slug=taskforce.slug, pk=saved.pk)
    return render(
        request, "members/subcommittee_form.html", {"taskforce": taskforce, "form": form, "subcommittee": subcommittee}
    )


# --- training ---------------------------------------------------------------------------------


@login_required
def training(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    events = (
        TrainingEvent.objects.filter(taskforce=taskforce)
        .prefetch_related("topics")
        .annotate(attended=Count("attendances"))
        .select_related("agency")
        .order_by("-held_on", "pk")  # Meta.ordering is dropped by the GROUP BY of annotate()
    )
    page = Paginator(events, 25).get_page(request.GET.get("page"))
    mine = TrainingAttendance.objects.filter(person=request.user, event__taskforce=taskforce).select_related("event")
    return render(
        request,
        "members/training.html",
        {
            "taskforce": taskforce,
            "page": page,
            "mine": mine,
            "can_manage": permissions.has_perm(request.user, "taskforce.manage_work", taskforce),
        },
    )


def _training_form(request: HttpRequest, taskforce: TaskForce, initial: dict) -> TrainingEventForm:
    services.training_topics_ensure(taskforce=taskforce)
    return TrainingEventForm(
        request.POST or None,
        initial=initial,
        topics=TrainingTopic.objects.filter(taskforce=taskforce),
        agencies=Agency.objects.filter(memberships__taskforce=taskforce).distinct(),
        people=selectors.people_of_taskforce(taskforce),
    )


@login_required
@require_http_methods(["GET", "POST"])
def training_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_work")
    event = None
    initial: dict = {"held_on": timezone.localdate()}
    if pk is not None:
        queryset = TrainingEvent.objects.filter(taskforce=taskforce)
        event = permissions.get_for_user(request.user, "members.view_trainingevent", queryset, request=request, pk=pk)
        initial = {
            "title": event.title,
            "kind": event.kind,
            "topics": list(event.topics.all()),
            "trainer": event.trainer,
            "held_on": event.held_on,
            "duration_minutes": event.duration_minutes,
            "agency": event.agency,
            "attendees": [a.person for a in event.attendances.select_related("person")],
        }
    form = _training_form(request, taskforce, initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.training_event_save(
            taskforce=taskforce,
            actor=request.user,
            event=event,
            title=data["title"],
            kind=data["kind"],
            topics=list(data["topics"]),
            trainer=data["trainer"],
            held_on=data["held_on"],
            duration_minutes=data["duration_minutes"],
            agency=data["agency"],
            attendees=list(data["attendees"]),
        )
        messages.success(request, _("Training recorded."))
        return redirect("members:training", slug=taskforce.slug)
    return render(request, "members/training_form.html", {"taskforce": taskforce, "form": form, "event": event})


@login_required
def training_matrix(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    services.training_topics_ensure(taskforce=taskforce)
    topics, rows = selectors.training_matrix(taskforce)
    return render(
        request,
        "members/training_matrix.html",
        {"taskforce": taskforce, "topics": topics, "rows": rows, "gaps": selectors.training_gaps(rows, topics)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def training_topics(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_work")
    services.training_topics_ensure(taskforce=taskforce)
    form = TrainingTopicForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if TrainingTopic.objects.filter(taskforce=taskforce, name__iexact=form.cleaned_data["name"]).exists():
            form.add_error("name", _("This topic is already on the list."))
        else:
            services.training_topic_add(taskforce=taskforce, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Topic added."))
            return redirect("members:training_topics", slug=taskforce.slug)
    topics = TrainingTopic.objects.filter(taskforce=taskforce)
    return render(request, "members/training_topics.html", {"taskforce": taskforce, "form": form, "topics": topics})


@login_required
def training_certificate(request: HttpRequest, slug: str, pk: int, person_pk: int) -> HttpResponse:
    """A certificate of attendance: for the attendee themself, or for those who manage training."""
    taskforce = permissions.taskforce_for(request, slug)
    attendance = (
        TrainingAttendance.objects.filter(event__taskforce=taskforce, event_id=pk, person_id=person_pk)
        .exclude(event__kind=TrainingKind.TEAM_ACTIVITY)
        .select_related("event", "person__agency")
        .first()
    )
    may = attendance is not None and (
        attendance.person_id == request.user.pk
        or permissions.has_perm(request.user, "taskforce.manage_work", taskforce)
    )
    if not may:
        audit.record("access.not_found", request=request, taskforce=taskforce, model="members.trainingattendance")
        raise Http404
    context = {
        "taskforce": taskforce,
        "attendance": attendance,
        "event": attendance.event,
        "topics": attendance.event.topics.all(),
        "title": _("Certificate of attendance"),
        "confidentiality": " ",
    }
    pdf = render_pdf("pdf/training_certificate.html", context, request=request)
    audit.record("training.certificate_exported", request=request, obj=attendance.event, person=attendance.person_id)
    return pdf_response(pdf, f"certificate-{attendance.event.pk}-{attendance.person_id}.pdf")
