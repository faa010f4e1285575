"""Meetings: schedule, agenda, live run, attendance, minutes, feedback, calendar."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from meetings import access, actions, hooks, ics, selectors, services
from meetings.forms import (
    ActionForm,
    ActionItemForm,
    CancelForm,
    CommentForm,
    DeclineForm,
    FeedbackForm,
    GuestForm,
    ItemForm,
    MeetingEditForm,
    MeetingForm,
    MinutesForm,
    NotesForm,
    OutcomeForm,
    ReportBackForm,
    SeriesForm,
    SubmitItemForm,
)
from meetings.models import (
    ATTENDED,
    ActionItem,
    AgendaItem,
    Attendance,
    AttendanceStatus,
    FeedbackReceipt,
    ItemStatus,
    ItemType,
    Meeting,
    Minutes,
    MinutesStatus,
    Series,
)
from meetings.templatetags.meetings_tags import roster_rows
from taskforce import audit, freshness, permissions
from taskforce.models import TaskForce
from taskforce.pdf import pdf_response, render_pdf
from taskforce.services import StaleEdit


def _meeting(
    request: HttpRequest,
    taskforce: TaskForce,
    pk: int,
    perm: str = "meetings.view_meeting",
    *,
    related: tuple = (),
    annotations: dict[str, Any] | None = None,
) -> Meeting:
    """The meeting through permissions, with `viewer_facilitates` (access.can_facilitate for this person) read
    in the same query; `related` and `annotations` read what the page needs in it too."""
    queryset = (
        Meeting.objects.filter(taskforce=taskforce)
        .select_related("series", "facilitator", "note_taker", *related)
        .annotate(viewer_facilitates=permissions.holds(request.user, access.FACILITATE, Meeting), **annotations or {})
    )
    # Facilitating is asked of the annotation, not of a second query: seen but not theirs to run is a 403, as
    # get_for_user refuses it.
    seen = "meetings.view_meeting" if perm == access.FACILITATE else perm

    def fetch() -> Meeting:
        return permissions.get_for_user(request.user, seen, queryset, request=request, pk=pk)

    if request.method == "GET" and not annotations:
        # The person's lookup (and their facilitating flag) holds until anything is written (taskforce.freshness):
        # the pages of a meeting are reloaded all through it. A refusal raises, so it is never stored: each one is
        # asked and audited anew.
        key = f"meeting:{request.user.pk}:{taskforce.pk}:{pk}:{seen}:{','.join(related)}"
        meeting = freshness.cached(key, fetch)
    else:
        meeting = fetch()
    if perm == access.FACILITATE and not meeting.viewer_facilitates:
        permissions.deny(request, meeting, perm)
    # The task force the caller has just read through permissions, not a second copy of its (wide) row.
    meeting.taskforce = taskforce
    return meeting


def _item(request: HttpRequest, meeting: Meeting, pk: int, *, facilitating: bool) -> AgendaItem:
    """An item of this meeting (or, for the backlog, of its task force) the user may see."""
    item = (
        AgendaItem.objects.with_viewers()
        .filter(taskforce=meeting.taskforce, pk=pk)
        .select_related("meeting", "presenter")
        .first()
    )
    if item is None or not access.can_see_item(request.user, item, facilitating=facilitating):
        audit.record("access.not_found", request=request, obj=meeting, model="meetings.agendaitem", lookup={"pk": pk})
        raise Http404
    return item


def _error(request: HttpRequest, exc: Exception) -> None:
    messages.error(request, str(exc))


def _shown_items(
    request: HttpRequest,
    meeting: Meeting,
    *,
    facilitating: bool,
    items: list[AgendaItem] | None = None,
    current_only: bool = False,
) -> list[dict]:
    """The agenda (`items`, else read here) as this viewer may see it: restricted items they may not see show
    as "Restricted".

    `current_only`: the live pages show a case-review item's case only while it is the current item, so only
    that one is rendered (each case rendered is an audited read of the case).
    """
    renderer = hooks.case_item_renderer()
    if items is None:
        # The same for every viewer, cached until anything is written (taskforce.freshness): the live pages are
        # reloaded by everyone in the room. Who may see each item is decided below, per request.
        items = freshness.cached(f"agenda-items:{meeting.pk}", lambda: services.agenda_items(meeting))
    hooks.prepare_case_items(request, items)
    visible = {item.pk: access.can_see_item(request.user, item, facilitating=facilitating) for item in items}
    cases = [
        item
        for item in items
        if visible[item.pk]
        and item.item_type == "case_review"
        and (not current_only or item.pk == meeting.current_item_id)
    ]
    case_html = renderer(request, cases) if renderer is not None and cases else {}
    return [{"item": item, "visible": visible[item.pk], "case_html": case_html.get(item.pk, "")} for item in items]


def _totals(meeting: Meeting, rows: list[dict]) -> dict:
    planned = sum(row["item"].planned_minutes for row in rows)
    return {"planned": planned, "length": meeting.length_minutes, "over": planned > meeting.length_minutes}


# --- list and scheduling ------------------------------------------------------------------------------


@login_required
def meeting_list(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    series = list(Series.objects.filter(taskforce=taskforce))
    infrequent_series = bool(series) and not any(s.is_at_least_monthly for s in series)
    return render(
        request,
        "meetings/list.html",
        {
            "taskforce": taskforce,
            "upcoming": selectors.meetings_for(taskforce)[:30],
            "past": selectors.meetings_for(taskforce, past=True)[:20],
            "series": series,
            "can_schedule": access.can_schedule(request.user, taskforce, request=request),
            "cadence_warning": taskforce.cadence_warning or (taskforce.is_new and infrequent_series),
        },
    )


def _logistics(data: dict) -> dict:
    keys = ("title", "start_time", "end_time", "time_zone", "location", "video_url", "facilitator", "note_taker")
    return {key: data[key] for key in keys}


@login_required
@require_http_methods(["GET", "POST"])
def series_create(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    access.require_schedule(request, taskforce)
    form = SeriesForm(request.POST or None, taskforce=taskforce, initial={"facilitator": request.user.pk})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        series = services.series_create(
            taskforce=taskforce,
            actor=request.user,
            frequency=data["frequency"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            count=data["count"],
            call_opens_days=data["call_opens_days"],
            call_closes_days=data["call_closes_days"],
            **_logistics(data),
        )
        messages.success(request, _("%(n)s meetings scheduled in the series.") % {"n": series.meetings.count()})
        return redirect("meetings:list", slug)
    return render(
        request,
        "meetings/form.html",
        {
            "taskforce": taskforce,
            "form": form,
            "page_title": _("New meeting series"),
            "page_lead": _("For a new task force, meet at least monthly for the first six months."),
            "submit_label": _("Schedule the series"),
            "cancel_url": reverse("meetings:list", args=[slug]),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    access.require_schedule(request, taskforce)
    form = MeetingForm(request.POST or None, taskforce=taskforce, initial={"facilitator": request.user.pk})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        meeting = services.meeting_create(taskforce=taskforce, actor=request.user, day=data["day"], **_logistics(data))
        messages.success(
            request,
            _(
                "Meeting scheduled. Its agenda starts with introductions, the confidentiality reminder and a training slot."
            ),
        )
        return redirect("meetings:detail", slug, meeting.pk)
    return render(
        request,
        "meetings/form.html",
        {
            "taskforce": taskforce,
            "form": form,
            "page_title": _("New meeting"),
            "submit_label": _("Schedule"),
            "cancel_url": reverse("meetings:list", args=[slug]),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    form = MeetingEditForm(request.POST or None, taskforce=taskforce, initial=MeetingEditForm.initial_for(meeting))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.meeting_update(
            meeting=meeting,
            actor=request.user,
            day=data["day"],
            invited_agencies=list(data["invited_agencies"]),
            invited_people=list(data["invited_people"]),
            **_logistics(data),
        )
        messages.success(request, _("Meeting saved."))
        return redirect("meetings:detail", slug, pk)
    return render(
        request,
        "meetings/form.html",
        {
            "taskforce": taskforce,
            "meeting": meeting,
            "form": form,
            "page_title": _("Edit meeting"),
            "page_lead": _("Changing the date or time moves only this meeting, not the rest of its series."),
            "cancel_url": reverse("meetings:detail", args=[slug, pk]),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_cancel(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_cancel(meeting=meeting, actor=request.user, reason=form.cleaned_data["reason"])
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Meeting cancelled. Its proposed items went to the backlog."))
        return redirect("meetings:detail", slug, pk)
    return render(
        request,
        "meetings/form.html",
        {
            "taskforce": taskforce,
            "meeting": meeting,
            "form": form,
            "page_title": _("Cancel %(meeting)s") % {"meeting": meeting},
            "page_lead": _("Only this meeting is cancelled; the rest of the series stays."),
            "submit_label": _("Cancel the meeting"),
            "submit_class": "btn-danger",
            "cancel_url": reverse("meetings:detail", args=[slug, pk]),
        },
    )


# --- one meeting and its agenda -----------------------------------------------------------------------


@login_required
def meeting_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, related=("minutes",))
    facilitating = meeting.viewer_facilitates
    # Cached until anything is written (taskforce.freshness); a facilitator's view (every proposal) is shared by
    # the facilitators, anyone else's holds their own proposals.
    agenda, submitted = freshness.cached(
        f"agenda-and-proposals:{meeting.pk}:{'facilitator' if facilitating else request.user.pk}",
        lambda: selectors.agenda_and_proposals(meeting, request.user, facilitating=facilitating),
    )
    rows = _shown_items(request, meeting, facilitating=facilitating, items=agenda)
    context = {
        "taskforce": taskforce,
        "meeting": meeting,
        "rows": rows,
        "totals": _totals(meeting, rows),
        "proposed": [item for item in submitted if item.status == ItemStatus.PROPOSED],
        "declined": [item for item in submitted if item.status == ItemStatus.DECLINED],
        "call_state": meeting.call_state(),
        "can_facilitate": facilitating,
        # One reverse for the page, not four per row: an item's actions are agenda/<pk>/<action>/ under the
        # meeting (meetings/urls.py).
        "items_url": reverse("meetings:detail", args=[slug, pk]) + "agenda/",
        "decline_form": DeclineForm(),
        # Only agenda_circulate writes a circulation, and it bumps agenda_version: none yet, nothing to read.
        "circulations": meeting.circulations.select_related("circulated_by")[:5] if meeting.agenda_version else [],
        "pending_changes": any(row["item"].changed_in_version > meeting.agenda_version for row in rows),
        "minutes": getattr(meeting, "minutes", None),  # selected with the meeting (None when there are none)
        "action_items": freshness.cached(
            f"agenda-action-items:{meeting.pk}",
            lambda: list(
                meeting.action_items.select_related(
                    "owner_person",
                    "owner_membership__agency",
                    "owner_subcommittee",
                    "agenda_item",
                    "report_back_meeting",
                )
            ),
        ),
        "invitee_count": freshness.cached(f"invitee-count:{meeting.pk}", lambda: services.invitee_count(meeting)),
    }
    return render(request, "meetings/detail.html", context)


@login_required
def meeting_ics(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk)
    response = HttpResponse(ics.calendar_for([meeting]), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def item_submit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk)
    facilitating = meeting.viewer_facilitates
    form = SubmitItemForm(request.POST or None, taskforce=taskforce, initial={"presenter": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            services.item_submit(meeting=meeting, actor=request.user, facilitating=facilitating, **form.cleaned_data)
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(
                request,
                _(
                    "Thank you: your item is with the facilitator, who will accept it, keep it for a later meeting or tell you why not."
                ),
            )
            return redirect("meetings:detail", slug, pk)
    state = meeting.call_state()
    lead = {
        "open": _("Submissions close %(when)s.")
        % {"when": f"{meeting.call_closes_at.astimezone(meeting.zone):%A, %B %-d at %-I:%M %p %Z}"},
        "not_open": _("The call opens %(when)s.")
        % {"when": f"{meeting.call_opens_at.astimezone(meeting.zone):%A, %B %-d}"},
        "closed": _("The call for agenda items is closed. Speak to the facilitator."),
    }[state]
    return render(
        request,
        "meetings/form.html",
        {
            "taskforce": taskforce,
            "meeting": meeting,
            "form": form,
            "page_title": _("Propose an agenda item"),
            "page_lead": f"{meeting}. {lead}",
            "closed": state != "open" and not facilitating,
            "submit_label": _("Submit the item"),
            "cancel_url": reverse("meetings:detail", args=[slug, pk]),
        },
    )


def _item_fields(data: dict) -> dict:
    keys = ("title", "description", "item_type", "presenter", "planned_minutes", "tier")
    return {key: data[key] for key in keys}


def _item_form_page(request: HttpRequest, meeting: Meeting, form: ItemForm, *, page_lead: str, **extra) -> HttpResponse:
    """The page adding or editing an agenda item; `page_lead` is said only once the agenda was circulated."""
    return render(
        request,
        "meetings/form.html",
        {
            "taskforce": meeting.taskforce,
            "meeting": meeting,
            "form": form,
            "page_lead": page_lead if meeting.agenda_version else "",
            "cancel_url": reverse("meetings:detail", args=[meeting.taskforce.slug, meeting.pk]),
            **extra,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_add(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    # Its own page, like item_edit, not a form on the agenda: the presenter and viewer pickers list everyone in
    # the task force, which would make every view of the agenda read and render them.
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    form = ItemForm(request.POST or None, taskforce=taskforce)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.item_add(
                meeting=meeting,
                actor=request.user,
                restricted_viewers=list(data["restricted_viewers"]),
                **_item_fields(data),
            )
        except services.MeetingError as exc:
            _error(request, exc)
        return redirect(reverse("meetings:detail", args=[slug, pk]) + "#agenda")
    return _item_form_page(
        request,
        meeting,
        form,
        page_title=_("Add an agenda item"),
        page_lead=_("If the agenda was already circulated, the new item is marked for re-circulation."),
        submit_label=_("Add to the agenda"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, slug: str, pk: int, item_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    item = _item(request, meeting, item_pk, facilitating=True)
    initial = {
        "title": item.title,
        "description": item.description,
        "item_type": item.item_type,
        "presenter": item.presenter_id,
        "planned_minutes": item.planned_minutes,
        "tier": item.tier,
        "restricted_viewers": sorted(item.restricted_viewer_ids),
        "revision": item.revision,
    }
    form = ItemForm(request.POST or None, taskforce=taskforce, initial=initial)
    stale = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.item_update(
                item=item,
                actor=request.user,
                restricted_viewers=list(data["restricted_viewers"]),
                expected_revision=data["revision"],
                **_item_fields(data),
            )
        except StaleEdit as exc:
            # Keep what this person typed, show what the other saved, and let a second save (now current) win.
            stale = exc.current
            messages.error(
                request,
                _(
                    "Someone else saved this item while you were editing. Their version is shown above yours; merge and save again."
                ),
            )
            typed = request.POST.copy()
            typed["revision"] = str(stale.revision)
            form = ItemForm(typed, taskforce=taskforce)
        else:
            messages.success(request, _("Item saved."))
            return redirect(reverse("meetings:detail", args=[slug, pk]) + "#agenda")
    return _item_form_page(
        request,
        meeting,
        form,
        page_title=_("Edit agenda item"),
        page_lead=_("If the agenda was already circulated, the change is marked for re-circulation."),
        stale_item=stale,
    )


ITEM_ACTIONS = {"accept", "backlog", "decline", "remove", "up", "down"}


@login_required
@require_POST
def item_action(request: HttpRequest, slug: str, pk: int, item_pk: int, action: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    item = _item(request, meeting, item_pk, facilitating=True)
    if action not in ITEM_ACTIONS:
        raise Http404
    try:
        if action in ("up", "down"):
            if item.meeting_id != meeting.pk:
                raise services.MeetingError(_("That item is not on this agenda."))
            services.item_move(item=item, actor=request.user, direction=-1 if action == "up" else 1)
        elif action == "decline":
            services.item_decide(
                item=item, actor=request.user, decision="decline", reason=request.POST.get("reason", "")
            )
        else:
            services.item_decide(item=item, actor=request.user, decision=action, meeting=meeting)
    except services.MeetingError as exc:
        _error(request, exc)
    nxt = request.POST.get("next")
    if nxt == "backlog":
        return redirect("meetings:backlog", slug)
    return redirect(reverse("meetings:detail", args=[slug, pk]) + "#agenda")


@login_required
@require_POST
def circulate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    try:
        circulation = services.agenda_circulate(meeting=meeting, actor=request.user)
    except services.MeetingError as exc:
        _error(request, exc)
    else:
        messages.success(
            request,
            _("Agenda version %(v)s circulated to %(n)s people.")
            % {"v": circulation.version, "n": len(services.invitees(meeting))},
        )
    return redirect("meetings:detail", slug, pk)


@login_required
def backlog(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    access.require_schedule(request, taskforce)
    return render(
        request,
        "meetings/backlog.html",
        {
            "taskforce": taskforce,
            "items": selectors.backlog(taskforce),
            "meetings": selectors.upcoming_for_backlog(taskforce),
        },
    )


# --- running the meeting ---------------------------------------------------------------------------------


def _live_context(request: HttpRequest, meeting: Meeting, *, facilitating: bool) -> dict:
    """What the console and the participants' page share: the agenda with its clocks (no attendance)."""
    rows = _shown_items(request, meeting, facilitating=facilitating, current_only=True)
    now = timezone.now()
    current = next((row for row in rows if row["item"].pk == meeting.current_item_id), None)
    elapsed = 0
    if current and meeting.current_item_started_at:
        elapsed = current["item"].actual_seconds + int((now - meeting.current_item_started_at).total_seconds())
    index = rows.index(current) if current else -1
    for row in rows:
        row["actual"] = elapsed if current and row is current else row["item"].actual_seconds
        row["over"] = row["actual"] > row["item"].planned_seconds
    return {
        "meeting": meeting,
        "taskforce": meeting.taskforce,
        "rows": rows,
        "current": current,
        "next_row": rows[index + 1] if current and index + 1 < len(rows) else None,
        "elapsed": elapsed,
        "remaining": (current["item"].planned_seconds - elapsed) if current else 0,
        "now": now,
        # Clocks tick in the browser from server-computed offsets, so a skewed laptop clock cannot mislead.
        "meeting_elapsed": int((now - meeting.started_at).total_seconds()) if meeting.started_at else 0,
        "meeting_left": int((meeting.ends_at - now).total_seconds()),
        "totals": _totals(meeting, rows),
        "can_facilitate": facilitating,
    }


def _run_roster(meeting: Meeting) -> dict[str, Any]:
    attendance = list(Attendance.objects.filter(meeting=meeting))
    return {
        "roster_html": roster_rows(attendance, ended_at=meeting.ended_at) if attendance else "",
        "roster_total": len(attendance),
        "present_count": sum(1 for a in attendance if a.attended),
    }


@login_required
def run(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    if not meeting.ended_at:
        # Asked again only after something was written (taskforce.freshness): an invitation, a new person. Its own
        # inserts move the generation on, so the next load checks once more and finds the roster complete.
        freshness.cached(
            f"roster-complete:{meeting.pk}", lambda: services.attendance_roster_ensure(meeting=meeting) or True
        )
    context = _live_context(request, meeting, facilitating=True)
    # The roster, the same for everyone running the meeting: cached until anything is written
    # (taskforce.freshness), per language and time zone (its words and check-in times).
    roster_key = f"run-roster:{meeting.pk}:{get_language()}:{timezone.get_current_timezone_name()}"
    context.update(freshness.cached(roster_key, lambda: _run_roster(meeting)))
    current_item = context["current"]["item"] if context["current"] else None
    if current_item:
        context["notes_form"] = NotesForm(initial={"notes": current_item.notes, "decisions": current_item.decisions})
    context["guest_form"] = GuestForm(prefix="guest")
    if meeting.started_at:  # action items are recorded once the meeting runs (run.html shows them only then)
        context["action_form"] = ActionItemForm(meeting=meeting, prefix="action")
        context["action_items"] = meeting.action_items.select_related(
            "owner_person", "owner_membership__agency", "owner_subcommittee", "report_back_meeting"
        )
    # The approval of the previous minutes is an item of this meeting: approve from the live view.
    context["approval_minutes"] = None
    if current_item and current_item.item_type == ItemType.MINUTES_APPROVAL and current_item.source_id.isdigit():
        context["approval_minutes"] = (
            Minutes.objects.filter(pk=int(current_item.source_id), meeting__taskforce=taskforce)
            .select_related("meeting")
            .first()
        )
    # A report-back item: the owner's update and the outcome form, right in the live view.
    report_back = actions.report_back_for_item(current_item) if current_item else None
    if report_back is not None and report_back.action_item.is_open and context["current"]["visible"]:
        context["report_back"] = report_back
        context["outcome_form"] = OutcomeForm(taskforce=taskforce, prefix="outcome")
    return render(request, "meetings/run.html", context)


RUN_ACTIONS = {"start", "next", "previous", "goto", "park", "end"}


@login_required
@require_POST
def run_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    if action not in RUN_ACTIONS:
        raise Http404
    try:
        if action == "start":
            services.meeting_start(meeting=meeting, actor=request.user)
        elif action in ("next", "previous"):
            services.meeting_goto(meeting=meeting, actor=request.user, step=1 if action == "next" else -1)
        elif action == "goto":
            item = _item(request, meeting, request.POST.get("item", ""), facilitating=True)
            services.meeting_goto(meeting=meeting, actor=request.user, item=item)
        elif action == "park":
            item = _item(request, meeting, request.POST.get("item", ""), facilitating=True)
            services.item_park(meeting=meeting, actor=request.user, item=item)
            messages.info(request, _("“%(title)s” parked in the backlog.") % {"title": item.title})
        elif action == "end":
            services.meeting_end(meeting=meeting, actor=request.user)
            messages.success(
                request, _("Meeting ended. The minutes are drafted from the record; attendees get the feedback form.")
            )
            return redirect("meetings:minutes", slug, pk)
    except (services.MeetingError, ValueError) as exc:
        _error(request, exc)
    return redirect("meetings:run", slug, pk)


@login_required
@require_POST
def notes(request: HttpRequest, slug: str, pk: int, item_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    item = _item(request, meeting, item_pk, facilitating=True)
    form = NotesForm(request.POST)
    if form.is_valid():
        try:
            services.item_record(item=item, actor=request.user, **form.cleaned_data)
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Notes saved."))
    return redirect(
        request.POST.get("back") == "minutes"
        and reverse("meetings:minutes_edit", args=[slug, pk])
        or reverse("meetings:run", args=[slug, pk])
    )


@login_required
@require_POST
def attendance(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Mark someone present/absent, or add a guest (facilitator's roster)."""
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    try:
        if "guest-name" in request.POST:
            form = GuestForm(request.POST, prefix="guest")
            if not form.is_valid():
                raise services.MeetingError(_("A guest needs a name and the confidentiality acknowledgement."))
            services.attendance_add_guest(meeting=meeting, actor=request.user, **form.cleaned_data)
        else:
            row = Attendance.objects.filter(meeting=meeting, pk=request.POST.get("attendance") or 0).first()
            status = request.POST.get("status", "")
            if row is None or status not in AttendanceStatus.values:
                raise Http404
            services.attendance_mark(
                attendance=row, actor=request.user, status=status, acknowledged=request.POST.get("acknowledged") == "1"
            )
    except services.MeetingError as exc:
        _error(request, exc)
    return redirect(reverse("meetings:run", args=[slug, pk]) + "#attendance")


@login_required
@require_POST
def check_in(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """A participant checks in from their own browser, acknowledging the confidentiality commitment."""
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk)
    if request.POST.get("acknowledged") != "1":
        messages.error(request, _("Tick the confidentiality acknowledgement to check in."))
    elif not meeting.is_live:
        messages.error(request, _("Check-in opens when the meeting starts."))
    else:
        services.attendance_check_in(meeting=meeting, person=request.user)
        messages.success(request, _("You are checked in."))
    return redirect("meetings:follow", slug, pk)


@login_required
def follow(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """What participants see in their own browsers; htmx polls the partial every few seconds."""
    taskforce = permissions.taskforce_for(request, slug)
    # Whether this person is checked in (Attendance.attended), read with the meeting: the check-in form needs
    # nothing else of the roster.
    checked_in = Attendance.objects.filter(meeting=OuterRef("pk"), person=request.user.pk, status__in=ATTENDED)
    meeting = _meeting(request, taskforce, pk, annotations={"checked_in": Exists(checked_in)})
    context = _live_context(request, meeting, facilitating=meeting.viewer_facilitates)
    if request.htmx:
        return render(request, "meetings/partials/follow_current.html", context)
    return render(request, "meetings/follow.html", context)


@login_required
@require_POST
def action_item_create(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    form = ActionItemForm(request.POST, meeting=meeting, prefix="action")
    if form.is_valid():
        try:
            services.action_item_create(
                meeting=meeting, actor=request.user, agenda_item=meeting.current_item, **form.cleaned_data
            )
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Action item recorded."))
    else:
        messages.error(request, _("The action item was not recorded: %(errors)s") % {"errors": form.errors.as_text()})
    back = (
        reverse("meetings:minutes_edit", args=[slug, pk])
        if request.POST.get("back") == "minutes"
        else reverse("meetings:run", args=[slug, pk])
    )
    return redirect(back + "#actions")


@login_required
def signin_pdf(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    services.attendance_roster_ensure(meeting=meeting) if not meeting.ended_at else None
    rows = list(Attendance.objects.filter(meeting=meeting))
    blank = max(3, 15 - len(rows))  # fill the first page; a long roster runs on without blanks
    pdf = render_pdf(
        "pdf/meeting_signin.html",
        {
            "taskforce": taskforce,
            "meeting": meeting,
            "rows": rows,
            "blank_rows": range(blank),
            "title": _("Sign-in sheet"),
            "subtitle": f"{meeting.title} · {meeting.local_start:%A, %B %-d, %Y · %-I:%M %p} – {meeting.local_end:%-I:%M %p %Z}",
        },
        request=request,
    )
    audit.record("meeting.signin_exported", request=request, obj=meeting)
    return pdf_response(pdf, f"{taskforce.slug}-sign-in-{meeting.local_start:%Y-%m-%d}.pdf")


# --- minutes ---------------------------------------------------------------------------------------------


def _minutes(request: HttpRequest, meeting: Meeting) -> Minutes:
    minutes = Minutes.objects.filter(meeting=meeting).select_related("approved_by", "approved_at_meeting").first()
    if minutes is None:
        raise Http404
    return minutes


@login_required
def minutes(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    # The minutes and who approved them where, read with the meeting (None when there are none).
    meeting = _meeting(request, taskforce, pk, related=("minutes__approved_by", "minutes__approved_at_meeting"))
    facilitating = meeting.viewer_facilitates
    record = getattr(meeting, "minutes", None)
    if record is None:
        return render(
            request,
            "meetings/minutes_none.html",
            {"taskforce": taskforce, "meeting": meeting, "can_facilitate": facilitating},
        )
    record.meeting = meeting  # already loaded, with its task force, facilitator and note taker
    restricted = access.can_see_restricted_minutes(request.user, meeting, facilitating=facilitating)
    edition = services.RESTRICTED if restricted and request.GET.get("edition") == "restricted" else services.GENERAL
    can_comment = record.status == MinutesStatus.CIRCULATED and (
        record.comments_until is None or timezone.now() <= record.comments_until
    )
    return render(
        request,
        "meetings/minutes.html",
        {
            "taskforce": taskforce,
            "meeting": meeting,
            "minutes": record,
            # Cached until anything is written (taskforce.freshness): a statewide meeting's record is hundreds of
            # rows, the same for every reader of the edition; the PDF and the seal always build it afresh.
            "record": freshness.cached(
                f"minutes-record:{record.pk}:{edition}:{get_language()}",
                lambda: services.minutes_record(record, edition),
            ),
            "edition": edition,
            "case_reviews": hooks.case_reviews_for_minutes(request, meeting) if edition == services.RESTRICTED else [],
            "can_see_restricted": restricted,
            "can_facilitate": facilitating,
            "comment_form": CommentForm() if can_comment else None,
            "comments": record.comments.select_related("author"),
            "seal_ok": services.minutes_verify(record) if record.is_locked else None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def minutes_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk, access.FACILITATE)
    record = _minutes(request, meeting)
    if record.is_locked:
        messages.info(request, _("These minutes are approved and locked."))
        return redirect("meetings:minutes", slug, pk)
    items = [
        item for item in services.agenda_items(meeting) if access.can_see_item(request.user, item, facilitating=True)
    ]
    form = MinutesForm(
        request.POST or None,
        initial={"version": record.version, "summary": record.summary, "restricted_summary": record.restricted_summary},
    )
    stale = None
    if request.method == "POST" and form.is_valid():
        texts = {
            item.pk: (
                request.POST.get(f"notes-{item.pk}", item.notes),
                request.POST.get(f"decisions-{item.pk}", item.decisions),
            )
            for item in items
        }
        try:
            services.minutes_update(
                minutes=record,
                actor=request.user,
                expected_version=form.cleaned_data["version"],
                summary=form.cleaned_data["summary"],
                restricted_summary=form.cleaned_data["restricted_summary"],
                items=texts,
            )
        except StaleEdit as exc:
            stale = exc.current
            messages.error(
                request,
                _(
                    "Someone else saved these minutes while you were editing. Their version is shown below yours; merge and save again."
                ),
            )
            form = MinutesForm(
                data={
                    "version": stale.version,
                    "summary": form.cleaned_data["summary"],
                    "restricted_summary": form.cleaned_data["restricted_summary"],
                }
            )
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Minutes saved."))
            return redirect("meetings:minutes", slug, pk)
    return render(
        request,
        "meetings/minutes_edit.html",
        {
            "taskforce": taskforce,
            "meeting": meeting,
            "minutes": record,
            "form": form,
            "items": items,
            "stale": stale,
            "action_form": ActionItemForm(meeting=meeting, prefix="action"),
            "action_items": meeting.action_items.select_related(
                "owner_person", "owner_membership__agency", "owner_subcommittee"
            ),
        },
    )


MINUTES_ACTIONS = {"draft", "circulate", "approve", "comment"}


@login_required
@require_POST
def minutes_action(request: HttpRequest, slug: str, pk: int, action: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    if action not in MINUTES_ACTIONS:
        raise Http404
    perm = "meetings.view_meeting" if action == "comment" else access.FACILITATE
    meeting = _meeting(request, taskforce, pk, perm)
    try:
        if action == "draft":
            services.minutes_draft(meeting=meeting, actor=request.user)
            return redirect("meetings:minutes_edit", slug, pk)
        record = _minutes(request, meeting)
        if action == "circulate":
            services.minutes_circulate(minutes=record, actor=request.user)
            messages.success(
                request, _("Minutes circulated for comment; their approval is on the next meeting's agenda.")
            )
        elif action == "approve":
            services.minutes_approve(minutes=record, actor=request.user)
            messages.success(request, _("Minutes approved, locked and sealed."))
        else:
            form = CommentForm(request.POST)
            if form.is_valid():
                services.minutes_comment(minutes=record, actor=request.user, body=form.cleaned_data["body"])
                messages.success(request, _("Comment added."))
    except services.MeetingError as exc:
        _error(request, exc)
    return redirect("meetings:minutes", slug, pk)


@login_required
def minutes_pdf(request: HttpRequest, slug: str, pk: int, edition: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk)
    if edition not in (services.GENERAL, services.RESTRICTED):
        raise Http404
    if edition == services.RESTRICTED and not access.can_see_restricted_minutes(request.user, meeting):
        permissions.deny(request, meeting, "restricted_minutes")
    record = _minutes(request, meeting)
    data = services.minutes_record(record, edition)
    pdf = render_pdf(
        "pdf/minutes.html",
        {
            "taskforce": taskforce,
            "meeting": meeting,
            "minutes": record,
            "record": data,
            "edition": edition,
            "case_reviews": hooks.case_reviews_for_minutes(request, meeting) if edition == services.RESTRICTED else [],
            "draft": not record.is_locked,
            "title": _("Minutes") + (" — " + _("restricted edition") if edition == services.RESTRICTED else ""),
            "subtitle": f"{meeting.title} · {meeting.local_start:%A, %B %-d, %Y · %-I:%M %p} – {meeting.local_end:%-I:%M %p %Z}",
            "confidentiality": _("RESTRICTED: only for the people entitled to the restricted items. Do not forward.")
            if edition == services.RESTRICTED
            else "",
        },
        request=request,
    )
    audit.record("minutes.exported", request=request, obj=meeting, edition=edition)
    return pdf_response(pdf, f"{taskforce.slug}-minutes-{meeting.local_start:%Y-%m-%d}-{edition}.pdf")


# --- feedback --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    meeting = _meeting(request, taskforce, pk)
    answered = FeedbackReceipt.objects.filter(meeting=meeting, person=request.user).exists()
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and not answered and form.is_valid():
        try:
            services.feedback_submit(meeting=meeting, person=request.user, **form.cleaned_data)
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Thank you for your feedback."))
            return redirect("meetings:detail", slug, pk)
    return render(
        request,
        "meetings/feedback.html",
        {"taskforce": taskforce, "meeting": meeting, "form": form, "answered": answered},
    )


@login_required
def feedback_trend(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    points = selectors.feedback_trend(taskforce)
    facilitating = access.can_schedule(request.user, taskforce, request=request)
    return render(
        request,
        "meetings/feedback_trend.html",
        {
            "taskforce": taskforce,
            "points": points,
            "chart": selectors.usefulness_chart(points) if points else None,
            "comments": selectors.feedback_comments(taskforce) if facilitating else None,
            "can_facilitate": facilitating,
            "total": sum(p.responses for p in points),
            "average": round(
                sum((p.usefulness or 0) * p.responses for p in points) / max(sum(p.responses for p in points), 1), 2
            )
            if points
            else None,
        },
    )


# --- calendar ----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def calendar(request: HttpRequest, slug: str) -> HttpResponse:
    """Issue, replace or revoke the person's private feed URL (shown once: only its hash is kept)."""
    taskforce = permissions.taskforce_for(request, slug)
    feed_url = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            services.calendar_token_revoke(user=request.user)
            messages.success(request, _("Your calendar feed address no longer works."))
            return redirect("meetings:calendar", slug)
        token = services.calendar_token_issue(user=request.user)
        feed_url = request.build_absolute_uri(reverse("meetings:feed", args=[token]))
    return render(
        request,
        "meetings/calendar.html",
        {
            "taskforce": taskforce,
            "feed_url": feed_url,
            "has_token": hasattr(request.user, "calendar_token") and request.user.calendar_token.pk is not None,
        },
    )


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The subscribed calendar: no session (calendar apps have none), the token is the credential."""
    user = services.calendar_token_user(token)
    if user is None:
        raise Http404
    taskforces = permissions.visible_to(user, "taskforce.view_taskforce", TaskForce.objects.all())
    since = timezone.now() - timedelta(days=90)
    meetings = Meeting.objects.filter(taskforce__in=taskforces, starts_at__gte=since).select_related("taskforce")[:500]
    response = HttpResponse(
        ics.calendar_for(meetings, name=_("Task force meetings")), content_type="text/calendar; charset=utf-8"
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- action items between meetings: the list, the form, report-backs and outcomes, the overdue board --------


def _action_item(request: HttpRequest, taskforce: TaskForce, pk: int) -> ActionItem:
    """An action item of this task force the user may see (restricted ones: managers and the owner)."""
    queryset = actions.visible_actions(request.user, taskforce, ActionItem.objects.filter(taskforce=taskforce))
    queryset = actions.with_related(queryset)
    return permissions.get_for_user(request.user, "meetings.view_actionitem", queryset, request=request, pk=pk)


@login_required
def action_list(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    queryset = permissions.visible_to(
        request.user, "meetings.view_actionitem", ActionItem.objects.filter(taskforce=taskforce)
    )
    queryset = actions.with_related(actions.visible_actions(request.user, taskforce, queryset))
    state = request.GET.get("state", "open")
    if state in ("open", "done", "dropped"):
        queryset = queryset.filter(status=state)
    goal = request.GET.get("goal", "")
    if goal.isdigit():  # from the action plan: this goal's actions
        queryset = queryset.filter(goal_id=int(goal))
    mine = request.GET.get("mine") == "1"
    if mine:
        queryset = queryset.filter(pk__in=actions.owed_by(request.user, taskforce).values("pk"))
    today = actions.local_today(taskforce)
    rows = [{"action": a, "overdue": actions.is_overdue(a, today)} for a in queryset[:300]]
    return render(
        request,
        "meetings/actions/list.html",
        {
            "taskforce": taskforce,
            "rows": rows,
            "state": state,
            "mine": mine,
            "goal": goal if goal.isdigit() else "",
            "can_manage": access.can_schedule(request.user, taskforce, request=request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def action_create(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    access.require_schedule(request, taskforce)
    form = ActionForm(request.POST or None, taskforce=taskforce, initial={"goal": request.GET.get("goal")})
    if request.method == "POST" and form.is_valid():
        try:
            action = actions.action_item_save(taskforce=taskforce, actor=request.user, **form.cleaned_data)
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Action item added."))
            return redirect("meetings:action_detail", slug, action.pk)
    return render(
        request,
        "meetings/actions/form.html",
        {"taskforce": taskforce, "form": form, "page_title": _("New action item"), "cancel_url": _actions_url(slug)},
    )


def _actions_url(slug: str) -> str:
    return reverse("meetings:actions", args=[slug])


@login_required
@require_http_methods(["GET", "POST"])
def action_edit(request: HttpRequest, slug: str, action_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    action = _action_item(request, taskforce, action_pk)
    access.require_schedule(request, taskforce)
    initial = {
        name: getattr(action, name)
        for name in ("title", "owner_person", "owner_membership", "owner_subcommittee", "goal", "due_on")
    }
    initial.update(report_back_meeting=action.report_back_meeting, report_back_on=action.report_back_on)
    form = ActionForm(request.POST or None, taskforce=taskforce, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.action_item_save(taskforce=taskforce, actor=request.user, action=action, **form.cleaned_data)
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Action item saved."))
            return redirect("meetings:action_detail", slug, action.pk)
    cancel = reverse("meetings:action_detail", args=[slug, action.pk])
    return render(
        request,
        "meetings/actions/form.html",
        {"taskforce": taskforce, "form": form, "page_title": _("Edit action item"), "cancel_url": cancel},
    )


@login_required
def action_detail(request: HttpRequest, slug: str, action_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    action = _action_item(request, taskforce, action_pk)
    can_manage = access.can_schedule(request.user, taskforce, request=request)
    can_report = action.is_open and actions.may_report(request.user, action)
    current = actions.open_report_back(action)
    report_form = None
    if can_report:
        initial = (
            {"status": current.status, "progress": current.progress, "blockers": current.blockers} if current else {}
        )
        report_form = ReportBackForm(initial=initial, prefix="report")
    return render(
        request,
        "meetings/actions/detail.html",
        {
            "taskforce": taskforce,
            "action": action,
            "overdue": actions.is_overdue(action, actions.local_today(taskforce)),
            "target": actions.target_meeting(action) if action.is_open else None,
            "report_backs": action.report_backs.select_related("submitted_by", "outcome_by", "meeting", "agenda_item"),
            "report_form": report_form,
            "outcome_form": OutcomeForm(taskforce=taskforce, prefix="outcome")
            if can_manage and action.is_open
            else None,
            "can_manage": can_manage,
        },
    )


@login_required
@require_POST
def action_report(request: HttpRequest, slug: str, action_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    action = _action_item(request, taskforce, action_pk)
    if not actions.may_report(request.user, action):
        permissions.deny(request, action, "meetings.report_actionitem")
    form = ReportBackForm(request.POST, request.FILES, prefix="report")
    if form.is_valid():
        try:
            actions.report_back_submit(action=action, actor=request.user, **form.cleaned_data)
        except services.MeetingError as exc:
            _error(request, exc)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Update submitted."))
    else:
        messages.error(request, _("The update was not saved: %(errors)s") % {"errors": form.errors.as_text()})
    return redirect("meetings:action_detail", slug, action.pk)


@login_required
@require_POST
def action_outcome(request: HttpRequest, slug: str, action_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    action = _action_item(request, taskforce, action_pk)
    access.require_schedule(request, taskforce)
    form = OutcomeForm(request.POST, taskforce=taskforce, prefix="outcome")
    if form.is_valid():
        try:
            actions.report_back_outcome(action=action, actor=request.user, **form.cleaned_data)
        except services.MeetingError as exc:
            _error(request, exc)
        else:
            messages.success(request, _("Outcome recorded."))
    else:
        messages.error(request, _("The outcome was not recorded: %(errors)s") % {"errors": form.errors.as_text()})
    meeting_pk = request.POST.get("meeting")
    if request.POST.get("back") == "run" and meeting_pk and meeting_pk.isdigit():
        return redirect(reverse("meetings:run", args=[slug, int(meeting_pk)]))
    return redirect("meetings:action_detail", slug, action.pk)


@login_required
def overdue_board(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    today = actions.local_today(taskforce)
    board = actions.overdue_board(taskforce, today)
    sections = [(_("By agency"), board["agencies"]), (_("By subcommittee"), board["subcommittees"])]
    return render(
        request, "meetings/actions/board.html", {"taskforce": taskforce, "today": today, "sections": sections}
    )


@login_required
def report_back_attachment(request: HttpRequest, slug: str, action_pk: int, report_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    action = _action_item(request, taskforce, action_pk)
    report = action.report_backs.exclude(attachment_storage="").filter(pk=report_pk).first()
    if report is None:
        audit.record("access.not_found", request=request, obj=action, model="meetings.reportback")
        raise Http404
    try:
        handle = actions.attachment_path(report).open("rb")
    except FileNotFoundError:
        raise Http404 from None
    audit.record("report_back.attachment_downloaded", request=request, obj=action, report=report.pk)
    response = FileResponse(
        handle, as_attachment=True, filename=report.attachment_name, content_type=report.attachment_type
    )
    # As for library files: never rendered as ours, never cached.
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
