"""Demo meetings for the demo task force (run after members' seed_demo): a monthly series with three
past meetings minuted, attended and rated, and the next one taking agenda items."""

from __future__ import annotations

from datetime import time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from meetings import services
from meetings.models import AgendaItem, Attendance, AttendanceStatus, Meeting, Minutes, Series
from members.models import Role, TaskForceRole
from taskforce.models import TaskForce

DEMO_SLUG = "harbor-county-csec-task-force"

NOTES = {
    "introductions": "Everyone introduced themselves with name, role and organization; two new members welcomed.",
    "confidentiality_reminder": "The facilitator reminded the group of the confidentiality agreement.",
    "training": "Ten-minute briefing on recognising labour-trafficking indicators in hotels and motels.",
}


class Command(BaseCommand):
    help = "Seed demo meetings (series, past minutes, feedback, an open call for agenda items)."

    def handle(self, *args, **options) -> None:
        taskforce = TaskForce.objects.filter(slug=DEMO_SLUG).first()
        if taskforce is None:
            self.stdout.write("Run seed_demo first.")
            return
        if Series.objects.filter(taskforce=taskforce).exists():
            self.stdout.write("Demo meetings already present; nothing to do.")
            return
        with (
            override_settings(MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}),
            transaction.atomic(),
        ):
            self._seed(taskforce)
        self.stdout.write(self.style.SUCCESS("Demo meetings seeded."))

    def _seed(self, taskforce: TaskForce) -> None:
        roles = TaskForceRole.objects.filter(taskforce=taskforce).select_related("user")
        facilitator = next((r.user for r in roles if r.role == Role.FACILITATOR), None) or roles[0].user
        people = [r.user for r in roles if r.role in (Role.MEMBER, Role.LIAISON)]
        first = timezone.localdate() - timedelta(days=95)
        series = services.series_create(
            taskforce=taskforce,
            actor=facilitator,
            title="Monthly task force meeting",
            frequency="monthly_weekday",
            starts_on=first,
            start_time=time(10),
            end_time=time(11, 30),
            time_zone=taskforce.time_zone,
            count=10,
            location="Harbor County Building, Room 204",
            video_url="https://meet.example.org/harbor-csec",
            facilitator=facilitator,
            note_taker=people[0] if people else None,
        )
        meetings = list(series.meetings.order_by("starts_at"))
        past = [m for m in meetings if m.ends_at < timezone.now()][-3:]
        for index, meeting in enumerate(past):
            self._hold(meeting, facilitator, people, index)
            if index > 0:
                # The previous minutes were approved as an item of this meeting.
                previous = Minutes.objects.get(meeting=past[index - 1])
                services.minutes_approve(minutes=previous, actor=facilitator, at_meeting=meeting)
            minutes = Minutes.objects.get(meeting=meeting)
            services.minutes_circulate(minutes=minutes, actor=facilitator)
            if index + 1 < len(past):
                # Circulated today, the approval landed on the upcoming agenda; in the demo's past it was
                # on the following meeting's.
                AgendaItem.objects.filter(item_type="minutes_approval", source_id=str(minutes.pk)).update(
                    meeting=past[index + 1], position=3
                )
        upcoming = services.next_meeting(taskforce)
        if upcoming is not None and people:
            for person, title, minutes in (
                (people[1 % len(people)], "Update on the runaway-youth response protocol", 15),
                (people[2 % len(people)], "Hotel outreach: results of the first month", 10),
            ):
                services.item_submit(
                    meeting=upcoming,
                    actor=person,
                    title=title,
                    planned_minutes=minutes,
                    item_type="information_sharing",
                    facilitating=True,
                )

    def _hold(self, meeting: Meeting, facilitator, people, index: int) -> None:
        services.item_add(
            meeting=meeting,
            actor=facilitator,
            title="Subcommittee report-back: victim services",
            item_type="subcommittee_report",
            planned_minutes=15,
        )
        services.meeting_start(meeting=meeting, actor=facilitator)
        for person in people[: 8 + index]:
            row = Attendance.objects.filter(meeting=meeting, person=person).first()
            if row is not None:
                services.attendance_mark(attendance=row, actor=facilitator, status="present", acknowledged=True)
        services.meeting_end(meeting=meeting, actor=facilitator)
        # Backdate the record to the meeting's own time (demo only: services stamp "now").
        Meeting.objects.filter(pk=meeting.pk).update(started_at=meeting.starts_at, ended_at=meeting.ends_at)
        for item in AgendaItem.objects.filter(meeting=meeting):
            item.notes = NOTES.get(item.item_type, "Report received; questions answered.")
            item.actual_seconds = (item.planned_minutes + (3 if item.item_type == "introductions" else 0)) * 60
            item.save(update_fields=["notes", "actual_seconds"])
        if people:
            services.action_item_create(
                meeting=meeting,
                actor=facilitator,
                title="Share the updated referral contact list with all agencies",
                owner_person=people[0],
                due_on=meeting.local_start.date() + timedelta(days=21),
            )
        meeting.refresh_from_db()
        minutes = Minutes.objects.get(meeting=meeting)
        services.minutes_update(
            minutes=minutes,
            actor=facilitator,
            expected_version=minutes.version,
            summary="The task force heard the subcommittee report and agreed next steps.",
            restricted_summary="",
            items={},
        )
        for n, attendance in enumerate(
            Attendance.objects.filter(meeting=meeting, status=AttendanceStatus.PRESENT, person__isnull=False)
        ):
            services.feedback_submit(
                meeting=meeting,
                person=attendance.person,
                usefulness=3 + (n + index) % 3,
                started_on_time=n % 4 != 0,
                ended_on_time=(n + index) % 3 != 0,
                what_to_change="More time for case discussion." if n == 1 else "",
                anonymous=n % 2 == 0,
            )
