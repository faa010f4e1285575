"""The charter, and the shared records every app writes: audit events and notifications."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

TIME_ZONE_CHOICES = [
    (tz, tz) for tz in sorted(zoneinfo.available_timezones()) if tz.startswith(("America/", "Pacific/", "US/", "UTC"))
]


class Cadence(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    BIWEEKLY = "biweekly", _("Every two weeks")
    MONTHLY = "monthly", _("Monthly")
    BIMONTHLY = "bimonthly", _("Every two months")
    QUARTERLY = "quarterly", _("Quarterly")

    @classmethod
    def at_least_monthly(cls) -> set[str]:
        return {cls.WEEKLY, cls.BIWEEKLY, cls.MONTHLY}


class TaskForce(models.Model):
    """One task force and its charter. Everything else in the product hangs off one of these."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    region = models.CharField(_("region"), max_length=200, blank=True)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=200, blank=True)
    established_on = models.DateField(_("established on"), default=timezone.localdate)
    mission_statement = models.TextField(_("mission statement"), blank=True)
    shared_values = models.TextField(_("shared values"), blank=True)
    charter_adopted_on = models.DateField(_("charter adopted on"), null=True, blank=True)
    meeting_cadence = models.CharField(
        _("intended meeting cadence"), max_length=20, choices=Cadence.choices, default=Cadence.MONTHLY
    )
    time_zone = models.CharField(_("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="America/New_York")
    # Role groups: permissions go to groups, never to individual users (see permissions.py).
    coordinators = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="coordinated_taskforce")
    facilitators = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="facilitated_taskforce")
    charter_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("manage_members", "Can onboard and offboard member agencies and people"),
            ("edit_charter", "Can edit the mission statement, values and cadence"),
            ("manage_work", "Can manage the action plan, subcommittees and training records"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_new(self) -> bool:
        """The fact sheet asks new task forces to meet at least monthly for their first six months."""
        return (timezone.localdate() - self.established_on).days < 183

    @property
    def cadence_warning(self) -> bool:
        return self.is_new and self.meeting_cadence not in Cadence.at_least_monthly()


class CharterRevision(models.Model):
    """An earlier state of the charter, kept every time the coordinator changes it."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="charter_revisions")
    version = models.PositiveIntegerField()
    mission_statement = models.TextField(blank=True)
    shared_values = models.TextField(blank=True)
    meeting_cadence = models.CharField(max_length=20, choices=Cadence.choices)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["taskforce", "version"], name="charter_revision_unique_version")]

    def __str__(self) -> str:
        return f"{self.taskforce} charter v{self.version}"


class AuditEvent(models.Model):
    """Append-only: written by taskforce.audit, never updated or deleted by the application.

    On PostgreSQL a trigger refuses UPDATE, DELETE and (but for a superuser) TRUNCATE of this table
    (migration 0005). So deleting a user or a task force must not touch these rows: the two references are
    DO_NOTHING without a database constraint, and keep the id of what was deleted (actor_label keeps the name).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True)  # survives the user's deletion
    action = models.CharField(max_length=64, db_index=True)
    taskforce = models.ForeignKey(
        TaskForce, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_label}"


class Notification(models.Model):
    """A message due to one person. The row is the truth: Redis only wakes the sweep up.

    The unique key (kind, subject, recipient, due date) makes scheduling idempotent, so nothing is
    sent twice however often a scheduler runs.
    """

    kind = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    due_on = models.DateField()
    due_at = models.DateTimeField()
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id", "recipient", "due_on"], name="notification_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="notification_pending_idx",
                condition=models.Q(sent_at__isnull=True, cancelled_at__isnull=True),
            ),
            # notifications.cancel(subject=...) without a kind: the unique key's index starts with kind.
            models.Index(
                fields=["subject_type", "subject_id"],
                name="notification_subject_idx",
                condition=models.Q(sent_at__isnull=True, cancelled_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}:{self.subject_id} -> {self.recipient_id} @ {self.due_at}"


class TaskForceGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(TaskForce, on_delete=models.CASCADE)


class TaskForceUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(TaskForce, on_delete=models.CASCADE)


class HealthSnapshot(models.Model):
    """A health measure's value in a month, for measures whose history is not in the records themselves
    (whether the charter was adopted, how many agencies had defined roles, action-plan progress)."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="health_snapshots")
    key = models.CharField(max_length=64)
    month = models.DateField()  # the first day of the month
    value = models.FloatField()
    recorded_on = models.DateField()

    class Meta:
        ordering = ["month"]
        constraints = [models.UniqueConstraint(fields=["taskforce", "key", "month"], name="health_snapshot_once")]

    def __str__(self) -> str:
        return f"{self.taskforce} {self.key} {self.month:%Y-%m}: {self.value}"
