"""Home, task-force dashboard, charter and the audit log."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from taskforce import audit, dashboard, health, permissions, services
from taskforce.forms import AuditFilterForm, CharterForm, TaskForceForm
from taskforce.models import AuditEvent, TaskForce
from taskforce.pdf import pdf_response, render_pdf


@login_required
def home(request: HttpRequest) -> HttpResponse:
    taskforces = permissions.visible_to(request.user, "taskforce.view_taskforce", TaskForce.objects.all())
    if not request.user.is_superuser:
        only = list(taskforces[:2])
        if len(only) == 1:
            return redirect("taskforce:dashboard", slug=only[0].slug)
    return render(request, "taskforce/home.html", {"taskforces": taskforces, "can_create": request.user.is_superuser})


@login_required
def bench_floor(request: HttpRequest, slug: str) -> HttpResponse:
    """The benchmark's floor: the base layout and nothing else (routed only when settings.BENCH_FLOOR is on).

    Every key page is reported as a ratio to this one, measured through the same middleware in the same run.
    """
    return render(request, "base.html")


@login_required
@require_http_methods(["GET", "POST"])
def taskforce_create(request: HttpRequest) -> HttpResponse:
    permissions.require_site_admin(request)
    form = TaskForceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        taskforce = services.taskforce_create(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Task force created. Next: write its charter and onboard its partner agencies."))
        return redirect("taskforce:dashboard", slug=taskforce.slug)
    return render(request, "taskforce/taskforce_form.html", {"form": form})


@login_required
def taskforce_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    return render(
        request,
        "taskforce/dashboard.html",
        {"taskforce": taskforce, "cards": dashboard.cards_for(request, taskforce)},
    )


@login_required
def charter(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    can_edit = permissions.has_perm(request.user, "taskforce.edit_charter", taskforce)
    values = [line.strip() for line in taskforce.shared_values.splitlines() if line.strip()]
    return render(request, "taskforce/charter.html", {"taskforce": taskforce, "values": values, "can_edit": can_edit})


@login_required
@require_http_methods(["GET", "POST"])
def charter_edit(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.edit_charter")
    initial = {
        "mission_statement": taskforce.mission_statement,
        "shared_values": taskforce.shared_values,
        "meeting_cadence": taskforce.meeting_cadence,
        "adopted_on": taskforce.charter_adopted_on,
        "version": taskforce.charter_version,
    }
    form = CharterForm(request.POST or None, initial=initial)
    conflict = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.charter_update(
                taskforce=taskforce,
                actor=request.user,
                expected_version=data["version"],
                mission_statement=data["mission_statement"],
                shared_values=data["shared_values"],
                meeting_cadence=data["meeting_cadence"],
                adopted_on=data["adopted_on"],
            )
        except services.StaleEdit as stale:
            # Keep the user's text in the form, show what the other person saved, and let them merge.
            conflict = stale.current
            form = CharterForm({**request.POST.dict(), "version": conflict.charter_version})
            form.is_valid()
        else:
            messages.success(request, _("Charter saved."))
            return redirect("taskforce:charter", slug=taskforce.slug)
    return render(request, "taskforce/charter_form.html", {"taskforce": taskforce, "form": form, "conflict": conflict})


@login_required
def charter_history(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    revisions = taskforce.charter_revisions.select_related("edited_by")
    return render(request, "taskforce/charter_history.html", {"taskforce": taskforce, "revisions": revisions})


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Site admins browse every event; nothing here can change one."""
    permissions.require_site_admin(request)
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.select_related("taskforce")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            events = events.filter(Q(actor_label__icontains=data["q"]) | Q(object_label__icontains=data["q"]))
        if data["action"]:
            events = events.filter(action__startswith=data["action"])
        if data["taskforce"]:
            events = events.filter(taskforce=data["taskforce"])
        zone = timezone.get_current_timezone()
        if data["since"]:
            events = events.filter(at__gte=datetime.combine(data["since"], time.min, zone))
        if data["until"]:
            events = events.filter(at__lte=datetime.combine(data["until"], time.max, zone))
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "taskforce/audit_log.html", {"form": form, "page": page, "query": query.urlencode()})


# --- task force health and the period report (taskforce/health.py) ----------------------------------


def _health_period(request: HttpRequest, taskforce: TaskForce) -> health.Period:
    """The period asked for (?p=quarter-2026-3, or ?period=&year=&n=), else the last complete quarter."""
    kind, year, number = request.GET.get("period") or "quarter", request.GET.get("year"), request.GET.get("n")
    if request.GET.get("p"):
        kind, _sep, rest = request.GET["p"].partition("-")
        year, _sep, number = rest.partition("-")
    chosen = health.Period.parse(kind, year, number)
    if chosen is None:
        chosen = health.Period.last_complete(kind if kind in health.PERIOD_KINDS else "quarter", timezone.localdate())
    return chosen


def _health_period_choices(today, established_on) -> list[tuple[str, list[health.Period]]]:
    """Recent quarters, halves and years for the report picker, newest first, none before the task force."""
    choices = []
    for kind, label, count in (("quarter", _("Quarters"), 8), ("half", _("Half-years"), 4), ("year", _("Years"), 3)):
        period = health.Period.last_complete(kind, today)
        months = health.PERIOD_KINDS[kind]
        current = health.Period(kind, today.year, (today.month - 1) // months + 1)
        periods = [current]
        while len(periods) < count and period.end >= established_on:
            periods.append(period)
            period = health.Period.last_complete(kind, period.start)
        choices.append((label, periods))
    return choices


@login_required
def health_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    today = timezone.localdate()
    figures = health.dashboard_measures(taskforce, today)
    measures = figures.measures
    period = _health_period(request, taskforce)
    return render(
        request,
        "taskforce/health.html",
        {
            "taskforce": taskforce,
            "groups": health.grouped(measures),
            "counts": {status: sum(1 for m in measures if m.status == status) for status in health.STATUS_LABELS},
            "period": period,
            "period_choices": _health_period_choices(today, taskforce.established_on),
            "today": today,
            "computed_at": figures.computed_at,
            # The measures' cards are rendered once per cached set of figures (templates/taskforce/health.html).
            "measures_cache_key": figures.cache_key,
            "cache_seconds": health.DASHBOARD_CACHE_SECONDS,
        },
    )


@login_required
def health_report_pdf(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    period = _health_period(request, taskforce)
    sections = health.report_for(taskforce, period)
    context = {
        "taskforce": taskforce,
        "period": period,
        "sections": sections,
        "title": _("Report for %(period)s") % {"period": period.label},
        "subtitle": _("%(start)s to %(end)s") % {"start": period.start, "end": period.end},
        "generated_at": timezone.now(),
        "confidentiality": _("Counts only: no case or victim details. For funders and task force leadership."),
    }
    pdf = render_pdf("pdf/health_report.html", context, request=request)
    audit.record("health.report_exported", request=request, taskforce=taskforce, period=period.label, format="pdf")
    return pdf_response(pdf, f"{taskforce.slug}-report-{period.slug}.pdf")


@login_required
def health_report_csv(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    period = _health_period(request, taskforce)
    body = health.report_csv(taskforce, period, health.report_for(taskforce, period))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{taskforce.slug}-report-{period.slug}.csv"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    audit.record("health.report_exported", request=request, taskforce=taskforce, period=period.label, format="csv")
    return response
