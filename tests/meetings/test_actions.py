"""Action items between meetings: ownership, report-backs on the agenda, outcomes, the board, reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from meetings import actions, services
from meetings.models import ActionItem, ActionStatus, AgendaItem, ItemType, ReportBack
from members import services as member_services
from taskforce import health, notifications
from taskforce.models import AuditEvent, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def goal(cast):
    return member_services.goal_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Train every school counsellor",
        objective="90% of counsellors trained by June",
        target_on=cast.taskforce.created_at.date() + timedelta(days=200),
        status="on_track",
        progress=10,
    )


@pytest.fixture
def outreach(cast, goal):
    """Bea chairs the outreach subcommittee, Mia sits on it; Larry (agency A) does not."""
    return member_services.subcommittee_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        name="Outreach",
        charge="Reach the schools.",
        chair=cast.liaison_b,
        members=[cast.member_b],
        goals=[goal],
    )


def _meetings(series):
    return list(series.meetings.order_by("starts_at"))


@pytest.fixture
def action(cast, outreach, goal, meeting):
    return actions.action_item_save(
        taskforce=cast.taskforce,
        actor=cast.coordinator,
        title="Draft the school outreach letter",
        owner_subcommittee=outreach,
        goal=goal,
        due_on=meeting.local_start.date() - timedelta(days=1),
        report_back_meeting=meeting,
    )


def _report_items(meeting):
    return AgendaItem.objects.filter(meeting=meeting, item_type=ItemType.SUBCOMMITTEE, source_type=actions.SOURCE)


# --- services ----------------------------------------------------------------------------------------------


def test_the_coordinator_creates_an_action_outside_a_meeting_linked_to_a_goal(cast, action, goal):
    assert action.meeting is None and action.goal == goal
    assert action.status == ActionStatus.OPEN
    assert list(goal.action_items.all()) == [action]
    assert AuditEvent.objects.filter(action="action_item.created").exists()


def test_an_action_needs_an_owner_of_this_task_force(cast, goal):
    with pytest.raises(services.MeetingError):
        actions.action_item_save(taskforce=cast.taskforce, actor=cast.coordinator, title="Nobody's")
    with pytest.raises(services.MeetingError):
        actions.action_item_save(
            taskforce=cast.taskforce, actor=cast.coordinator, title="Theirs", owner_membership=cast.other_membership
        )


def test_who_may_report_back(cast, action):
    assert actions.may_report(cast.member_b, action)  # a subcommittee member
    assert actions.may_report(cast.liaison_b, action)  # its chair
    assert actions.may_report(cast.coordinator, action)
    assert not actions.may_report(cast.liaison_a, action)  # not on the subcommittee
    assert not actions.may_report(cast.outsider, action)
    agency_action = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Agency task", owner_membership=cast.agency_b
    )
    assert actions.may_report(cast.member_b, agency_action)  # one of the agency's people
    assert not actions.may_report(cast.liaison_a, agency_action)
    assert set(actions.owners(agency_action)) == {cast.liaison_b}


def test_an_update_goes_on_the_open_agenda_at_once_and_only_once(cast, action, meeting):
    # The fixture meeting is a week away: its call for agenda items is open.
    report = actions.report_back_submit(action=action, actor=cast.member_b, status="on_track", progress="Draft done")
    items = list(_report_items(meeting))
    assert len(items) == 1
    item = items[0]
    assert report.agenda_item == item and report.meeting == meeting
    assert item.title == "Report-back: Draft the school outreach letter"
    assert "Draft done" in item.description and "Outreach (subcommittee)" in item.description
    assert item.presenter == cast.member_b

    actions.report_back_submit(action=action, actor=cast.liaison_b, status="at_risk", progress="Needs sign-off")
    notifications.run_schedulers()
    assert _report_items(meeting).count() == 1
    item.refresh_from_db()
    assert "Needs sign-off" in item.description and "At risk" in item.description
    assert ReportBack.objects.filter(action_item=action).count() == 1


def test_the_scheduler_places_a_due_report_back_on_its_meeting_once(cast, outreach, series):
    first, second, _third = _meetings(series)
    action = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Count the shelters", owner_person=cast.member_b,
        report_back_meeting=second,
    )  # fmt: skip
    notifications.run_schedulers()
    assert not _report_items(second).exists()  # its agenda is not open yet
    with time_machine.travel(second.call_opens_at + timedelta(hours=1), tick=False):
        notifications.run_schedulers()
        notifications.run_schedulers()
    items = list(_report_items(second))
    assert len(items) == 1 and "No written update yet" in items[0].description
    assert not _report_items(first).exists()
    assert ReportBack.objects.get(action_item=action).agenda_item == items[0]


def test_a_date_report_back_goes_to_the_first_meeting_on_or_after_the_date(cast, series):
    first, second, _third = _meetings(series)
    action = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Map the bus routes", owner_person=cast.liaison_a,
        report_back_on=first.local_start.date() + timedelta(days=1),
    )  # fmt: skip
    assert actions.target_meeting(action) == second
    with time_machine.travel(second.call_opens_at + timedelta(hours=1), tick=False):
        actions.report_back_submit(action=action, actor=cast.liaison_a, status="on_track", progress="Half mapped")
    assert _report_items(second).count() == 1
    assert not _report_items(first).exists()


def test_a_removed_report_back_item_is_not_put_back(cast, action, meeting):
    report = actions.report_back_submit(action=action, actor=cast.member_b, status="on_track", progress="Going")
    services.item_decide(item=report.agenda_item, actor=cast.facilitator, decision="remove")
    notifications.run_schedulers()
    actions.report_back_submit(action=action, actor=cast.member_b, status="on_track", progress="Still going")
    assert not _report_items(meeting).filter(status="accepted").exists()


def test_the_outcome_continue_opens_a_new_cycle_done_closes_drop_needs_a_reason(cast, action, series):
    _first, second, third = _meetings(series)
    actions.report_back_submit(action=action, actor=cast.member_b, status="at_risk", progress="Half")
    actions.report_back_outcome(
        action=action, actor=cast.facilitator, outcome="continue", report_back_meeting=second,
        due_on=second.local_start.date(),
    )  # fmt: skip
    action.refresh_from_db()
    assert action.status == ActionStatus.OPEN and action.report_back_meeting == second
    assert actions.open_report_back(action) is None
    with time_machine.travel(second.call_opens_at + timedelta(hours=1), tick=False):
        notifications.run_schedulers()
    assert _report_items(second).count() == 1
    assert ReportBack.objects.filter(action_item=action).count() == 2

    with pytest.raises(services.MeetingError):
        actions.report_back_outcome(action=action, actor=cast.facilitator, outcome="drop")
    with pytest.raises(services.MeetingError):
        actions.report_back_outcome(action=action, actor=cast.facilitator, outcome="continue")
    actions.report_back_outcome(action=action, actor=cast.facilitator, outcome="done")
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE
    with pytest.raises(services.MeetingError):
        actions.report_back_submit(action=action, actor=cast.member_b, status="on_track", progress="More")
    del third


def test_drop_with_a_reason(cast, action):
    actions.report_back_outcome(action=action, actor=cast.coordinator, outcome="drop", reason="Funding ended")
    action.refresh_from_db()
    assert action.status == ActionStatus.DROPPED
    assert ReportBack.objects.get(action_item=action).outcome_reason == "Funding ended"


def test_an_action_created_in_a_live_meeting_reports_back_the_same_way(cast, series):
    first, second, _third = _meetings(series)
    with time_machine.travel(first.starts_at, tick=False):
        services.meeting_start(meeting=first, actor=cast.facilitator)
        live = services.action_item_create(
            meeting=first, actor=cast.facilitator, title="Call the shelter", owner_person=cast.member_b,
            report_back_meeting=second,
        )  # fmt: skip
    with time_machine.travel(second.call_opens_at + timedelta(days=1), tick=False):
        actions.report_back_submit(action=live, actor=cast.member_b, status="complete", progress="Called")
    assert _report_items(second).get().description.count("Called") == 1


# --- the overdue board and health ---------------------------------------------------------------------------


def test_the_board_counts_overdue_actions_by_agency_and_subcommittee(cast, action, meeting):
    late = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Late", owner_membership=cast.agency_a,
        due_on=meeting.local_start.date() - timedelta(days=30),
    )  # fmt: skip
    today = meeting.local_start.date()
    board = actions.overdue_board(cast.taskforce, today)
    agencies = {row.label: row for row in board["agencies"]}
    subs = {row.label: row for row in board["subcommittees"]}
    assert agencies["Sheriff's Office"].overdue == 1 and agencies["Sheriff's Office"].items == [late]
    assert subs["Outreach"].open == 1 and subs["Outreach"].overdue == 1

    measures = {m.key: m for m in health.measures_for(cast.taskforce, today)}
    overdue = measures["meetings.actions_overdue"]
    assert overdue.value == "2" and overdue.status == health.WARN
    assert ["Subcommittee", "Outreach", 1, 1] in overdue.table.rows
    assert "meetings.report_backs_on_time" in measures


def test_report_backs_on_time_counts_updates_in_by_the_due_date(cast, action, meeting):
    actions.report_back_submit(action=action, actor=cast.member_b, status="on_track", progress="On time")
    late = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Late one", owner_person=cast.liaison_a,
        report_back_meeting=meeting,
    )  # fmt: skip
    notifications.run_schedulers()  # opens its cycle (placed on the agenda) without an update
    assert ReportBack.objects.get(action_item=late).submitted_at is None
    measure = {m.key: m for m in health.measures_for(cast.taskforce, meeting.local_start.date())}[
        "meetings.report_backs_on_time"
    ]
    assert measure.value == "50%" and measure.status == health.WARN


# --- reminders ----------------------------------------------------------------------------------------------


def _sweep_at(when):
    with time_machine.travel(when, tick=False):
        return notifications.sweep()


def _ours():
    return [m for m in mail.outbox if m.extra_headers.get("X-Taskforce-Kind", "").startswith("meetings.report_back")]


def _schedule_at(when):
    with time_machine.travel(when, tick=False):
        notifications.run_schedulers()


def test_reminders_seven_days_and_one_day_before_then_escalation_each_once(cast, outreach, series):
    _first, second, _third = _meetings(series)
    action = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Write the protocol", owner_subcommittee=outreach,
        report_back_meeting=second,
    )  # fmt: skip
    due = second.local_start.date()
    zone = second.zone
    from datetime import datetime, time

    seven = datetime.combine(due - timedelta(days=7), time(8), tzinfo=zone)
    one = datetime.combine(due - timedelta(days=1), time(8), tzinfo=zone)
    after = datetime.combine(due + timedelta(days=1), time(8), tzinfo=zone)
    for when in (seven, one):
        _schedule_at(when - timedelta(hours=3))
        _schedule_at(when - timedelta(hours=2))
        _sweep_at(when + timedelta(minutes=1))
        _sweep_at(when + timedelta(minutes=2))
    ours = _ours()
    assert [m.to for m in ours] == [[cast.liaison_b.email]] * 2  # the chair, Bea, once each
    assert "due in a week" in ours[0].subject and "tomorrow" in ours[1].subject
    assert reverse("meetings:action_detail", args=[cast.taskforce.slug, action.pk]) in ours[0].body
    mail.outbox.clear()
    # The meeting has been held with no update: the chair hears of it (the subcommittee escalates to its chair).
    _schedule_at(after + timedelta(hours=1))
    _schedule_at(after + timedelta(hours=2))
    assert Notification.objects.filter(kind=actions.OVERDUE).count() == 1
    _sweep_at(after + timedelta(hours=3))
    _sweep_at(after + timedelta(hours=4))
    assert [m.subject for m in _ours()] == ["Overdue report-back: Write the protocol"]


def test_an_overdue_personal_action_escalates_to_the_coordinators(cast, series):
    _first, second, _third = _meetings(series)
    actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Mine", owner_person=cast.liaison_a,
        report_back_on=second.local_start.date(),
    )  # fmt: skip
    after = second.starts_at + timedelta(days=1, hours=12)
    _schedule_at(after)
    rows = Notification.objects.filter(kind=actions.OVERDUE)
    assert {row.recipient for row in rows} == {cast.coordinator}


def test_a_reminder_is_dropped_once_the_update_is_in(cast, action, meeting):
    due = meeting.local_start.date()
    from datetime import datetime, time

    one = datetime.combine(due - timedelta(days=1), time(8), tzinfo=meeting.zone)
    _schedule_at(one - timedelta(hours=2))
    assert Notification.objects.filter(kind=actions.DUE_IN_1).count() == 1
    actions.report_back_submit(action=action, actor=cast.member_b, status="on_track", progress="Done early")
    _sweep_at(one + timedelta(minutes=1))
    assert Notification.objects.get(kind=actions.DUE_IN_1).cancelled_at is not None


def test_the_monday_digest_lists_what_each_person_owes_once_a_week(cast, action, meeting):
    from datetime import datetime, time

    local = meeting.local_start
    monday = local.date() - timedelta(days=local.weekday() + 7)
    at = datetime.combine(monday, time(8), tzinfo=meeting.zone)
    _schedule_at(at - timedelta(hours=1))
    assert not Notification.objects.filter(kind=actions.DIGEST).exists()  # not before 08:00
    _schedule_at(at + timedelta(minutes=5))
    _schedule_at(at + timedelta(hours=1, minutes=5))
    rows = Notification.objects.filter(kind=actions.DIGEST)
    assert [row.recipient for row in rows] == [cast.liaison_b]  # the chair answers for the subcommittee
    _sweep_at(at + timedelta(hours=2))
    digests = [m for m in mail.outbox if m.extra_headers.get("X-Taskforce-Kind") == actions.DIGEST]
    assert len(digests) == 1 and "Draft the school outreach letter" in digests[0].body


# --- views --------------------------------------------------------------------------------------------------


def _url(name, cast, *args):
    return reverse(f"meetings:{name}", args=[cast.taskforce.slug, *args])


def test_the_coordinator_creates_and_edits_an_action_from_the_page(cast, client_for, goal, outreach, series):
    second = _meetings(series)[1]
    client = client_for(cast.coordinator)
    response = client.get(_url("action_create", cast) + f"?goal={goal.pk}")
    assert response.status_code == 200
    response = client.post(
        _url("action_create", cast),
        {"title": "Print the flyers", "owner_subcommittee": outreach.pk, "goal": goal.pk,
         "report_back_meeting": second.pk},
    )  # fmt: skip
    action = ActionItem.objects.get(title="Print the flyers")
    assert response.status_code == 302 and action.goal == goal and action.report_back_meeting == second
    response = client.post(
        _url("action_edit", cast, action.pk),
        {"title": "Print 500 flyers", "owner_membership": cast.agency_a.pk, "report_back_on": "2030-01-02"},
    )
    action.refresh_from_db()
    assert action.title == "Print 500 flyers" and action.owner_membership == cast.agency_a
    assert action.report_back_meeting is None and str(action.report_back_on) == "2030-01-02"
    assert client.get(_url("actions", cast)).status_code == 200


def test_a_subcommittee_member_reports_back_from_the_page(cast, client_for, action, meeting):
    client = client_for(cast.member_b)
    page = client.get(_url("action_detail", cast, action.pk))
    assert page.status_code == 200 and b"Your update" in page.content and b"Record the outcome" not in page.content
    response = client.post(
        _url("action_report", cast, action.pk),
        {"report-status": "on_track", "report-progress": "Letter drafted", "report-blockers": ""},
    )
    assert response.status_code == 302
    assert _report_items(meeting).get().description.find("Letter drafted") > 0


def test_a_non_member_may_see_but_not_report_and_the_outsider_sees_nothing(cast, client_for, action):
    larry = client_for(cast.liaison_a)
    page = larry.get(_url("action_detail", cast, action.pk))
    assert page.status_code == 200 and b"Your update" not in page.content
    response = larry.post(_url("action_report", cast, action.pk), {"report-status": "on_track", "report-progress": "x"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="access.forbidden", actor=cast.liaison_a).exists()
    assert not ReportBack.objects.exists()
    oscar = client_for(cast.outsider)
    assert oscar.get(_url("action_detail", cast, action.pk)).status_code == 404
    assert oscar.post(_url("action_report", cast, action.pk), {}).status_code == 404


def test_only_managers_record_outcomes(cast, client_for, action):
    data = {"outcome-outcome": "done"}
    assert client_for(cast.member_b).post(_url("action_outcome", cast, action.pk), data).status_code == 403
    response = client_for(cast.facilitator).post(_url("action_outcome", cast, action.pk), data)
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE


def test_the_overdue_board_page(cast, client_for, action):
    response = client_for(cast.member_b).get(_url("overdue_board", cast))
    assert response.status_code == 200 and b"Outreach" in response.content


def test_the_live_view_offers_the_outcome_on_a_report_back_item(cast, client_for, action, meeting):
    report = actions.report_back_submit(action=action, actor=cast.member_b, status="blocked", progress="No venue")
    with time_machine.travel(meeting.starts_at, tick=False):
        services.meeting_start(meeting=meeting, actor=cast.facilitator)
        services.meeting_goto(meeting=meeting, actor=cast.facilitator, item=report.agenda_item)
        client = client_for(cast.facilitator)
        page = client.get(reverse("meetings:run", args=[cast.taskforce.slug, meeting.pk]))
        assert b"No venue" in page.content and b"Record the outcome" in page.content
        response = client.post(
            _url("action_outcome", cast, action.pk),
            {"outcome-outcome": "drop", "outcome-reason": "Merged into another task", "back": "run",
             "meeting": meeting.pk},
        )  # fmt: skip
    assert response["Location"] == reverse("meetings:run", args=[cast.taskforce.slug, meeting.pk])
    action.refresh_from_db()
    assert action.status == ActionStatus.DROPPED


def test_an_action_recorded_in_the_meeting_can_name_a_goal_and_a_report_back_date(cast, client_for, goal, series):
    first, second, _third = _meetings(series)
    response = client_for(cast.facilitator).post(
        reverse("meetings:action_item_create", args=[cast.taskforce.slug, first.pk]),
        {"action-title": "Brief the judges", "action-owner_membership": cast.agency_a.pk, "action-goal": goal.pk,
         "action-report_back_on": (first.local_start.date() + timedelta(days=1)).isoformat()},
    )  # fmt: skip
    assert response.status_code == 302
    action = ActionItem.objects.get(title="Brief the judges")
    assert action.meeting == first and action.goal == goal
    assert actions.target_meeting(action) == second


def test_an_update_may_carry_an_attachment_seen_by_the_task_force_only(cast, client_for, action, meeting):
    from django.core.files.uploadedfile import SimpleUploadedFile

    mia = client_for(cast.member_b)
    upload = SimpleUploadedFile("survey.csv", b"shelter,answered\nNorth,yes\n", content_type="text/csv")
    data = {"report-status": "on_track", "report-progress": "See the table", "report-attachment": upload}
    assert mia.post(_url("action_report", cast, action.pk), data).status_code == 302
    report = ReportBack.objects.get(action_item=action)
    assert report.attachment_name == "survey.csv" and report.attachment_size > 0
    assert "Attachment: survey.csv" in report.agenda_item.description
    url = _url("report_back_attachment", cast, action.pk, report.pk)
    response = client_for(cast.liaison_a).get(url)
    assert response.status_code == 200 and b"North,yes" in b"".join(response.streaming_content)
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert client_for(cast.outsider).get(url).status_code == 404

    disguised = SimpleUploadedFile("notes.txt", b"%PDF-1.7 not text", content_type="text/plain")
    data = {"report-status": "on_track", "report-progress": "Again", "report-attachment": disguised}
    mia.post(_url("action_report", cast, action.pk), data)
    report.refresh_from_db()
    assert report.attachment_name == "survey.csv" and report.progress == "See the table"  # rejected, nothing saved


def test_the_list_filters_by_goal_for_the_action_plan(cast, client_for, action, goal):
    actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Other", owner_person=cast.member_b
    )
    page = client_for(cast.member_b).get(_url("actions", cast) + f"?goal={goal.pk}")
    assert b"Draft the school outreach letter" in page.content and b">Other<" not in page.content
