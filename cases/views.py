"""Cases: lists, the case page, sharing, releases, access requests, history, reviews and the review PDF.

Every view fetches the case through `permissions.get_with_perms` (get_for_user on "cases.view_case"): a case you
hold no row for is a 404 exactly like a missing id. What you may do on it comes from `_case`'s perms set
(read from the case's own guardian tables, so site admins get no bypass), and each refusal is audited.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import selectors, services
from cases.forms import (
    AccessRequestForm,
    CaseFilterForm,
    CaseForm,
    DecideForm,
    FollowUpForm,
    FollowUpStatusForm,
    GrantForm,
    InvolvedAgencyForm,
    RecommendationForm,
    ReleaseForm,
    ReviewForm,
    RevokeForm,
    filter_selects,
)
from cases.models import (
    AccessRequest,
    Case,
    CaseGrant,
    FollowUp,
    Recommendation,
    Release,
    RiskFlag,
)
from cases.review import review_roster
from members.models import Membership, MembershipStatus, User
from taskforce import agenda, audit, freshness, permissions
from taskforce.models import TaskForce
from taskforce.pdf import pdf_response, render_pdf
from taskforce.services import StaleEdit

FULL = "view_case_full"
CONTRIBUTE = "contribute_case"
MANAGE = "manage_case_sharing"
CHANGE = "change_case"


def _case(
    request: HttpRequest, taskforce: TaskForce, pk: int, need: str | None = None, **annotations: Any
) -> tuple[Case, set[str]]:
    """The case if the user may know it exists (else 404), and what they may do (403 if `need` is missing).

    `annotations` are read with the case, in its query (figures a page shows about it).
    """
    queryset = Case.objects.filter(taskforce=taskforce).select_related("lead__agency", "lead__liaison")
    if annotations:
        queryset = queryset.annotate(**annotations)
    case, perms = permissions.get_with_perms(request.user, queryset, request=request, pk=pk)
    # The task force the caller has just read through permissions, not a second copy of its (wide) row.
    case.taskforce = taskforce
    if need is not None and need not in perms:
        permissions.deny(request, case, f"cases.{need}")
    if request.method == "GET":
        # Every read of every case page is in the case's access log, with how much of it was shown.
        page = request.resolver_match.url_name if request.resolver_match else ""
        audit.record("case.viewed", request=request, obj=case, page=page, level="full" if FULL in perms else "summary")
    return case, perms


def _flags(perms: set[str]) -> dict[str, bool]:
    return {
        "can_full": FULL in perms,
        "can_contribute": CONTRIBUTE in perms,
        "can_manage": MANAGE in perms,
        "can_edit": CHANGE in perms,
    }


def _own_memberships(user, taskforce: TaskForce) -> QuerySet[Membership]:
    """The active membership of the person's agency in the task force (one at most): the lead of a case they open."""
    if not user.agency_id:
        return Membership.objects.none()
    return Membership.objects.filter(taskforce=taskforce, agency_id=user.agency_id, status=MembershipStatus.ACTIVE)


def _own_membership(user, taskforce: TaskForce) -> Membership | None:
    return _own_memberships(user, taskforce).first()


def _people_of(taskforce: TaskForce):
    return (
        User.objects.filter(
            is_active=True,
            agency__memberships__taskforce=taskforce,
            agency__memberships__status=MembershipStatus.ACTIVE,
            taskforce_roles__taskforce=taskforce,
        )
        .select_related("agency")
        .distinct()
        .order_by("full_name")
    )


def _active_memberships(taskforce: TaskForce):
    return Membership.objects.filter(taskforce=taskforce, status=MembershipStatus.ACTIVE).select_related("agency")


# --- lists ------------------------------------------------------------------------------------------


def _list(request: HttpRequest, slug: str, *, mine: bool) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    form = CaseFilterForm(request.GET or None, taskforce=taskforce)
    filters = form.cleaned_data if form.is_valid() else {}
    per_page = filters.get("per_page") or 25
    # One reverse for the page, not one per row: a case's page is <pk>/ under the task force's case list.
    cases_url = reverse("cases:list", kwargs={"slug": taskforce.slug})

    def build() -> tuple[str, int, int, bool]:
        cases = selectors.case_list(request.user, taskforce, filters, mine=mine)
        # Whether the person may open a case (their agency is an active member), asked in the page's own query: one
        # query less per list. A page without rows has nobody to ask, so it asks on its own.
        cases = cases.annotate(can_create=Exists(_own_memberships(request.user, taskforce)))
        page = _counted_page(cases, per_page, request.GET.get("page"))
        rows = list(page.object_list)
        can_create = rows[0].can_create if rows else _own_memberships(request.user, taskforce).exists()
        return _case_rows(rows, cases_url), page.number, page.paginator.count, can_create

    # The person's page of rows, cached until anything is written (taskforce.freshness): deciding which cases they
    # may see is most of the page's time. The rows hold no encrypted case content. Per person, list, query string,
    # language and time zone (the labels and dates in the rows).
    params = sorted(request.GET.lists())
    key = f"case-list:{request.user.pk}:{taskforce.pk}:{mine}:{params}:{get_language()}:{timezone.get_current_timezone_name()}"
    case_rows, number, total, can_create = freshness.cached(key, build)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "taskforce": taskforce,
        "form": form,
        "selects": filter_selects(form, ("status", "trafficking_type", "sort", "per_page")),
        "page": freshness.page_of(number, total, per_page),
        "case_rows": case_rows,
        "mine": mine,
        "query": query.urlencode(),
        "can_create": can_create,
    }
    template = "cases/partials/case_table.html" if request.htmx else "cases/list.html"
    return render(request, template, context)


# The coded columns a case list shows, labelled by _case_rows.
LABELLED = ("trafficking_type", "age_band", "status", "confidentiality")


def _case_rows(cases: list[Case], cases_url: str) -> SafeString:
    """The case table's <tr>s (cases/partials/case_table.html), one string per row.

    Built here rather than in the template: the template engine's lookups, filters and escaping per cell were
    a third of the list page's own time (25 to 100 rows of seven cells). Every value is escaped with
    html.escape. The coded columns are labelled from one {code: label} table per column for the page, not
    get_FOO_display() per row (Django rebuilds and translates the field's choices on each call).
    """
    tables = {name: {code: str(label) for code, label in Case._meta.get_field(name).flatchoices} for name in LABELLED}
    rows = []
    for case in cases:
        labels = {name: escape(str(tables[name].get(getattr(case, name), getattr(case, name)))) for name in LABELLED}
        badge = ""
        if case.confidentiality != "standard":
            badge = f' <span class="badge badge-conf-{escape(case.confidentiality)}">{labels["confidentiality"]}</span>'
        updated = date_format(timezone.localtime(case.updated_at), "M j, Y")
        rows.append(
            f'<tr>\n    <th scope="row"><a href="{escape(cases_url)}{case.pk}/">{escape(case.number)}</a>{badge}</th>\n'
            f"    <td>{escape(case.label)}</td>\n"
            f"    <td>{labels['trafficking_type']}</td>\n"
            f"    <td>{labels['age_band']}</td>\n"
            f"    <td>{escape(case.lead_agency_name or '')}</td>\n"
            f'    <td><span class="badge badge-case-{escape(case.status)}">{labels["status"]}</span></td>\n'
            f"    <td>{escape(updated)}</td>\n  </tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped


def _counted_page(cases: QuerySet[Case], per_page: int, number: str | None) -> Page:
    """The requested page of `cases` and how many there are in all, from one query.

    A case list's cost is deciding which cases the person may see (their grants: thousands of rows at a
    statewide size). Paginator's COUNT(*) made the database decide it twice per page; the total is read as
    a window count on the page's own rows instead. Past the last page (no rows, so no total) it falls back
    to Paginator, which shows the last page as before.
    """
    paginator = Paginator(cases, per_page)
    try:
        wanted = max(int(number or 1), 1)
    except ValueError:
        wanted = 1
    start = (wanted - 1) * per_page
    rows = list(cases.annotate(total_count=Window(Count("pk")))[start : start + per_page])
    if not rows:
        return paginator.get_page(number)
    paginator.count = rows[0].total_count  # Paginator.count is a cached_property: this is its cached value
    return Page(rows, wanted, paginator)


@login_required
@require_GET
def case_list(request: HttpRequest, slug: str) -> HttpResponse:
    return _list(request, slug, mine=False)


@login_required
@require_GET
def my_cases(request: HttpRequest, slug: str) -> HttpResponse:
    return _list(request, slug, mine=True)


# --- one case ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def case_create(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    lead = _own_membership(request.user, taskforce)
    if lead is None:
        permissions.deny(request, taskforce, "cases.add_case")
    form = CaseForm(request.POST or None, taskforce=taskforce, lead=lead)
    if request.method == "POST" and form.is_valid():
        data = {key: value for key, value in form.cleaned_data.items() if key != "version"}
        case = services.case_create(taskforce=taskforce, lead=lead, actor=request.user, request=request, **data)
        messages.success(
            request,
            _("Case %(number)s opened. Only your agency can see it until you share it.") % {"number": case.number},
        )
        return redirect("cases:detail", slug=taskforce.slug, pk=case.pk)
    return render(
        request,
        "cases/case_form.html",
        {"taskforce": taskforce, "form": form, "lead": lead, "page_title": _("Open a case")},
    )


@login_required
@require_GET
def case_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    # Managers see how many access requests wait: counted in the case's own query, not by one of its own.
    pending = (
        AccessRequest.objects.filter(case=OuterRef("pk"), status=AccessRequest.Status.PENDING)
        .order_by()
        .values("case")
        .annotate(n=Count("pk"))
        .values("n")
    )
    case, perms = _case(request, taskforce, pk, pending_requests=Coalesce(Subquery(pending), 0))
    flags = _flags(perms)
    context = {"taskforce": taskforce, "case": case, **flags}
    if flags["can_full"]:
        context |= {
            "involved": case.involved.select_related("membership__agency", "contact"),
            "reviews": selectors.reviews_with_recommendations(case),  # the page shows no participants
            "follow_ups": case.follow_ups.select_related("owner").all(),
        }
    else:
        own_request = AccessRequest.objects.filter(case=case, requester=request.user).first()
        context["own_request"] = own_request
    return render(request, "cases/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def case_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, _perms = _case(request, taskforce, pk, CHANGE)
    form = CaseForm(request.POST or None, instance=case, taskforce=taskforce, initial={"version": case.version})
    stale = None
    if request.method == "POST" and form.is_valid():
        data = {key: value for key, value in form.cleaned_data.items() if key != "version"}
        try:
            services.case_update(
                case=case,
                actor=request.user,
                expected_version=form.cleaned_data.get("version") or 0,
                request=request,
                **data,
            )
        except StaleEdit as error:
            stale = error.current
            form.add_error(
                None, str(error) + " " + _("Their version is shown below; make your change again on top of it.")
            )
        else:
            messages.success(request, _("Case saved."))
            return redirect("cases:detail", slug=taskforce.slug, pk=case.pk)
    return render(
        request,
        "cases/case_form.html",
        {
            "taskforce": taskforce,
            "case": case,
            "form": form,
            "stale": stale,
            "page_title": _("Edit %(case)s") % {"case": case},
        },
    )


@login_required
@require_GET
def case_history(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, perms = _case(request, taskforce, pk)
    # Who changed which fields is for anyone who may see the case; the values only with full access.
    with_values = FULL in perms
    changes = []
    for change in case.changes.select_related("actor"):
        values = json.loads(change.values) if with_values and change.values else {}
        rows = [(_field_label(name), _shown(name, old), _shown(name, new)) for name, (old, new) in values.items()]
        if not with_values:
            rows = [(_field_label(name), None, None) for name in change.fields]
        label = CHANGE_LABELS.get(change.action, change.action.replace("_", " ").capitalize())
        changes.append({"change": change, "label": label, "rows": rows})
    return render(
        request, "cases/history.html", {"taskforce": taskforce, "case": case, "changes": changes, **_flags(perms)}
    )


CHANGE_LABELS = {
    "created": _lazy("Opened"),
    "updated": _lazy("Edited"),
    "agency_added": _lazy("Involved agency added"),
    "agency_updated": _lazy("Involved agency updated"),
}


def _field_label(name: str) -> str:
    try:
        return str(Case._meta.get_field(name).verbose_name).capitalize()
    except FieldDoesNotExist:  # e.g. "involved_agency"
        return name.replace("_", " ").capitalize()


def _shown(name: str, value):
    """A history value as the case page shows it: choice labels, not codes."""
    if value is None or value == "":
        return None
    if name == "risk_flags":
        labels = dict(RiskFlag.choices)
        return ", ".join(str(labels.get(flag, flag)) for flag in value) or None
    try:
        choices = dict(Case._meta.get_field(name).choices or ())
    except FieldDoesNotExist:
        choices = {}
    return str(choices.get(value, value))


@login_required
@require_GET
def access_log(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, perms = _case(request, taskforce, pk, MANAGE)
    page = Paginator(selectors.access_log(case), 50).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.label = selectors.ACTION_LABELS.get(event.action, event.action)
    return render(
        request, "cases/access_log.html", {"taskforce": taskforce, "case": case, "page": page, **_flags(perms)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def involved_agencies(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, perms = _case(request, taskforce, pk, MANAGE)
    form = InvolvedAgencyForm(
        request.POST or None, memberships=_active_memberships(taskforce), people=_people_of(taskforce)
    )
    if request.method == "POST" and form.is_valid():
        services.involved_agency_set(case=case, actor=request.user, request=request, **form.cleaned_data)
        messages.success(request, _("Involved agency saved."))
        return redirect("cases:agencies", slug=taskforce.slug, pk=case.pk)
    involved = case.involved.select_related("membership__agency", "contact")
    return render(
        request,
        "cases/agencies.html",
        {"taskforce": taskforce, "case": case, "form": form, "involved": involved, **_flags(perms)},
    )


# --- sharing ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def sharing(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, perms = _case(request, taskforce, pk, MANAGE)
    form = GrantForm(request.POST or None, memberships=_active_memberships(taskforce), people=_people_of(taskforce))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.grant_create(
                case=case,
                actor=request.user,
                level=data["level"],
                justification=data["justification"],
                membership=data["membership"] if data["grantee_kind"] == "agency" else None,
                person=data["person"] if data["grantee_kind"] == "person" else None,
                expires_at=form.expires_at,
                request=request,
            )
        except services.ShareRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("Access granted."))
            return redirect("cases:sharing", slug=taskforce.slug, pk=case.pk)
    grants = case.grants.select_related("membership__agency", "person", "granted_by", "release")
    requests = case.access_requests.select_related("requester__agency", "decided_by")
    return render(
        request,
        "cases/sharing.html",
        {
            "taskforce": taskforce,
            "case": case,
            "form": form,
            "grants": grants,
            "requests": requests,
            "effective": selectors.effective_access(case),
            "decide_form": DecideForm(),
            **_flags(perms),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def grant_revoke(request: HttpRequest, slug: str, pk: int, grant_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, _perms = _case(request, taskforce, pk, MANAGE)
    grant = _child(
        request, CaseGrant.objects.filter(case=case).select_related("membership__agency", "person"), grant_pk
    )
    form = RevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.grant_revoke(grant=grant, actor=request.user, reason=reason, request=request)
    messages.success(request, _("Access for %(who)s revoked.") % {"who": grant.grantee_label})
    return redirect("cases:sharing", slug=taskforce.slug, pk=case.pk)


# --- releases ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def releases(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, perms = _case(request, taskforce, pk, MANAGE)
    form = ReleaseForm(request.POST or None, memberships=_active_memberships(taskforce).exclude(pk=case.lead_id))
    if request.method == "POST" and form.is_valid():
        services.release_create(case=case, actor=request.user, request=request, **form.cleaned_data)
        messages.success(request, _("Release of information recorded."))
        return redirect("cases:releases", slug=taskforce.slug, pk=case.pk)
    return render(
        request,
        "cases/releases.html",
        {
            "taskforce": taskforce,
            "case": case,
            "form": form,
            "releases": case.releases.prefetch_related("agencies__agency").select_related("recorded_by", "revoked_by"),
            **_flags(perms),
        },
    )


@login_required
@require_POST
def release_revoke(request: HttpRequest, slug: str, pk: int, release_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, _perms = _case(request, taskforce, pk, MANAGE)
    release = _child(request, Release.objects.filter(case=case), release_pk)
    form = RevokeForm(request.POST)
    reason = (form.cleaned_data["reason"] if form.is_valid() else "") or _("Consent withdrawn")
    services.release_revoke(release=release, actor=request.user, reason=reason, request=request)
    messages.success(request, _("Release revoked. The access it justified has ended."))
    return redirect("cases:releases", slug=taskforce.slug, pk=case.pk)


def _child(request: HttpRequest, queryset, pk: int):
    """A row belonging to a case the user already passed `_case` for; another case's row is a 404."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        audit.record(
            "access.not_found", request=request, model=queryset.model._meta.label_lower, lookup={"pk": str(pk)}
        )
        raise Http404
    return obj


# --- access requests ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def request_access(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, perms = _case(request, taskforce, pk)
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.access_request_create(case=case, actor=request.user, request=request, **form.cleaned_data)
        except services.ShareRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request, _("Request sent to the lead agency's liaison. You will get an email with the answer.")
            )
            return redirect("cases:detail", slug=taskforce.slug, pk=case.pk)
    return render(
        request,
        "cases/request_access.html",
        {
            "taskforce": taskforce,
            "case": case,
            "form": form,
            "own_requests": case.access_requests.filter(requester=request.user),
            **_flags(perms),
        },
    )


@login_required
@require_POST
def request_decide(request: HttpRequest, slug: str, pk: int, request_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, _perms = _case(request, taskforce, pk, MANAGE)
    access_request = _child(request, case.access_requests.all(), request_pk)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("cases:sharing", slug=taskforce.slug, pk=case.pk)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.access_request_decide(
            access_request=access_request,
            actor=request.user,
            approve=approve,
            reason=form.cleaned_data["reason"],
            expires_at=form.expires_at,
            request=request,
        )
    except services.ShareRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Request approved.") if approve else _("Request declined."))
    return redirect("cases:sharing", slug=taskforce.slug, pk=case.pk)


# --- reviews ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def review_edit(request: HttpRequest, slug: str, pk: int, review_pk: int | None = None) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, perms = _case(request, taskforce, pk, CONTRIBUTE)
    review = _child(request, case.reviews.all(), review_pk) if review_pk is not None else None
    eligible = selectors.people_with(case, FULL)
    recommendations = Recommendation.objects.filter(taskforce=taskforce).filter(
        Q(active=True) | Q(pk__in=review.recommendations.values("pk") if review else [])
    )
    item = None if review else _review_item(request, case)
    if item is not None and (existing := case.reviews.filter(meeting_id=item.meeting_id).first()) is not None:
        # One review record per case per meeting: a second "Record the review" opens the first.
        return redirect("cases:review_edit", slug=taskforce.slug, pk=case.pk, review_pk=existing.pk)
    initial = {"version": review.version} if review else {}
    if item is not None:
        initial["held_on"] = item.meeting.local_start.date()
        roster = [row for row in review_roster(case, item) if row.may_take_part]
        # Those in the room once attendance is taken; until then everyone invited who may take part.
        present = [row for row in roster if row.attended]
        initial["participants"] = [row.person for row in (present or roster)]
    if review:
        initial |= {
            "held_on": review.held_on,
            "participants": list(review.participants.all()),
            "discussion": review.discussion,
            "service_needs": review.service_needs,
            "recommendations": list(review.recommendations.all()),
        }
    form = ReviewForm(request.POST or None, eligible=eligible, recommendations=recommendations, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            review = services.review_save(
                case=case,
                actor=request.user,
                review=review,
                expected_version=data.get("version"),
                held_on=data["held_on"],
                participants=data["participants"],
                discussion=data["discussion"],
                service_needs=data["service_needs"],
                recommendations=data["recommendations"],
                agenda_item=item,
                request=request,
            )
        except StaleEdit as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Review saved."))
            return redirect("cases:review_edit", slug=taskforce.slug, pk=case.pk, review_pk=review.pk)
    follow_ups = review.follow_ups.select_related("owner") if review else FollowUp.objects.none()
    return render(
        request,
        "cases/review_form.html",
        {
            "taskforce": taskforce,
            "case": case,
            "review": review,
            "form": form,
            "follow_ups": follow_ups,
            "follow_up_form": FollowUpForm(eligible=eligible),
            "item": item or (review.agenda_item if review else None),
            "status_choices": FollowUp.Status.choices,
            **_flags(perms),
        },
    )


def _review_item(request: HttpRequest, case: Case):
    """The case-review agenda item named by ?item=, if it really is this case's (else none: a plain review)."""
    from meetings.models import AgendaItem

    pk = request.POST.get("item") or request.GET.get("item")
    if not str(pk or "").isdigit():
        return None
    item = AgendaItem.objects.filter(pk=int(pk), taskforce=case.taskforce).select_related("meeting").first()
    return item if item is not None and services.is_review_item_for(item, case) else None


@login_required
@require_POST
def follow_up_add(request: HttpRequest, slug: str, pk: int, review_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, _perms = _case(request, taskforce, pk, CONTRIBUTE)
    review = _child(request, case.reviews.all(), review_pk)
    form = FollowUpForm(request.POST, eligible=selectors.people_with(case, FULL))
    if form.is_valid():
        services.follow_up_add(review=review, actor=request.user, request=request, **form.cleaned_data)
        messages.success(request, _("Follow-up added; its owner gets a reminder before it is due."))
    else:
        messages.error(request, _("The follow-up needs a task, an owner with full access and a due date."))
    return redirect("cases:review_edit", slug=taskforce.slug, pk=case.pk, review_pk=review.pk)


@login_required
@require_POST
def follow_up_status(request: HttpRequest, slug: str, pk: int, follow_up_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, _perms = _case(request, taskforce, pk, CONTRIBUTE)
    follow_up = _child(request, case.follow_ups.all(), follow_up_pk)
    form = FollowUpStatusForm(request.POST)
    if form.is_valid():
        services.follow_up_set_status(
            follow_up=follow_up, actor=request.user, status=form.cleaned_data["status"], request=request
        )
    if request.htmx:
        return render(
            request,
            "cases/partials/follow_up_row.html",
            {
                "taskforce": taskforce,
                "case": case,
                "f": follow_up,
                "status_choices": FollowUp.Status.choices,
                "can_contribute": True,
            },
        )
    return redirect("cases:review_edit", slug=taskforce.slug, pk=case.pk, review_pk=follow_up.review_id)


@login_required
@require_GET
def review_pdf(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, _perms = _case(request, taskforce, pk, FULL)
    now = timezone.now()
    context = {
        "taskforce": taskforce,
        "case": case,
        "title": _("Case review summary — %(case)s") % {"case": case},
        "involved": case.involved.select_related("membership__agency", "contact"),
        "reviews": case.reviews.prefetch_related("recommendations", "participants", "follow_ups__owner"),
        "viewer": request.user,
        "generated_at": now,
        "draft": True,  # turns on pdf/base.html's watermark, which this template fills with name and time
        "confidentiality": _("CONFIDENTIAL case review. Prepared for %(name)s on %(when)s. Do not copy or forward.")
        % {"name": request.user.full_name, "when": timezone.localtime(now).strftime("%Y-%m-%d %H:%M %Z")},
    }
    pdf = render_pdf("pdf/case_review_summary.html", context, request=request)
    audit.record("case.exported", request=request, obj=case, format="pdf")
    return pdf_response(pdf, f"case-{case.number}-review.pdf")


@login_required
@require_POST
def propose_for_review(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    case, _perms = _case(request, taskforce, pk, MANAGE)
    try:
        # A title that says nothing: facilitators see the item even when they cannot see the case.
        agenda.propose(
            agenda.Proposal(
                taskforce=taskforce,
                title=_("Case review"),
                description="",
                item_type="case_review",
                actor=request.user,
                source=case,
                restricted=True,
            )
        )
    except agenda.NoUpcomingMeeting as reason:
        messages.error(request, str(reason))
    else:
        audit.record("case.proposed_for_review", request=request, obj=case)
        messages.success(request, _("Case put on the next meeting's case-review segment."))
    return redirect("cases:detail", slug=taskforce.slug, pk=case.pk)


# --- the task force's pick-list -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def recommendations(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    services.ensure_recommendations(taskforce)
    active = Recommendation.objects.filter(taskforce=taskforce, active=True)
    form = RecommendationForm(request.POST or None, recommendations=active)
    if request.method == "POST" and form.is_valid():
        services.recommendations_update(
            taskforce=taskforce, actor=request.user, add=form.cleaned_data["text"], retire=form.cleaned_data["retire"]
        )
        messages.success(request, _("Recommendations saved."))
        return redirect("cases:recommendations", slug=taskforce.slug)
    return render(
        request,
        "cases/recommendations.html",
        {"taskforce": taskforce, "form": form, "active": active},
    )
