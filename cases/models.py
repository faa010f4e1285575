"""Confidential cases, who may see them (grants, releases, requests), their history and their reviews.

Visibility is decided by guardian rows on Case (the direct foreign-key tables below), and those rows are
derived from CaseGrant and the lead agency by `services.case_sync_permissions`: never assigned by hand.
"""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from cases.fields import EncryptedTextField
from members.models import Agency, Membership, Sector
from taskforce.models import TaskForce

# Agencies whose records about a survivor are privileged (VAWA / VOCA / FVPSA-style confidentiality):
# what they hold may reach another agency only under the survivor's written release naming that agency.
VICTIM_SERVICE_SECTORS: frozenset[str] = frozenset(
    {
        Sector.NGO,
        Sector.SURVIVORS,
        Sector.MENTAL_HEALTH,
        Sector.HEALTH_CARE,
        Sector.HOMELESS_ADVOCATES,
        Sector.LGBT_ADVOCATES,
        Sector.FAITH_BASED,
    }
)


def is_victim_service(agency: Agency) -> bool:
    return agency.sector in VICTIM_SERVICE_SECTORS


class AgeBand(models.TextChoices):
    UNDER_12 = "under_12", _("Under 12")
    AGE_12_14 = "12_14", _("12–14")
    AGE_15_17 = "15_17", _("15–17")
    AGE_18_24 = "18_24", _("18–24 (trafficked as a minor)")
    UNKNOWN = "unknown", _("Unknown")


class TraffickingType(models.TextChoices):
    SEX = "sex", _("Sex trafficking")
    LABOR = "labor", _("Labor trafficking")
    BOTH = "both", _("Sex and labor trafficking")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACTIVE = "active", _("Active review")
    MONITORING = "monitoring", _("Monitoring")
    CLOSED = "closed", _("Closed")


class Confidentiality(models.TextChoices):
    STANDARD = "standard", _("Standard")
    RESTRICTED = "restricted", _("Restricted")
    SEALED = "sealed", _("Sealed — named people only")


class ReferralSource(models.TextChoices):
    HOTLINE = "hotline", _("Hotline tip")
    LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
    CHILD_WELFARE = "child_welfare", _("Child welfare")
    SCHOOL = "school", _("School")
    HEALTH = "health", _("Health care")
    NGO = "ngo", _("Service provider")
    SELF = "self", _("Self-referral")
    FAMILY = "family", _("Family or friend")
    OTHER = "other", _("Other")


class RiskFlag(models.TextChoices):
    RUNAWAY = "runaway", _("Repeated runaway / missing")
    ONLINE = "online", _("Online exploitation")
    GANG = "gang", _("Gang involvement")
    FAMILIAL = "familial", _("Familial trafficking")
    SUBSTANCE = "substance", _("Substance use")
    PREGNANCY = "pregnancy", _("Pregnancy")
    SELF_HARM = "self_harm", _("Self-harm risk")
    IMMIGRATION = "immigration", _("Immigration status")
    RECRUITMENT = "recruitment", _("Recruiting others")


class Level(models.TextChoices):
    """What a grant lets its holder do; each level includes the ones before it."""

    SUMMARY = "summary", _("View summary")
    FULL = "full", _("View full case")
    CONTRIBUTE = "contribute", _("Contribute (notes, review follow-ups)")
    MANAGE = "manage", _("Manage sharing")


# The guardian codenames each level holds. "view_case" is summary-level visibility: it is the permission
# permissions.visible_to / get_for_user filter on, so a case with no row for you does not exist for you.
VIEW = "cases.view_case"
VIEW_FULL = "cases.view_case_full"
CONTRIBUTE = "cases.contribute_case"
MANAGE = "cases.manage_case_sharing"
CHANGE = "cases.change_case"
LEVEL_PERMS: dict[str, tuple[str, ...]] = {
    Level.SUMMARY: ("view_case",),
    Level.FULL: ("view_case", "view_case_full"),
    Level.CONTRIBUTE: ("view_case", "view_case_full", "contribute_case"),
    Level.MANAGE: ("view_case", "view_case_full", "contribute_case", "manage_case_sharing", "change_case"),
}
LEVEL_ORDER = [Level.SUMMARY, Level.FULL, Level.CONTRIBUTE, Level.MANAGE]
# Levels that show identifying details (the narrative, the involved agencies' contacts).
IDENTIFYING_LEVELS = {Level.FULL, Level.CONTRIBUTE, Level.MANAGE}


class Case(models.Model):
    """What case review needs to know, and no more: never a full name."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="cases")
    lead = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="led_cases", verbose_name=_("lead agency")
    )
    number = models.CharField(_("case number"), max_length=40)
    label = models.CharField(
        _("pseudonymous label"), max_length=40, help_text=_("Initials or an alias. Never a full name.")
    )
    age_band = models.CharField(_("age band"), max_length=16, choices=AgeBand.choices, default=AgeBand.UNKNOWN)
    county = models.CharField(_("county"), max_length=100, blank=True)
    referral_source = models.CharField(
        _("referral source"), max_length=32, choices=ReferralSource.choices, default=ReferralSource.OTHER
    )
    trafficking_type = models.CharField(_("trafficking type"), max_length=8, choices=TraffickingType.choices)
    status = models.CharField(_("status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    confidentiality = models.CharField(
        _("confidentiality"), max_length=16, choices=Confidentiality.choices, default=Confidentiality.STANDARD
    )
    risk_flags = models.JSONField(_("risk flags"), default=list, blank=True)
    summary = EncryptedTextField(_("summary"), blank=True)
    service_needs = EncryptedTextField(_("service needs"), blank=True)
    version = models.PositiveIntegerField(default=1)  # optimistic locking (taskforce.services.StaleEdit)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        permissions = [
            ("view_case_full", "Can view the full case, identifying details included"),
            ("contribute_case", "Can add notes and review follow-ups"),
            ("manage_case_sharing", "Can share the case and record releases"),
        ]
        constraints = [
            # Per lead agency: each agency numbers its own cases, and a clash never reveals another's case.
            models.UniqueConstraint(fields=["lead", "number"], name="case_number_once_per_lead"),
            models.CheckConstraint(condition=~Q(label=""), name="case_has_label"),
        ]
        indexes = [
            models.Index(fields=["taskforce", "status"], name="case_tf_status_idx"),
            # Which of the ids a person's grants name are in this task force: read from the index alone, not the
            # case rows (a coordinator's 2,199 visible cases at bench size L: the dashboard's count 17 -> 7 ms).
            models.Index(fields=["id"], include=["taskforce"], name="case_id_taskforce_idx"),
        ]

    def __str__(self) -> str:
        # Audit rows and notifications carry this: the number only, nothing about the child.
        return f"Case {self.number}"

    @property
    def is_sealed(self) -> bool:
        return self.confidentiality == Confidentiality.SEALED

    @property
    def requires_release(self) -> bool:
        return is_victim_service(self.lead.agency)

    def risk_flag_labels(self) -> list[str]:
        labels = dict(RiskFlag.choices)
        return [str(labels.get(flag, flag)) for flag in self.risk_flags]


class CaseUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseAgency(models.Model):
    """An agency involved in the case, and its contact person for it. Identifying: full access only."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="involved")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", verbose_name=_("agency"))
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact person"),
    )
    role = models.CharField(_("role in the case"), max_length=200, blank=True)

    class Meta:
        ordering = ["membership__agency__name"]
        constraints = [models.UniqueConstraint(fields=["case", "membership"], name="case_agency_once")]

    def __str__(self) -> str:
        return f"{self.membership.agency} on {self.case}"


class Release(models.Model):
    """A release of information the survivor (or guardian) signed: which agencies, what, until when."""

    class SignedBy(models.TextChoices):
        SURVIVOR = "survivor", _("Survivor")
        GUARDIAN = "guardian", _("Parent or legal guardian")
        COURT = "court", _("Court order")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="releases")
    agencies = models.ManyToManyField(Membership, related_name="+", verbose_name=_("may be shared with"))
    signed_by = models.CharField(_("signed by"), max_length=16, choices=SignedBy.choices)
    scope = models.CharField(_("scope"), max_length=300, help_text=_("What may be shared, as the release words it."))
    signed_on = models.DateField(_("date signed"))
    expires_on = models.DateField(_("expires on"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField(max_length=300, blank=True)
    lapsed_at = models.DateTimeField(null=True, blank=True)  # when the hourly sweep saw it expire

    class Meta:
        ordering = ["-signed_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_on__gte=models.F("signed_on")), name="release_expires_after")
        ]

    def __str__(self) -> str:
        return f"Release of {self.signed_on:%Y-%m-%d} for {self.case}"

    def is_active(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.revoked_at is None and self.signed_on <= today <= self.expires_on

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "active" if self.is_active() else "expired"


class CaseGrant(models.Model):
    """One share of a case with an agency (its group) or one named person. The source of truth for access."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="grants")
    membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("agency")
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    level = models.CharField(_("access"), max_length=16, choices=Level.choices)
    justification = models.CharField(_("justification"), max_length=500)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    # Deleting a release (or its case) deletes the grants it justified: access never outlives its basis.
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField(max_length=300, blank=True)
    lapsed_at = models.DateTimeField(null=True, blank=True)  # when the hourly sweep saw it expire

    class Meta:
        ordering = ["-granted_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(membership__isnull=False) & Q(person__isnull=True))
                | (Q(membership__isnull=True) & Q(person__isnull=False)),
                name="grant_has_one_grantee",
            ),
            models.CheckConstraint(condition=~Q(justification=""), name="grant_is_justified"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="grant_expiry_idx", condition=Q(revoked_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.get_level_display()} of {self.case} for {self.grantee_label}"

    @property
    def grantee_label(self) -> str:
        if self.person_id:
            return self.person.full_name
        return self.membership.agency.name

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None or (self.expires_at is not None and self.expires_at <= now):
            return False
        return self.release_id is None or self.release.is_active(timezone.localdate(now))

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        if self.release_id and not self.release.is_active():
            return "release_ended"
        return "active"


class AccessRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the lead agency")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="access_requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(_("access needed"), max_length=16, choices=Level.choices, default=Level.FULL)
    justification = models.CharField(_("why you need it"), max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)
    grant = models.ForeignKey(CaseGrant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "requester"], condition=Q(status="pending"), name="one_pending_request_per_person"
            ),
            models.CheckConstraint(condition=~Q(justification=""), name="request_is_justified"),
        ]

    def __str__(self) -> str:
        return f"Access request {self.pk} on {self.case}"


class CaseChange(models.Model):
    """One saved change to a case: who, when, which fields; the values encrypted, shown to full access only."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=32, default="updated")
    fields = models.JSONField(default=list)
    values = EncryptedTextField(blank=True)  # JSON {field: [old, new]}

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.case} at {self.at:%Y-%m-%d %H:%M}"


class Recommendation(models.Model):
    """The task force's editable pick-list of recommendations for case reviews."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="case_recommendations")
    text = models.CharField(_("recommendation"), max_length=200)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["text"]
        constraints = [models.UniqueConstraint(fields=["taskforce", "text"], name="recommendation_once")]

    def __str__(self) -> str:
        return self.text


DEFAULT_RECOMMENDATIONS = [
    "Forensic interview at the Child Advocacy Center",
    "Medical examination",
    "Safety plan update",
    "Placement review",
    "Mental health referral",
    "Substance use assessment",
    "Victim advocate assigned",
    "Education plan / school liaison",
    "Legal services / immigration relief referral",
    "Law enforcement follow-up",
]


class CaseReview(models.Model):
    """The record of one case's review at one meeting. Restricted minutes only."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reviews")
    # The meeting and case-review agenda item it was held under (cases may import meetings; not the reverse).
    meeting = models.ForeignKey("meetings.Meeting", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agenda_item = models.ForeignKey(
        "meetings.AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    held_on = models.DateField(_("reviewed on"), default=timezone.localdate)
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    discussion = EncryptedTextField(_("discussion summary"), blank=True)
    service_needs = EncryptedTextField(_("service needs"), blank=True)
    recommendations = models.ManyToManyField(Recommendation, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-held_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "meeting"], condition=Q(meeting__isnull=False), name="review_once_per_meeting"
            )
        ]

    def __str__(self) -> str:
        return f"Review of {self.case} on {self.held_on:%Y-%m-%d}"


class FollowUp(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        DROPPED = "dropped", _("Dropped")

    review = models.ForeignKey(CaseReview, on_delete=models.CASCADE, related_name="follow_ups")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follow_ups")
    task = EncryptedTextField(_("follow-up"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField(_("due"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["case", "status", "due_on"], name="followup_due_idx")]

    def __str__(self) -> str:
        return f"Follow-up {self.pk} on {self.case}"

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_on < timezone.localdate()
