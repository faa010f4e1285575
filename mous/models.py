"""Agreements between the agencies of a task force: drafts, frozen versions, objections, signatures, letters.

The life of an MOU:
draft (clauses edited by the coordinator) -> circulated version v1, v2 ... (immutable, hashed) ->
objections on clauses of a circulated version -> sent for signature (one exact version) -> executed
when every required party has signed. A party that will not sign gets a letter of understanding instead.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from members.models import Membership
from taskforce.models import TaskForce


class MouStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    SIGNING = "signing", _("Out for signature")
    EXECUTED = "executed", _("Executed")


class Mou(models.Model):
    """One agreement of a task force with a set of its member agencies."""

    taskforce = models.ForeignKey(TaskForce, on_delete=models.CASCADE, related_name="mous")
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(max_length=16, choices=MouStatus.choices, default=MouStatus.DRAFT)
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    effective_on = models.DateField(_("effective on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    reminder_delay_days = models.PositiveSmallIntegerField(
        _("first reminder after (days)"), default=5, help_text=_("Then every 2 days, at most 5 reminders.")
    )
    # The version currently out for signature (or executed); signatures bind to it.
    signing_version = models.ForeignKey(
        "MouVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    executed_version = models.ForeignKey(
        "MouVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    executed_at = models.DateTimeField(null=True, blank=True)
    renewal_of = models.ForeignKey(
        "MouVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Set while a renewal is drafted from this executed version.",
    )  # fmt: skip
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("manage_mou", "Can draft, circulate and send the MOU for signature"),
            ("comment_mou", "Can raise and discuss objections on the MOU for an agency"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def latest_version(self) -> MouVersion | None:
        return self.versions.order_by("-number").first()

    @property
    def is_editable(self) -> bool:
        return self.status != MouStatus.EXECUTED or self.renewal_of_id is not None


class MouUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Mou, on_delete=models.CASCADE)


class MouGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Mou, on_delete=models.CASCADE)


class MouParty(models.Model):
    """An agency that is party to the MOU, and how its signature is routed."""

    mou = models.ForeignKey(Mou, on_delete=models.CASCADE, related_name="parties")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="mou_parties")
    signing_in_order = models.BooleanField(
        _("approvers act before the signatory"),
        default=True,
        help_text=_("Legal review approves first, then the authorized signatory signs."),
    )

    class Meta:
        ordering = ["membership__agency__name"]
        constraints = [models.UniqueConstraint(fields=["mou", "membership"], name="mou_party_once")]

    def __str__(self) -> str:
        return str(self.membership.agency)


class RecipientRole(models.TextChoices):
    APPROVER = "approver", _("Approver")
    SIGNER = "signer", _("Signatory")
    CC = "cc", _("Copied")


class PartyRecipient(models.Model):
    """Beyond the agency's signatory: the approvers the coordinator names, and who is only copied."""

    party = models.ForeignKey(MouParty, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=16, choices=RecipientRole.choices)
    order = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["party", "user", "role"], name="mou_recipient_once"),
            models.CheckConstraint(condition=~Q(role="signer"), name="mou_recipient_signer_is_membership_signatory"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.user} for {self.party}"


class Clause(models.Model):
    """A numbered clause of the working draft. `key` follows the clause through every version."""

    mou = models.ForeignKey(Mou, on_delete=models.CASCADE, related_name="clauses")
    key = models.UUIDField(default=uuid.uuid4, editable=False)
    position = models.PositiveSmallIntegerField()
    heading = models.CharField(_("heading"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Markdown: **bold**, *italic*, lists, links."))
    # Optimistic locking: an edit states the revision it started from.
    revision = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["mou", "key"], name="mou_clause_key_once")]

    def __str__(self) -> str:
        return f"{self.position}. {self.heading}"


class MouVersion(models.Model):
    """A circulated version: immutable, numbered, identified by the SHA-256 of its canonical text."""

    mou = models.ForeignKey(Mou, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    note = models.TextField(blank=True)
    canonical_text = models.TextField()
    sha256 = models.CharField(max_length=64, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    executed_at = models.DateTimeField(null=True, blank=True)
    executed_pdf = models.BinaryField(null=True, blank=True, editable=False)
    executed_pdf_sha256 = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["mou", "number"], name="mou_version_number_once")]

    def __str__(self) -> str:
        return f"{self.mou.title} v{self.number}"

    @property
    def label(self) -> str:
        return f"v{self.number}"


class VersionClause(models.Model):
    version = models.ForeignKey(MouVersion, on_delete=models.CASCADE, related_name="clauses")
    key = models.UUIDField()
    number = models.PositiveSmallIntegerField()
    heading = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["version", "number"], name="mou_version_clause_number_once")]

    def __str__(self) -> str:
        return f"{self.number}. {self.heading}"


def canonical_text(title: str, clauses: list[tuple[int, str, str]]) -> str:
    """The exact text a signature and the hash bind to.

    JSON with sorted keys, no insignificant whitespace and UTF-8 kept as is, of
    {"title": ..., "clauses": [{"number": n, "heading": ..., "body": ...}, ...]} in clause order, with
    every line ending normalised to "\\n" and trailing whitespace of each body stripped. Anyone can
    recompute it from the printed clauses and compare the SHA-256 of its UTF-8 bytes.
    """

    def norm(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()

    document = {
        "title": norm(title),
        "clauses": [{"number": n, "heading": norm(h), "body": norm(b)} for n, h, b in clauses],
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted")
    REVISED = "revised", _("Revised")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Objection(models.Model):
    """An agency's objection to one clause of a circulated version."""

    mou = models.ForeignKey(Mou, on_delete=models.CASCADE, related_name="objections")
    version = models.ForeignKey(MouVersion, on_delete=models.CASCADE, related_name="objections")
    clause_key = models.UUIDField()
    clause_number = models.PositiveSmallIntegerField()
    clause_heading = models.CharField(max_length=200)
    party = models.ForeignKey(MouParty, on_delete=models.CASCADE, related_name="objections")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(_("reason"))
    proposed_wording = models.TextField(_("proposed wording"), blank=True)
    status = models.CharField(max_length=16, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN)
    resolved_in = models.ForeignKey(
        MouVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="resolved_objections"
    )
    resolution_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    agenda_proposed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["clause_number", "created_at"]

    def __str__(self) -> str:
        return f"Objection to clause {self.clause_number} by {self.party}"

    @property
    def is_open(self) -> bool:
        return self.status == ObjectionStatus.OPEN


class ObjectionComment(models.Model):
    objection = models.ForeignKey(Objection, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.objection}"


class RequestStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for an earlier step")
    SENT = "sent", _("Sent")
    VIEWED = "viewed", _("Viewed")
    APPROVED = "approved", _("Approved")
    SIGNED = "signed", _("Signed")
    DECLINED = "declined", _("Declined")
    VOIDED = "voided", _("Voided by a later version")


class DeclineReason(models.TextChoices):
    TERMS = "terms", _("Cannot accept the terms")
    AUTHORITY = "authority", _("No authority to commit the agency")
    RESOURCES = "resources", _("Lacks the resources to commit")
    LEGAL = "legal", _("Legal counsel advises against")
    OTHER = "other", _("Other")


class SignatureRequest(models.Model):
    """One person's step on one version for one party: approve or sign. Binds to the version's hash."""

    version = models.ForeignKey(MouVersion, on_delete=models.CASCADE, related_name="requests")
    party = models.ForeignKey(MouParty, on_delete=models.CASCADE, related_name="requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mou_requests")
    role = models.CharField(max_length=16, choices=[c for c in RecipientRole.choices if c[0] != "cc"])
    order = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.WAITING)
    sent_at = models.DateTimeField(null=True, blank=True)
    viewed_at = models.DateTimeField(null=True, blank=True)
    acted_at = models.DateTimeField(null=True, blank=True)
    typed_name = models.CharField(max_length=200, blank=True)
    typed_title = models.CharField(max_length=200, blank=True)
    attested = models.BooleanField(default=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    decline_reason = models.CharField(max_length=16, choices=DeclineReason.choices, blank=True)
    decline_text = models.TextField(blank=True)

    class Meta:
        ordering = ["party", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["version", "party", "user", "role"], name="mou_request_once"),
            # Exactly one signature per party per version, whatever races to the database.
            models.UniqueConstraint(
                fields=["version", "party"],
                condition=Q(role="signer", status="signed"),
                name="mou_one_signature_per_party_version",
            ),
            models.CheckConstraint(
                condition=~Q(status="signed") | (Q(attested=True) & ~Q(typed_name="") & ~Q(document_sha256="")),
                name="mou_signature_is_attested_and_hashed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.user} for {self.party} on {self.version}"

    @property
    def is_pending(self) -> bool:
        return self.status in (RequestStatus.SENT, RequestStatus.VIEWED)


class LouStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class LetterOfUnderstanding(models.Model):
    """An unsigned letter stating the involvement expected of an agency that will not sign."""

    mou = models.ForeignKey(Mou, on_delete=models.CASCADE, related_name="letters")
    party = models.ForeignKey(MouParty, on_delete=models.CASCADE, related_name="letters")
    version = models.ForeignKey(MouVersion, on_delete=models.PROTECT, related_name="letters")
    status = models.CharField(max_length=16, choices=LouStatus.choices, default=LouStatus.ISSUED)
    roles_text = models.TextField(blank=True)
    response_text = models.TextField(blank=True)
    accepted_clause_numbers = models.JSONField(default=list)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    issued_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["party"], condition=~Q(status="withdrawn"), name="mou_one_live_letter_per_party"
            )
        ]

    def __str__(self) -> str:
        return f"Letter of understanding for {self.party}"
