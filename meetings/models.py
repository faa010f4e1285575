"""Series, meetings, agenda items, attendance, action items, minutes and feedback.

Datetimes are stored in UTC next to the meeting's time-zone name; wall-clock times are computed in that zone.
"""

from __future__ import annotations

import hashlib
import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, StringAgg, Subquery, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from members.models import Goal, Membership, Subcommittee
from taskforce.models import TIME_ZONE_CHOICES, TaskForce


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    BIWEEKLY = "biweekly", _("Every two weeks")
    MONTHLY_DATE = "monthly_date", _("Monthly, on the same date")
    MONTHLY_WEEKDAY = "monthly_weekday", _("Monthly, on the same weekday (e.g. 2nd Tuesday)")
    QUARTERLY = "quarterly", _("Quarterly")


# Frequencies at least as often as monthly: what a new task force should keep to (fact sheet).
AT_LEAST_MONTHLY = {Frequency.WEEKLY, Frequency.BIWEEKLY, Frequency.MONTHLY_DATE, Frequency.MONTHLY_WEEKDAY}


class Series(models.Model):
    """A recurring meeting. Its occurrences are Meeting rows; the series keeps the agenda backlog."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="meeting_series")
    title = models.CharField(_("title"), max_length=200)
    frequency = models.CharField(_("repeats"), max_length=20, choices=Frequency.choices, default=Frequency.MONTHLY_DATE)
    starts_on = models.DateField(_("first meeting on"))
    start_time = models.TimeField(_("starts at"))
    end_time = models.TimeField(_("ends at"))
    time_zone = models.CharField(_("time zone"), max_length=64, choices=TIME_ZONE_CHOICES)
    ends_on = models.DateField(_("last meeting on or before"), null=True, blank=True)
    count = models.PositiveSmallIntegerField(_("number of meetings"), null=True, blank=True)
    location = models.CharField(_("place"), max_length=300, blank=True)
    video_url = models.URLField(_("video link"), blank=True)
    call_opens_days = models.PositiveSmallIntegerField(_("call for agenda items opens (days before)"), default=14)
    call_closes_days = models.PositiveSmallIntegerField(_("call for agenda items closes (days before)"), default=3)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "series"
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__isnull=False) | Q(count__isnull=False), name="series_has_end"),
            models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")), name="series_ends_after_start"),
            models.CheckConstraint(
                condition=Q(call_opens_days__gt=models.F("call_closes_days")), name="series_call_window"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rule(self) -> str:
        from meetings.recurrence import describe

        return describe(self.frequency, self.starts_on)

    @property
    def is_at_least_monthly(self) -> bool:
        return self.frequency in AT_LEAST_MONTHLY


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")


class Meeting(models.Model):
    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="meetings")
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings")
    # The date the series rule gave this occurrence; kept when the meeting is moved.
    occurrence_date = models.DateField(null=True, blank=True)
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    time_zone = models.CharField(_("time zone"), max_length=64, choices=TIME_ZONE_CHOICES)
    location = models.CharField(_("place"), max_length=300, blank=True)
    video_url = models.URLField(_("video link"), blank=True)
    status = models.CharField(max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED)
    cancel_reason = models.CharField(max_length=300, blank=True)
    moved_from = models.DateTimeField(null=True, blank=True)
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note_taker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_agencies = models.ManyToManyField(Membership, blank=True, related_name="+")
    invited_people = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    call_opens_days = models.PositiveSmallIntegerField(default=14)
    call_closes_days = models.PositiveSmallIntegerField(default=3)
    agenda_version = models.PositiveIntegerField(default=0)  # how many times the agenda was circulated
    agenda_circulated_at = models.DateTimeField(null=True, blank=True)
    # Running it live.
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    current_item = models.ForeignKey("AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    current_item_started_at = models.DateTimeField(null=True, blank=True)
    live_version = models.PositiveIntegerField(default=0)  # bumps on every change followers should see
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="meeting_ends_after_start")
        ]
        indexes = [models.Index(fields=["taskforce", "starts_at"], name="meeting_tf_start_idx")]

    def __str__(self) -> str:
        return f"{self.title} — {self.local_start:%b %-d, %Y}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def local_start(self) -> datetime:
        return self.starts_at.astimezone(self.zone)

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(self.zone)

    @property
    def length_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def is_cancelled(self) -> bool:
        return self.status == MeetingStatus.CANCELLED

    @property
    def call_opens_at(self) -> datetime:
        return self.starts_at - timedelta(days=self.call_opens_days)

    @property
    def call_closes_at(self) -> datetime:
        return self.starts_at - timedelta(days=self.call_closes_days)

    def call_state(self, now: datetime | None = None) -> str:
        now = now or timezone.now()
        if self.is_cancelled or self.started_at:
            return "closed"
        if now < self.call_opens_at:
            return "not_open"
        if now < self.call_closes_at:
            return "open"
        return "closed"

    @property
    def is_live(self) -> bool:
        return bool(self.started_at and not self.ended_at)


class MeetingGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Meeting, on_delete=models.CASCADE)


class MeetingUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Meeting, on_delete=models.CASCADE)


class SeriesGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Series, on_delete=models.CASCADE)


class SeriesUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Series, on_delete=models.CASCADE)


class ItemType(models.TextChoices):
    INTRODUCTIONS = "introductions", _("Introductions")
    CONFIDENTIALITY = "confidentiality_reminder", _("Confidentiality reminder")
    TRAINING = "training", _("Training segment")
    INFORMATION = "information_sharing", _("Information sharing")
    CASE_REVIEW = "case_review", _("Case review")
    SUBCOMMITTEE = "subcommittee_report", _("Subcommittee report-back")
    MOU_OBJECTIONS = "mou_objections", _("MOU objections")
    MINUTES_APPROVAL = "minutes_approval", _("Approval of previous minutes")
    FEEDBACK = "feedback", _("Feedback")
    OTHER = "other", _("Other")


class Tier(models.TextChoices):
    MEMBERS = "members", _("All members")
    RESTRICTED = "restricted", _("Restricted")


class ItemStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")  # submitted in the call, waiting for the facilitator
    ACCEPTED = "accepted", _("On the agenda")
    BACKLOG = "backlog", _("In the backlog")
    DECLINED = "declined", _("Declined")


class AgendaItemQuerySet(models.QuerySet):
    def with_viewers(self) -> AgendaItemQuerySet:
        """Each item's restricted viewers (their ids) read in the same query: a list shows many items.

        Not prefetch_related("restricted_viewers"): a second query, for whole user rows where the access
        check (meetings.access.can_see_item) needs only the ids.
        """
        named = (
            AgendaItem.restricted_viewers.through.objects.filter(agendaitem_id=OuterRef("pk"))
            .values("agendaitem_id")
            .annotate(ids=StringAgg(Cast("user_id", models.CharField()), Value(",")))
            .values("ids")
        )
        return self.annotate(restricted_viewer_list=Subquery(named))


class AgendaItem(models.Model):
    """A submission, an agenda entry or a backlog entry: one row moving through those states."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="agenda_items")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.CASCADE, related_name="items")
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="items")
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.PROPOSED)
    position = models.PositiveIntegerField(default=0)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    item_type = models.CharField(_("type"), max_length=32, choices=ItemType.choices, default=ItemType.OTHER)
    tier = models.CharField(_("confidentiality"), max_length=16, choices=Tier.choices, default=Tier.MEMBERS)
    presenter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    planned_minutes = models.PositiveSmallIntegerField(_("minutes needed"), default=10)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # People besides the facilitators who may see a restricted item (the presenter and submitter always may).
    restricted_viewers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    decline_reason = models.CharField(max_length=500, blank=True)
    source_type = models.CharField(max_length=64, blank=True)  # what proposed it through taskforce.agenda
    source_id = models.CharField(max_length=64, blank=True)
    changed_in_version = models.PositiveIntegerField(default=0)  # agenda circulation that carries the change
    revision = models.PositiveIntegerField(default=1)  # bumps on every edit: a stale edit is refused, not lost
    actual_seconds = models.PositiveIntegerField(default=0)
    notes = models.TextField(_("notes"), blank=True)
    decisions = models.TextField(_("decisions"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AgendaItemQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_minutes__gte=1) & Q(planned_minutes__lte=480), name="item_minutes_range"
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(meeting__isnull=False), name="accepted_item_has_meeting"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_restricted(self) -> bool:
        return self.tier == Tier.RESTRICTED

    @property
    def planned_seconds(self) -> int:
        return self.planned_minutes * 60

    @cached_property
    def restricted_viewer_ids(self) -> set[int]:
        """The people named on a restricted item: read with the item when it came through with_viewers()."""
        if hasattr(self, "restricted_viewer_list"):
            return {int(pk) for pk in (self.restricted_viewer_list or "").split(",") if pk}
        return set(self.restricted_viewers.values_list("pk", flat=True))


class AttendanceStatus(models.TextChoices):
    INVITED = "invited", _("Not yet marked")
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")
    GUEST = "guest", _("Guest")


# The statuses of people who were in the room (Attendance.attended).
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.GUEST)


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    role = models.CharField(_("role"), max_length=200, blank=True)
    organization = models.CharField(_("organization"), max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=AttendanceStatus.choices, default=AttendanceStatus.INVITED)
    confidentiality_acknowledged_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "person"], name="attendance_once", condition=Q(person__isnull=False)
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.meeting_id}"

    @property
    def attended(self) -> bool:
        return self.status in ATTENDED


class ActionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


class ActionItem(models.Model):
    """A task agreed in a meeting, owned by a person or an agency, with a report-back meeting."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="action_items")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items"
    )
    title = models.CharField(_("action"), max_length=300)
    owner_person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("owner agency")
    )
    owner_subcommittee = models.ForeignKey(
        Subcommittee, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("subcommittee")
    )
    due_on = models.DateField(_("due"), null=True, blank=True)
    report_back_meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="report_backs"
    )
    status = models.CharField(max_length=16, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    goal = models.ForeignKey(
        Goal, null=True, blank=True, on_delete=models.SET_NULL, related_name="action_items", verbose_name=_("goal")
    )
    # Report back at a meeting, or on a date (then at the first meeting on or after it).
    report_back_on = models.DateField(_("report back on"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner_person__isnull=False)
                | Q(owner_membership__isnull=False)
                | Q(owner_subcommittee__isnull=False),
                name="action_has_owner",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def owner_label(self) -> str:
        if self.owner_person_id:
            return self.owner_person.full_name
        if self.owner_subcommittee_id:
            return f"{self.owner_subcommittee.name} (subcommittee)"
        return self.owner_membership.agency.name if self.owner_membership_id else ""

    @property
    def is_restricted(self) -> bool:
        return bool(self.agenda_item_id and self.agenda_item.is_restricted)

    @property
    def report_back_due(self) -> date | None:
        """The day the report-back is due: the report-back meeting's local date, else the chosen date."""
        if self.report_back_meeting_id:
            return self.report_back_meeting.local_start.date()
        return self.report_back_on

    @property
    def is_open(self) -> bool:
        return self.status == ActionStatus.OPEN


class AgendaCirculation(models.Model):
    """One sending of the agenda; the notification for each invitee points at this row."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="circulations")
    version = models.PositiveIntegerField()
    circulated_at = models.DateTimeField(default=timezone.now)
    circulated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["meeting", "version"], name="circulation_once")]

    def __str__(self) -> str:
        return f"Agenda v{self.version} of {self.meeting}"


class MinutesStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CIRCULATED = "circulated", _("Circulated for comment")
    APPROVED = "approved", _("Approved")


class Minutes(models.Model):
    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="minutes")
    status = models.CharField(max_length=16, choices=MinutesStatus.choices, default=MinutesStatus.DRAFT)
    summary = models.TextField(_("summary"), blank=True)
    restricted_summary = models.TextField(_("restricted summary"), blank=True)
    version = models.PositiveIntegerField(default=1)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField(default=timezone.now)
    circulated_at = models.DateTimeField(null=True, blank=True)
    comments_until = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    approved_at_meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="approved_minutes"
    )
    # Frozen at approval: the canonical record of each edition and its SHA-256.
    sealed_general = models.JSONField(null=True, blank=True)
    sealed_restricted = models.JSONField(null=True, blank=True)
    seal_general = models.CharField(max_length=64, blank=True)
    seal_restricted = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "minutes"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="approved") | (Q(approved_at__isnull=False) & ~Q(seal_general="")),
                name="approved_minutes_are_sealed",
            )
        ]

    def __str__(self) -> str:
        return f"Minutes of {self.meeting}"

    @property
    def is_locked(self) -> bool:
        return self.status == MinutesStatus.APPROVED

    @staticmethod
    def digest(canonical: bytes) -> str:
        return hashlib.sha256(canonical).hexdigest()


class MinutesComment(models.Model):
    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Comment on {self.minutes}"


class Feedback(models.Model):
    """One answer to the after-meeting form. `respondent` is empty when the person chose anonymity."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="feedback")
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    usefulness = models.PositiveSmallIntegerField(_("how useful was this meeting?"))
    started_on_time = models.BooleanField(_("it started on time"))
    ended_on_time = models.BooleanField(_("it ended on time"))
    what_to_change = models.TextField(_("what should we change?"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(usefulness__gte=1) & Q(usefulness__lte=5), name="feedback_scale")
        ]

    def __str__(self) -> str:
        return f"Feedback on {self.meeting_id}"


class FeedbackReceipt(models.Model):
    """That a person answered, kept apart from the answer so an anonymous answer stays anonymous."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["meeting", "person"], name="feedback_once")]

    def __str__(self) -> str:
        return f"Feedback receipt {self.meeting_id}/{self.person_id}"


class CalendarToken(models.Model):
    """A private calendar feed URL. Only the SHA-256 of the token is stored; revoking deletes the row."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class ReportStatus(models.TextChoices):
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BLOCKED = "blocked", _("Blocked")
    COMPLETE = "complete", _("Complete")


class Outcome(models.TextChoices):
    DONE = "done", _("Done")
    CONTINUE = "continue", _("Continue, report back again")
    DROP = "drop", _("Drop")


class ReportBack(models.Model):
    """One report-back cycle of an action item: the owner's written update, its agenda item, the outcome.

    An action item has at most one open cycle (no outcome yet); "continue" closes it and the next one opens
    when the owner reports again or the new report-back comes due.
    """

    action_item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="report_backs")
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    due_on = models.DateField(_("due"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ReportStatus.choices, blank=True)
    progress = models.TextField(_("progress"), blank=True)
    blockers = models.TextField(_("blockers"), blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    agenda_item = models.OneToOneField(
        AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="report_back"
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    outcome_reason = models.TextField(_("reason"), blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # An optional attachment, stored like library files: under a random name in PRIVATE_MEDIA_ROOT.
    attachment_name = models.CharField(max_length=200, blank=True)  # the uploader's name, cleaned
    attachment_storage = models.CharField(max_length=80, blank=True)
    attachment_type = models.CharField(max_length=120, blank=True)
    attachment_size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["action_item"], condition=Q(outcome=""), name="one_open_report_back"),
            models.CheckConstraint(
                condition=~Q(outcome="drop") | ~Q(outcome_reason=""), name="dropped_report_back_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"Report-back on {self.action_item}"

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    @property
    def on_time(self) -> bool:
        return bool(self.submitted_at and self.due_on and self.submitted_at.date() <= self.due_on)
