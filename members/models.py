"""Agencies, people and how they belong to task forces."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser, BaseUserManager, Group
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from taskforce.models import TaskForce


class Sector(models.TextChoices):
    """The twenty components of a multi-sector response named in the fact sheet."""

    LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
    SOCIAL_SERVICES = "social_services", _("State social service agency")
    PROSECUTION = "prosecution", _("Prosecutors")
    DEFENSE = "defense", _("Defense attorneys")
    JUDICIARY = "judiciary", _("Judges")
    NGO = "ngo", _("Nongovernmental social service and advocacy")
    SURVIVORS = "survivors", _("Victims and survivors")
    CHILD_WELFARE = "child_welfare", _("Child welfare")
    JUVENILE_JUSTICE = "juvenile_justice", _("Juvenile justice")
    HEALTH_CARE = "health_care", _("Health care providers")
    MENTAL_HEALTH = "mental_health", _("Mental health care providers")
    EDUCATION = "education", _("Educators")
    RESEARCH = "research", _("Researchers and academics")
    ACTIVISTS = "activists", _("Social activists")
    HOMELESS_ADVOCATES = "homeless_advocates", _("Homeless advocates")
    LGBT_ADVOCATES = "lgbt_advocates", _("LGBT advocates")
    FAITH_BASED = "faith_based", _("Faith-based organizations")
    PRIVATE_SECTOR = "private_sector", _("Private sector")
    PUBLIC_OFFICIALS = "public_officials", _("Public officials")
    MEDIA = "media", _("Media")

    @classmethod
    def with_levels(cls) -> set[str]:
        """Sectors the fact sheet splits by local, county, state and federal level (tribal added)."""
        return {cls.LAW_ENFORCEMENT, cls.PROSECUTION}


class JurisdictionLevel(models.TextChoices):
    LOCAL = "local", _("Local")
    COUNTY = "county", _("County")
    STATE = "state", _("State")
    FEDERAL = "federal", _("Federal")
    TRIBAL = "tribal", _("Tribal")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password) if password else user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person: someone at a partner agency, or a site admin. Email is the login."""

    username = None
    email = models.EmailField(_("email"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    title = models.CharField(_("title"), max_length=200, blank=True)
    agency_role = models.CharField(_("role in their agency"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    after_hours_phone = models.CharField(_("after-hours phone"), max_length=40, blank=True)
    agency = models.ForeignKey(
        "members.Agency",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="people",
        verbose_name=_("agency"),
    )
    offboarded_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]
    objects = UserManager()

    class Meta:
        ordering = ["full_name"]

    def __getstate__(self) -> dict:
        # A person pickled (into the cache: taskforce.freshness) never carries their password hash. Unpickled, the
        # field is deferred: reading it loads it from the database, and save() leaves it alone.
        state = super().__getstate__()
        state.pop("password", None)
        return state

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Agency(models.Model):
    """A partner organization. It can belong to several task forces."""

    name = models.CharField(_("name"), max_length=200)
    sector = models.CharField(_("sector"), max_length=32, choices=Sector.choices)
    level = models.CharField(
        _("jurisdiction level"),
        max_length=16,
        choices=JurisdictionLevel.choices,
        blank=True,
        help_text=_("Required for law enforcement and prosecutors."),
    )
    jurisdiction = models.CharField(_("jurisdiction"), max_length=200, blank=True, help_text=_("e.g. Erie County"))
    is_rural = models.BooleanField(_("serves a rural community"), default=False)
    is_tribal = models.BooleanField(_("tribal nation or serves a tribal community"), default=False)
    address = models.TextField(_("address"), blank=True)
    website = models.URLField(_("website"), blank=True)
    main_contact_name = models.CharField(_("main contact"), max_length=200, blank=True)
    main_contact_email = models.EmailField(_("main contact email"), blank=True)
    main_contact_phone = models.CharField(_("main contact phone"), max_length=40, blank=True)
    after_hours_phone = models.CharField(_("after-hours phone"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"
        constraints = [
            models.CheckConstraint(
                condition=~Q(sector__in=["law_enforcement", "prosecution"]) | ~Q(level=""),
                name="agency_level_required_for_leveled_sectors",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sector_label(self) -> str:
        label = self.get_sector_display()
        return f"{label} ({self.get_level_display()})" if self.level else label


class MembershipStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    ACTIVE = "active", _("Active")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Membership(models.Model):
    """An agency's place in one task force, with the roles and responsibilities it takes on there."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="memberships")
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="memberships")
    status = models.CharField(
        _("status"), max_length=16, choices=MembershipStatus.choices, default=MembershipStatus.INVITED
    )
    joined_on = models.DateField(_("joined on"), null=True, blank=True)
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    roles_and_responsibilities = models.TextField(_("roles and responsibilities"), blank=True)
    response_commitments = models.TextField(
        _("response to human trafficking"),
        blank=True,
        help_text=_("What this agency does when a case or victim comes to it; realistic for its resources."),
    )
    commitment_acknowledged_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    commitment_acknowledged_at = models.DateTimeField(null=True, blank=True)
    liaison = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="liaison_for")
    alternate_liaison = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="alternate_liaison_for"
    )
    signatory = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="signatory_for")
    # Everyone of this agency in this task force; object permissions of the task force's records
    # go to this group, so withdrawing the agency removes them all at once.
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="membership")
    # The liaison and the alternate: may edit the agency profile and act for the agency.
    liaison_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="liaison_membership")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agency__name"]
        constraints = [models.UniqueConstraint(fields=["taskforce", "agency"], name="membership_once_per_taskforce")]
        permissions = [("act_for_agency", "Can act for the agency in this task force")]

    def __str__(self) -> str:
        return f"{self.agency} in {self.taskforce}"

    @property
    def profile_complete(self) -> bool:
        return bool(self.roles_and_responsibilities and self.commitment_acknowledged_at and self.liaison_id)


class MembershipGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Membership, on_delete=models.CASCADE)


class MembershipUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Membership, on_delete=models.CASCADE)


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    FACILITATOR = "facilitator", _("Facilitator")
    LIAISON = "liaison", _("Liaison")
    MEMBER = "member", _("Member")


class TaskForceRole(models.Model):
    """A person's role in a task force. A person can hold several."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="person_roles")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="taskforce_roles")
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["taskforce", "user", "role"], name="role_once")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.taskforce}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class Invitation(models.Model):
    """A single-use, expiring invitation for one person to join a task force through one agency.

    Only the SHA-256 of the token is stored: a database leak does not hand out accounts.
    """

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="invitations")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="invitations")
    # The person is created (without a password) when invited, so reminders have a recipient.
    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    full_name = models.CharField(_("full name"), max_length=200)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address per task force; resending reuses it.
            models.UniqueConstraint(
                fields=["taskforce", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.taskforce}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def status(self) -> str:
        if self.accepted_at:
            return InvitationStatus.ACCEPTED
        if self.revoked_at:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    def get_status_display(self) -> str:
        return InvitationStatus(self.status).label

    @property
    def is_usable(self) -> bool:
        return self.status == InvitationStatus.PENDING


class InvitationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Invitation, on_delete=models.CASCADE)


class InvitationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Invitation, on_delete=models.CASCADE)


# --- action plan, subcommittees and training ------------------------------------------------


class GoalStatus(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    ACHIEVED = "achieved", _("Achieved")
    DROPPED = "dropped", _("Dropped")


class Goal(models.Model):
    """A goal of the task force's action plan, with a measurable objective and a target date."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(_("goal"), max_length=200)
    objective = models.TextField(
        _("measurable objective"), help_text=_("e.g. Train 90% of school counsellors by June.")
    )
    target_on = models.DateField(_("target date"))
    status = models.CharField(_("status"), max_length=16, choices=GoalStatus.choices, default=GoalStatus.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    reviewed_on = models.DateField(_("last reviewed"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "target_on", "pk"]
        constraints = [models.CheckConstraint(condition=Q(progress__lte=100), name="goal_progress_at_most_100")]

    def __str__(self) -> str:
        return self.title


class Subcommittee(models.Model):
    """A working group of people from several agencies, charged with part of the action plan."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="subcommittees")
    name = models.CharField(_("name"), max_length=200)
    charge = models.TextField(_("charge"), help_text=_("What the task force asked this subcommittee to do."))
    chair = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="chaired_subcommittees"
    )
    members = models.ManyToManyField(User, blank=True, related_name="subcommittees")
    goals = models.ManyToManyField(Goal, blank=True, related_name="subcommittees")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["taskforce", "name"], name="subcommittee_name_once")]

    def __str__(self) -> str:
        return self.name


class TrainingTopic(models.Model):
    """An editable list per task force; core topics appear as columns of the training matrix."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="training_topics")
    name = models.CharField(_("topic"), max_length=120)
    is_core = models.BooleanField(_("core topic"), default=True)
    valid_for_months = models.PositiveSmallIntegerField(
        _("valid for (months)"), default=24, help_text=_("After this, the training counts as expired.")
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["taskforce", "name"], name="training_topic_once")]

    def __str__(self) -> str:
        return self.name


class TrainingKind(models.TextChoices):
    JOINT = "joint", _("Joint training")
    INTERNAL = "internal", _("Agency-internal training")
    MEETING_SEGMENT = "meeting", _("Training segment of a meeting")
    TEAM_ACTIVITY = "team_activity", _("Team activity (not training)")


class TrainingEvent(models.Model):
    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="training_events")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=TrainingKind.choices, default=TrainingKind.JOINT)
    topics = models.ManyToManyField(TrainingTopic, blank=True, related_name="events", verbose_name=_("topics"))
    trainer = models.CharField(_("trainer"), max_length=200, blank=True)
    held_on = models.DateField(_("date"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=60)
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("For agency-internal training."),
    )
    # Set when the event is a meeting's training segment (meetings -> members, never the reverse).
    source_label = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def counts_as_training(self) -> bool:
        return self.kind != TrainingKind.TEAM_ACTIVITY


class TrainingAttendance(models.Model):
    event = models.ForeignKey(TrainingEvent, on_delete=models.CASCADE, related_name="attendances")
    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="training_attendances")
    recorded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "person"], name="training_attendance_once")]

    def __str__(self) -> str:
        return f"{self.person} at {self.event}"


# --- communication: announcements, resource library (members/comms.py) --------------------------


class Tier(models.TextChoices):
    """Who may read an announcement or a library document (members.comms.tier_q is the one rule)."""

    ALL_MEMBERS = "all", _("All members")
    NAMED_AGENCIES = "agencies", _("Named agencies (and coordinators)")
    COORDINATORS = "coordinators", _("Coordinators only")


class Announcement(models.Model):
    """News for a task force (or one subcommittee's work), read by the tier's audience only."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="announcements")
    subcommittee = models.ForeignKey(
        Subcommittee,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="announcements",
        verbose_name=_("subcommittee"),
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"))
    tier = models.CharField(_("who may read it"), max_length=16, choices=Tier.choices, default=Tier.ALL_MEMBERS)
    agencies = models.ManyToManyField(
        Membership, blank=True, related_name="+", verbose_name=_("agencies"), help_text=_("For named agencies.")
    )
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(default=timezone.now, db_index=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class AnnouncementRead(models.Model):
    """A read receipt: the first time a person opened the announcement."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["announcement", "user"], name="announcement_read_once")]

    def __str__(self) -> str:
        return f"{self.user} read {self.announcement}"


class LibraryFolder(models.Model):
    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="library_folders")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["taskforce", "name"], name="library_folder_name_once")]

    def __str__(self) -> str:
        return self.name


class DocumentKind(models.TextChoices):
    PROTOCOL = "protocol", _("Protocol")
    COMMUNICATION_PLAN = "communication_plan", _("Communication plan")
    TRAINING = "training", _("Training material")
    SAMPLE = "sample", _("Sample document")
    CONTACT_SHEET = "contact_sheet", _("Contact sheet")
    OTHER = "other", _("Other")


class LibraryDocument(models.Model):
    """A shared document; its file lives in versions, the newest of which is the current one."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="library_documents")
    folder = models.ForeignKey(
        LibraryFolder, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=DocumentKind.choices, default=DocumentKind.OTHER)
    tier = models.CharField(_("who may read it"), max_length=16, choices=Tier.choices, default=Tier.ALL_MEMBERS)
    agencies = models.ManyToManyField(Membership, blank=True, related_name="+", verbose_name=_("agencies"))
    author = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class LibraryVersion(models.Model):
    """One uploaded file. Stored under a random name in PRIVATE_MEDIA_ROOT; never edited, never served raw."""

    document = models.ForeignKey(LibraryDocument, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    file_name = models.CharField(max_length=200)  # the uploader's name, cleaned: only ever a download name
    storage_name = models.CharField(max_length=80, unique=True)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="library_version_once")]

    def __str__(self) -> str:
        return f"{self.document} v{self.number}"
