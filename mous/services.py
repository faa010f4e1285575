"""Every write about MOUs: drafting, versions, objections, signatures, letters of understanding, reminders.

Grants to groups happen here and nowhere else: the task force's coordinators manage an MOU, every person
of a party agency sees it, the liaisons of a party (liaison + alternate) may object and discuss.
Signing authority is not a grant: it is the membership's named signatory (see permissions.may_sign_for).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Membership, MembershipStatus, User
from mous.default_template import default_clauses
from mous.models import (
    Clause,
    DeclineReason,
    LetterOfUnderstanding,
    LouStatus,
    Mou,
    MouParty,
    MouStatus,
    MouVersion,
    Objection,
    ObjectionComment,
    ObjectionStatus,
    PartyRecipient,
    RecipientRole,
    RequestStatus,
    SignatureRequest,
    VersionClause,
    canonical_text,
    sha256_hex,
)
from taskforce import agenda, audit, notifications, permissions
from taskforce.models import TaskForce
from taskforce.services import StaleEdit

logger = logging.getLogger(__name__)

COORDINATOR_PERMS = ("mous.view_mou", "mous.change_mou", "mous.manage_mou")
PARTY_PERMS = ("mous.view_mou",)
LIAISON_PERMS = ("mous.view_mou", "mous.comment_mou")

SIGNATURE_REQUESTED = "mous.signature_requested"
SIGN_REMINDER = "mous.sign_reminder"
SIGN_NUDGE = "mous.sign_nudge"
PARTY_SIGNED = "mous.party_signed"
PARTY_DECLINED = "mous.party_declined"
EXPIRY_REMINDER = "mous.expiry_reminder"
EXECUTED = "mous.executed"

REMINDER_EVERY = timedelta(days=2)
REMINDER_MAX = 5
REMINDER_WINDOW = timedelta(days=30)
EXPIRY_NOTICE_DAYS = (60, 30)


class MouError(Exception):
    """The action is not possible in the MOU's current state; the message says why.

    `event` is an audit event (action, fields) recorded after the transaction rolls back, so refusals
    stay on record although nothing else of the refused attempt does.
    """

    def __init__(self, message: str, *, event: tuple[str, dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.event = event


class NotAuthorized(MouError):
    """The person may not take this step (for example: sign for an agency they are not the signatory of)."""


def atomic(func):
    """transaction.atomic, plus: a refusal's audit event is written after the rollback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any):
        try:
            with transaction.atomic():
                return func(*args, **kwargs)
        except MouError as error:
            if error.event is not None:
                action, fields = error.event
                audit.record(action, **fields)
            raise

    return wrapper


# --- helpers --------------------------------------------------------------------------------------------


def _actor_ok(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _coordinators(mou: Mou) -> list[User]:
    return list(mou.taskforce.coordinators.user_set.filter(is_active=True))


def _lock(mou: Mou) -> Mou:
    return Mou.objects.select_for_update().get(pk=mou.pk)


def _grant_party(mou: Mou, membership: Membership) -> None:
    for perm in PARTY_PERMS:
        permissions.grant(perm, membership.group, mou)
    for perm in LIAISON_PERMS:
        permissions.grant(perm, membership.liaison_group, mou)


def _revoke_party(mou: Mou, membership: Membership) -> None:
    for perm in PARTY_PERMS:
        permissions.revoke(perm, membership.group, mou)
    for perm in LIAISON_PERMS:
        permissions.revoke(perm, membership.liaison_group, mou)


# --- drafting -------------------------------------------------------------------------------------------


@atomic
def mou_create(
    *,
    taskforce: TaskForce,
    actor: Any,
    title: str,
    parties: list[Membership],
    copy_of: Mou | None = None,
    effective_on: date | None = None,
    expires_on: date | None = None,
) -> Mou:
    """A new draft from the product's template, or from a copy of an earlier MOU's clauses."""
    if copy_of is not None and copy_of.taskforce_id != taskforce.pk:
        raise MouError(_("You can only copy an agreement of this task force."))
    parties = [m for m in parties if m.taskforce_id == taskforce.pk]
    mou = Mou.objects.create(
        taskforce=taskforce,
        title=title,
        copied_from=copy_of,
        created_by=_actor_ok(actor),
        effective_on=effective_on,
        expires_on=expires_on,
    )
    for perm in COORDINATOR_PERMS:
        permissions.grant(perm, taskforce.coordinators, mou)
    for membership in parties:
        MouParty.objects.create(mou=mou, membership=membership)
        _grant_party(mou, membership)
    if copy_of is not None:
        source = copy_of.executed_version or copy_of.latest_version
        rows = (
            [(c.heading, c.body) for c in source.clauses.all()]
            if source is not None
            else [(c.heading, c.body) for c in copy_of.clauses.all()]
        )
    else:
        rows = default_clauses(taskforce, sorted(parties, key=lambda m: m.agency.name))
    Clause.objects.bulk_create(
        [
            Clause(mou=mou, position=i, heading=h, body=b, updated_by=_actor_ok(actor))
            for i, (h, b) in enumerate(rows, 1)
        ]
    )
    audit.record("mou.created", actor=actor, obj=mou, copied_from=copy_of.pk if copy_of else None, parties=len(parties))
    return mou


@atomic
def mou_update(
    *,
    mou: Mou,
    actor: Any,
    title: str,
    effective_on: date | None,
    expires_on: date | None,
    reminder_delay_days: int,
) -> Mou:
    mou = _lock(mou)
    if expires_on and effective_on and expires_on <= effective_on:
        raise MouError(_("The agreement must expire after it takes effect."))
    mou.title = title
    mou.effective_on = effective_on
    mou.expires_on = expires_on
    mou.reminder_delay_days = reminder_delay_days
    mou.save(update_fields=["title", "effective_on", "expires_on", "reminder_delay_days"])
    audit.record("mou.updated", actor=actor, obj=mou)
    return mou


@atomic
def mou_set_parties(*, mou: Mou, actor: Any, parties: list[Membership]) -> Mou:
    mou = _lock(mou)
    if mou.status in (MouStatus.SIGNING, MouStatus.EXECUTED):
        raise MouError(_("Parties can change only while the agreement is drafted or in review."))
    wanted = {m.pk: m for m in parties if m.taskforce_id == mou.taskforce_id}
    current = {p.membership_id: p for p in mou.parties.select_related("membership")}
    for pk, party in current.items():
        if pk not in wanted:
            if party.objections.exists() or party.requests.exists() or party.letters.exists():
                raise MouError(
                    _("%(agency)s has objections or signatures on record and stays a party.")
                    % {"agency": party.membership.agency.name}
                )
            _revoke_party(mou, party.membership)
            party.delete()
    for pk, membership in wanted.items():
        if pk not in current:
            MouParty.objects.create(mou=mou, membership=membership)
            _grant_party(mou, membership)
    audit.record("mou.parties_set", actor=actor, obj=mou, parties=sorted(wanted))
    return mou


def _check_draft_editable(mou: Mou) -> None:
    if mou.status == MouStatus.EXECUTED and mou.renewal_of_id is None:
        raise MouError(_("An executed agreement cannot be edited; start a renewal."))


@atomic
def clause_update(*, clause: Clause, actor: Any, expected_revision: int, heading: str, body: str) -> Clause:
    """Save a clause of the working draft. Optimistic locking: a stale revision raises StaleEdit."""
    current = Clause.objects.select_for_update().select_related("mou").get(pk=clause.pk)
    _check_draft_editable(current.mou)
    if current.revision != expected_revision:
        raise StaleEdit(current)
    current.heading = heading.strip()
    current.body = body.replace("\r\n", "\n")
    current.revision += 1
    current.updated_by = _actor_ok(actor)
    current.updated_at = timezone.now()
    current.save()
    audit.record("mou.clause_updated", actor=actor, obj=current.mou, clause=current.position, revision=current.revision)
    return current


@atomic
def clause_add(*, mou: Mou, actor: Any, heading: str, body: str) -> Clause:
    mou = _lock(mou)
    _check_draft_editable(mou)
    position = (mou.clauses.aggregate(m=Max("position"))["m"] or 0) + 1
    clause = Clause.objects.create(
        mou=mou,
        position=position,
        heading=heading.strip(),
        body=body.replace("\r\n", "\n"),
        updated_by=_actor_ok(actor),
    )
    audit.record("mou.clause_added", actor=actor, obj=mou, clause=position)
    return clause


def _renumber(mou: Mou, ordered: list[Clause]) -> None:
    # Two passes keep the numbers unique at every step (no unique constraint on position, but tidy).
    for index, clause in enumerate(ordered, 1):
        if clause.position != index:
            Clause.objects.filter(pk=clause.pk).update(position=index)


@atomic
def clause_delete(*, clause: Clause, actor: Any, expected_revision: int) -> None:
    mou = _lock(clause.mou)
    _check_draft_editable(mou)
    current = Clause.objects.select_for_update().get(pk=clause.pk)
    if current.revision != expected_revision:
        raise StaleEdit(current)
    current.delete()
    _renumber(mou, list(mou.clauses.order_by("position")))
    audit.record("mou.clause_deleted", actor=actor, obj=mou, heading=current.heading)


@atomic
def clause_move(*, clause: Clause, actor: Any, direction: int) -> None:
    mou = _lock(clause.mou)
    _check_draft_editable(mou)
    ordered = list(mou.clauses.order_by("position"))
    index = next(i for i, c in enumerate(ordered) if c.pk == clause.pk)
    target = index + (1 if direction > 0 else -1)
    if 0 <= target < len(ordered):
        ordered[index], ordered[target] = ordered[target], ordered[index]
        _renumber(mou, ordered)
        audit.record("mou.clause_moved", actor=actor, obj=mou, heading=clause.heading, to=target + 1)


# --- versions -------------------------------------------------------------------------------------------


def _freeze(mou: Mou, actor: Any, note: str) -> MouVersion:
    clauses = list(mou.clauses.order_by("position"))
    if not clauses:
        raise MouError(_("An agreement needs at least one clause."))
    number = (mou.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    text = canonical_text(mou.title, [(i, c.heading, c.body) for i, c in enumerate(clauses, 1)])
    version = MouVersion.objects.create(
        mou=mou,
        number=number,
        title=mou.title,
        note=note,
        canonical_text=text,
        sha256=sha256_hex(text),
        created_by=_actor_ok(actor),
    )
    VersionClause.objects.bulk_create(
        [
            VersionClause(version=version, key=c.key, number=i, heading=c.heading, body=c.body)
            for i, c in enumerate(clauses, 1)
        ]
    )
    return version


def _resolve_objections(mou: Mou, version: MouVersion) -> int:
    """Open objections whose clause changed become "revised"; accepted ones get their resolving version."""
    new_clauses = {str(c.key): c for c in version.clauses.all()}
    resolved = 0
    for objection in mou.objections.filter(status__in=[ObjectionStatus.OPEN, ObjectionStatus.ACCEPTED]).filter(
        resolved_in__isnull=True
    ):
        if objection.version_id == version.pk:
            continue
        old = objection.version.clauses.filter(key=objection.clause_key).first()
        new = new_clauses.get(str(objection.clause_key))
        changed = old is None or new is None or (old.body, old.heading) != (new.body, new.heading)
        if objection.status == ObjectionStatus.ACCEPTED or changed:
            if objection.status == ObjectionStatus.OPEN:
                objection.status = ObjectionStatus.REVISED
            objection.resolved_in = version
            objection.updated_at = timezone.now()
            objection.save(update_fields=["status", "resolved_in", "updated_at"])
            resolved += 1
    return resolved


@atomic
def version_circulate(*, mou: Mou, actor: Any, note: str = "") -> MouVersion:
    """Freeze the draft as the next immutable version and circulate it for review.

    Open objections on clauses this version changes are marked revised and linked to it. If signatures
    were being collected on an earlier version, they are voided and every party is asked again.
    """
    mou = _lock(mou)
    _check_draft_editable(mou)
    latest = mou.latest_version
    version = _freeze(mou, actor, note)
    if latest is not None and latest.sha256 == version.sha256 and mou.status != MouStatus.EXECUTED:
        raise MouError(_("Nothing changed since %(v)s.") % {"v": latest.label})
    resolved = _resolve_objections(mou, version)
    was_signing = mou.status == MouStatus.SIGNING
    voided = 0
    if mou.signing_version_id is not None and mou.status == MouStatus.SIGNING:
        voided = _void_requests(mou)
    mou.status = MouStatus.REVIEW
    mou.signing_version = None
    mou.renewal_of = None  # a renewal, once circulated, follows the ordinary review and signing
    mou.save(update_fields=["status", "signing_version", "renewal_of"])
    audit.record(
        "mou.version_circulated",
        actor=actor,
        obj=mou,
        version=version.number,
        sha256=version.sha256,
        objections_resolved=resolved,
        signatures_voided=voided,
    )
    if was_signing:
        _send_for_signature(mou, version, actor)
    return version


def _void_requests(mou: Mou) -> int:
    """Void the steps on the version out for signature; an executed version's signatures stay as they are."""
    requests = list(
        SignatureRequest.objects.filter(party__mou=mou, version_id=mou.signing_version_id).exclude(
            status__in=[RequestStatus.VOIDED, RequestStatus.DECLINED]
        )
    )
    for req in requests:
        notifications.cancel(subject=req)
    count = SignatureRequest.objects.filter(pk__in=[r.pk for r in requests]).update(status=RequestStatus.VOIDED)
    return count


# --- objections -----------------------------------------------------------------------------------------


def party_for(user: Any, mou: Mou) -> MouParty | None:
    """The party the user acts for: the one whose liaison group they belong to."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        mou.parties.select_related("membership__agency")
        .filter(membership__liaison_group__user=user, membership__status=MembershipStatus.ACTIVE)
        .first()
    )


@atomic
def objection_raise(
    *, mou: Mou, version: MouVersion, clause_number: int, actor: Any, reason: str, proposed_wording: str = ""
) -> Objection:
    mou = _lock(mou)
    if version.mou_id != mou.pk or version.pk != (mou.latest_version and mou.latest_version.pk):
        raise MouError(_("Objections are raised on the version in circulation."))
    if mou.status == MouStatus.EXECUTED:
        raise MouError(_("The agreement is executed; raise it for the renewal."))
    if not permissions.has_perm(actor, "mous.comment_mou", mou):
        raise NotAuthorized(
            _("Only a party's liaison or alternate can raise an objection."),
            event=("mou.objection_refused", {"actor": actor, "obj": mou, "reason": "not a party liaison"}),
        )
    party = party_for(actor, mou)
    if party is None:
        raise NotAuthorized(
            _("Only a party's liaison or alternate can raise an objection."),
            event=("mou.objection_refused", {"actor": actor, "obj": mou, "reason": "not a party liaison"}),
        )
    clause = version.clauses.filter(number=clause_number).first()
    if clause is None:
        raise MouError(_("There is no clause %(n)s in %(v)s.") % {"n": clause_number, "v": version.label})
    objection = Objection.objects.create(
        mou=mou,
        version=version,
        clause_key=clause.key,
        clause_number=clause.number,
        clause_heading=clause.heading,
        party=party,
        raised_by=actor,
        reason=reason.strip(),
        proposed_wording=proposed_wording.replace("\r\n", "\n").strip(),
    )
    audit.record("mou.objection_raised", actor=actor, obj=mou, objection=objection.pk, clause=clause.number)
    return objection


def _may_discuss(actor: Any, objection: Objection) -> bool:
    mou = objection.mou
    return permissions.has_perm(actor, "mous.manage_mou", mou) or permissions.has_perm(actor, "mous.comment_mou", mou)


@atomic
def objection_comment(*, objection: Objection, actor: Any, body: str) -> ObjectionComment:
    if not _may_discuss(actor, objection):
        raise NotAuthorized(_("Only the coordinators and the parties' liaisons take part in the discussion."))
    comment = ObjectionComment.objects.create(objection=objection, author=actor, body=body.strip())
    Objection.objects.filter(pk=objection.pk).update(updated_at=timezone.now())
    audit.record("mou.objection_commented", actor=actor, obj=objection.mou, objection=objection.pk)
    return comment


def _locked_objection(objection: Objection) -> Objection:
    """Lock the MOU, then the objection (the order circulating a version takes)."""
    Mou.objects.select_for_update().filter(pk=objection.mou_id).get()
    return Objection.objects.select_for_update(of=("self",)).select_related("mou", "party").get(pk=objection.pk)


@atomic
def objection_withdraw(*, objection: Objection, actor: Any) -> Objection:
    objection = _locked_objection(objection)
    if party_for(actor, objection.mou) != objection.party:
        raise NotAuthorized(_("Only the objecting agency's liaisons can withdraw its objection."))
    if objection.status != ObjectionStatus.OPEN:
        raise MouError(_("Only an open objection can be withdrawn."))
    objection.status = ObjectionStatus.WITHDRAWN
    objection.updated_at = timezone.now()
    objection.save(update_fields=["status", "updated_at"])
    audit.record("mou.objection_withdrawn", actor=actor, obj=objection.mou, objection=objection.pk)
    return objection


@atomic
def objection_accept(*, objection: Objection, actor: Any, apply_wording: bool = True, note: str = "") -> Objection:
    """The coordinator accepts the objection; its proposed wording goes into the draft clause if asked.

    It is resolved (linked to a version) when the next version is circulated.
    """
    objection = _locked_objection(objection)
    if objection.status != ObjectionStatus.OPEN:
        raise MouError(_("Only an open objection can be accepted."))
    if apply_wording and objection.proposed_wording:
        clause = Clause.objects.select_for_update().filter(mou=objection.mou, key=objection.clause_key).first()
        if clause is None:
            raise MouError(_("That clause is no longer in the draft."))
        clause.body = objection.proposed_wording
        clause.revision += 1
        clause.updated_by = _actor_ok(actor)
        clause.updated_at = timezone.now()
        clause.save()
    objection.status = ObjectionStatus.ACCEPTED
    objection.resolution_note = note
    objection.updated_at = timezone.now()
    objection.save(update_fields=["status", "resolution_note", "updated_at"])
    audit.record("mou.objection_accepted", actor=actor, obj=objection.mou, objection=objection.pk)
    return objection


@atomic
def objections_to_agenda(*, mou: Mou, actor: Any) -> Any:
    """Put the open objections on the next meeting's agenda (raises agenda.NoUpcomingMeeting)."""
    open_objections = list(
        mou.objections.filter(status=ObjectionStatus.OPEN).select_related("party__membership__agency")
    )
    if not open_objections:
        raise MouError(_("There are no open objections."))
    lines = [
        f"- Clause {o.clause_number} ({o.clause_heading}): {o.party.membership.agency.name}" for o in open_objections
    ]
    item = agenda.propose(
        agenda.Proposal(
            taskforce=mou.taskforce,
            title=_("Open objections to %(title)s") % {"title": mou.title},
            description="\n".join(lines),
            item_type="mou_objections",
            actor=actor,
            source=mou,
        )
    )
    Objection.objects.filter(pk__in=[o.pk for o in open_objections]).update(agenda_proposed_at=timezone.now())
    audit.record("mou.objections_to_agenda", actor=actor, obj=mou, objections=len(open_objections))
    return item


# --- routing and signatures -----------------------------------------------------------------------------


@atomic
def party_routing_set(
    *, party: MouParty, actor: Any, approvers: list[User], copied: list[User], signing_in_order: bool
) -> MouParty:
    """Who approves before the signatory signs (in the given order), and who is only copied."""
    party = MouParty.objects.select_for_update().get(pk=party.pk)
    party.recipients.all().delete()
    for order, user in enumerate(approvers, 1):
        PartyRecipient.objects.create(party=party, user=user, role=RecipientRole.APPROVER, order=order)
    for user in copied:
        PartyRecipient.objects.get_or_create(party=party, user=user, role=RecipientRole.CC)
    party.signing_in_order = signing_in_order
    party.save(update_fields=["signing_in_order"])
    audit.record(
        "mou.routing_set",
        actor=actor,
        obj=party.mou,
        party=party.membership_id,
        approvers=[u.pk for u in approvers],
        copied=[u.pk for u in copied],
    )
    return party


def _live_letter(party: MouParty) -> LetterOfUnderstanding | None:
    return party.letters.exclude(status=LouStatus.WITHDRAWN).first()


def _request_sent(req: SignatureRequest, mou: Mou) -> None:
    now = timezone.now()
    req.status = RequestStatus.SENT
    req.sent_at = now
    req.save(update_fields=["status", "sent_at"])
    notifications.schedule(kind=SIGNATURE_REQUESTED, subject=req, recipient=req.user, due_at=now)
    schedule_request_reminders(req, mou=mou)
    notifications.queue_sweep()


def _send_for_signature(mou: Mou, version: MouVersion, actor: Any) -> list[SignatureRequest]:
    parties = list(mou.parties.select_related("membership__agency", "membership__signatory"))
    missing = [
        p.membership.agency.name for p in parties if _live_letter(p) is None and p.membership.signatory_id is None
    ]
    if missing:
        raise MouError(_("Name an authorized signatory first for: %(agencies)s.") % {"agencies": ", ".join(missing)})
    created: list[SignatureRequest] = []
    for party in parties:
        if _live_letter(party) is not None:
            continue
        created.extend(_create_steps(party, version, mou))
    mou.status = MouStatus.SIGNING
    mou.signing_version = version
    mou.save(update_fields=["status", "signing_version"])
    audit.record("mou.sent_for_signature", actor=actor, obj=mou, version=version.number, requests=len(created))
    return created


def _create_steps(party: MouParty, version: MouVersion, mou: Mou) -> list[SignatureRequest]:
    """The party's approvers in order, then its authorized signatory; the first step(s) are sent."""
    approvers = party.recipients.filter(role=RecipientRole.APPROVER).select_related("user")
    steps = [(r.user, RecipientRole.APPROVER, r.order) for r in approvers]
    last = max((order for _u, _r, order in steps), default=0)
    steps.append((party.membership.signatory, RecipientRole.SIGNER, last + 1))
    created = [
        SignatureRequest.objects.create(version=version, party=party, user=user, role=role, order=order)
        for user, role, order in steps
    ]
    _advance(party, version, mou)
    return created


def _advance(party: MouParty, version: MouVersion, mou: Mou) -> None:
    """Send the steps that may act now: all at once, or the lowest pending order when signing in order."""
    steps = list(SignatureRequest.objects.filter(version=version, party=party).order_by("order", "pk"))
    waiting = [s for s in steps if s.status == RequestStatus.WAITING]
    if not waiting:
        return
    if not party.signing_in_order:
        for step in waiting:
            _request_sent(step, mou)
        return
    if any(s.is_pending for s in steps):
        return
    first = min(s.order for s in waiting)
    for step in waiting:
        if step.order == first:
            _request_sent(step, mou)


@atomic
def party_resend(*, party: MouParty, actor: Any) -> list[SignatureRequest]:
    """Ask one party again on the version out for signature: after it declined, or its signatory changed.

    Its unsigned steps are replaced by fresh ones for its current signatory and approvers (what they were
    stays in the audit trail); a party that has signed this version is not asked again.
    """
    mou = _lock(party.mou)
    party = MouParty.objects.select_for_update().select_related("membership__agency").get(pk=party.pk)
    agency = party.membership.agency.name
    version = mou.signing_version
    if mou.status != MouStatus.SIGNING or version is None:
        raise MouError(_("The agreement is not out for signature."))
    if _live_letter(party) is not None:
        raise MouError(_("%(agency)s has a letter of understanding instead.") % {"agency": agency})
    if party.membership.signatory_id is None:
        raise MouError(_("%(agency)s has no authorized signatory named.") % {"agency": agency})
    steps = SignatureRequest.objects.filter(version=version, party=party)
    if steps.filter(role=RecipientRole.SIGNER, status=RequestStatus.SIGNED).exists():
        raise MouError(_("%(agency)s has already signed this version.") % {"agency": agency})
    previous = [
        {"user": s["user_id"], "role": s["role"], "status": s["status"]}
        for s in steps.values("user_id", "role", "status")
    ]
    for step in steps:
        notifications.cancel(subject=step)
    steps.delete()
    created = _create_steps(party, version, mou)
    audit.record(
        "mou.party_asked_again",
        actor=actor,
        obj=mou,
        party=party.membership_id,
        version=version.number,
        previous=previous,
    )
    return created


@atomic
def mou_send_for_signature(*, mou: Mou, actor: Any) -> list[SignatureRequest]:
    """Send the version in circulation to every party that has no letter of understanding."""
    mou = _lock(mou)
    if mou.status != MouStatus.REVIEW:
        raise MouError(_("Circulate a version for review before sending it for signature."))
    version = mou.latest_version
    open_count = mou.objections.filter(status=ObjectionStatus.OPEN, version=version).count()
    if open_count:
        raise MouError(
            _("%(n)s objection(s) on %(v)s are still open: resolve them first.") % {"n": open_count, "v": version.label}
        )
    return _send_for_signature(mou, version, actor)


def _locked_request(req: SignatureRequest) -> SignatureRequest:
    """Lock the MOU, then the step: the same order as circulating a version, so the two never deadlock."""
    mou_id = SignatureRequest.objects.filter(pk=req.pk).values_list("party__mou_id", flat=True).get()
    Mou.objects.select_for_update().filter(pk=mou_id).get()
    return (
        SignatureRequest.objects.select_for_update(of=("self",))
        .select_related("version", "party__membership__agency", "party__mou")
        .get(pk=req.pk)
    )


def _check_actionable(req: SignatureRequest, actor: Any, action: str) -> Mou:
    mou = Mou.objects.select_for_update().get(pk=req.party.mou_id)
    if not permissions.may_act_on_signature_request(actor, req):
        raise NotAuthorized(
            _("You cannot act for %(agency)s on this agreement.") % {"agency": req.party.membership.agency.name},
            event=(
                f"mou.{action}_refused",
                {
                    "actor": actor,
                    "obj": mou,
                    "request_id": req.pk,
                    "party": req.party.membership_id,
                    "reason": "not the signatory" if req.role == RecipientRole.SIGNER else "not the approver",
                },
            ),
        )
    if mou.signing_version_id != req.version_id or not req.is_pending:
        raise MouError(_("This request is no longer open."))
    return mou


@atomic
def request_view(*, req: SignatureRequest, actor: Any) -> SignatureRequest:
    req = _locked_request(req)
    if req.user_id == getattr(actor, "pk", None) and req.status == RequestStatus.SENT:
        req.status = RequestStatus.VIEWED
        req.viewed_at = timezone.now()
        req.save(update_fields=["status", "viewed_at"])
        audit.record("mou.request_viewed", actor=actor, obj=req.party.mou, request_id=req.pk)
    return req


def _client(request: HttpRequest | None) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    return audit.client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:255]


@atomic
def request_approve(*, req: SignatureRequest, actor: Any, request: HttpRequest | None = None) -> SignatureRequest:
    req = _locked_request(req)
    mou = _check_actionable(req, actor, "approve")
    if req.role != RecipientRole.APPROVER:
        raise MouError(_("This step is a signature, not an approval."))
    req.status = RequestStatus.APPROVED
    req.acted_at = timezone.now()
    req.ip_address, req.user_agent = _client(request)
    req.document_sha256 = req.version.sha256
    req.save()
    notifications.cancel(subject=req)
    audit.record(
        "mou.approved", actor=actor, obj=mou, request=request, request_id=req.pk, party=req.party.membership_id
    )
    _advance(req.party, req.version, mou)
    return req


@atomic
def request_sign(
    *,
    req: SignatureRequest,
    actor: Any,
    typed_name: str,
    typed_title: str,
    attest: bool,
    document_sha256: str,
    request: HttpRequest | None = None,
) -> SignatureRequest:
    """Sign one exact version for one agency. Exactly one signature per party and version takes effect."""
    req = _locked_request(req)
    mou = _check_actionable(req, actor, "sign")
    if req.role != RecipientRole.SIGNER:
        raise MouError(_("This step is an approval, not a signature."))
    if not attest:
        raise MouError(_("Attest that you are authorized to sign for the agency."))
    if not typed_name.strip() or not typed_title.strip():
        raise MouError(_("Type your full name and title."))
    if document_sha256 != req.version.sha256:
        raise MouError(
            _("The text you reviewed is not the version out for signature. Reload and review it again."),
            event=("mou.sign_refused", {"actor": actor, "obj": mou, "request_id": req.pk, "reason": "hash mismatch"}),
        )
    waiting = SignatureRequest.objects.filter(
        version=req.version, party=req.party, role=RecipientRole.APPROVER
    ).exclude(status=RequestStatus.APPROVED)
    if req.party.signing_in_order and waiting.exists():
        raise MouError(_("The approvers of your agency have not all approved yet."))
    req.status = RequestStatus.SIGNED
    req.acted_at = timezone.now()
    req.typed_name = typed_name.strip()
    req.typed_title = typed_title.strip()
    req.attested = True
    req.ip_address, req.user_agent = _client(request)
    req.document_sha256 = req.version.sha256
    try:
        with transaction.atomic():
            req.save()
    except IntegrityError:
        raise MouError(
            _("%(agency)s has already signed this version.") % {"agency": req.party.membership.agency.name}
        ) from None
    notifications.cancel(subject=req)
    audit.record(
        "mou.signed",
        actor=actor,
        obj=mou,
        request=request,
        request_id=req.pk,
        party=req.party.membership_id,
        version=req.version.number,
        sha256=req.version.sha256,
        typed_name=req.typed_name,
        typed_title=req.typed_title,
    )
    _notify_event(PARTY_SIGNED, req, mou)
    _maybe_execute(mou, req.version, actor)
    return req


@atomic
def request_decline(
    *, req: SignatureRequest, actor: Any, reason: str, text: str, request: HttpRequest | None = None
) -> SignatureRequest:
    req = _locked_request(req)
    mou = _check_actionable(req, actor, "decline")
    if reason not in DeclineReason.values:
        raise MouError(_("Choose a reason."))
    req.status = RequestStatus.DECLINED
    req.acted_at = timezone.now()
    req.decline_reason = reason
    req.decline_text = text.strip()
    req.ip_address, req.user_agent = _client(request)
    req.document_sha256 = req.version.sha256
    req.save()
    # The party's other open steps stop: its answer is given.
    others = SignatureRequest.objects.filter(version=req.version, party=req.party).exclude(pk=req.pk)
    for other in others.filter(status__in=[RequestStatus.WAITING, RequestStatus.SENT, RequestStatus.VIEWED]):
        notifications.cancel(subject=other)
    others.filter(status__in=[RequestStatus.WAITING, RequestStatus.SENT, RequestStatus.VIEWED]).update(
        status=RequestStatus.VOIDED
    )
    notifications.cancel(subject=req)
    audit.record(
        "mou.declined", actor=actor, obj=mou, request=request, request_id=req.pk, party=req.party.membership_id,
        reason=reason,
    )  # fmt: skip
    _notify_event(PARTY_DECLINED, req, mou)
    return req


def _required_parties(mou: Mou) -> list[MouParty]:
    return [p for p in mou.parties.all() if _live_letter(p) is None]


def _maybe_execute(mou: Mou, version: MouVersion, actor: Any) -> bool:
    required = _required_parties(mou)
    if not required:
        return False
    signed = set(
        SignatureRequest.objects.filter(
            version=version, role=RecipientRole.SIGNER, status=RequestStatus.SIGNED
        ).values_list("party_id", flat=True)
    )
    if any(p.pk not in signed for p in required):
        return False
    mou.status = MouStatus.EXECUTED
    mou.executed_version = version
    mou.executed_at = timezone.now()
    mou.renewal_of = None
    if mou.effective_on is None:
        mou.effective_on = timezone.localdate()
    mou.save(update_fields=["status", "executed_version", "executed_at", "renewal_of", "effective_on"])
    MouVersion.objects.filter(pk=version.pk).update(executed_at=mou.executed_at)
    audit.record("mou.executed", actor=actor, obj=mou, version=version.number, sha256=version.sha256)
    transaction.on_commit(lambda: store_executed_pdf(version_id=version.pk), robust=True)
    for user in _coordinators(mou):
        notifications.schedule(kind=EXECUTED, subject=version, recipient=user, due_at=timezone.now())
    schedule_expiry_reminders(mou, now=timezone.now())
    notifications.queue_sweep()
    return True


def store_executed_pdf(*, version_id: int) -> MouVersion:
    """Render the executed PDF once and keep its bytes and hash, so every download is the same file."""
    from mous import documents

    version = MouVersion.objects.select_related("mou__taskforce").get(pk=version_id)
    if version.executed_pdf:
        return version
    pdf = documents.executed_pdf(version)
    MouVersion.objects.filter(pk=version.pk, executed_pdf__isnull=True).update(
        executed_pdf=pdf, executed_pdf_sha256=sha256_hex_bytes(pdf)
    )
    version.refresh_from_db()
    return version


def sha256_hex_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- letters of understanding ---------------------------------------------------------------------------


@atomic
def lou_issue(*, party: MouParty, actor: Any) -> LetterOfUnderstanding:
    """An unsigned letter for an agency that declined or will not sign, stating the involvement expected.

    It lists the clauses the agency accepted: those of the version with no open or rejected objection
    from it. The party is no longer required to sign; if the others have signed, the MOU is executed.
    """
    mou = _lock(party.mou)
    party = MouParty.objects.select_for_update().select_related("membership__agency").get(pk=party.pk)
    if _live_letter(party) is not None:
        raise MouError(
            _("%(agency)s already has a letter of understanding.") % {"agency": party.membership.agency.name}
        )
    version = mou.signing_version or mou.latest_version
    if version is None:
        raise MouError(_("Circulate a version first."))
    objected = set(party.objections.filter(status=ObjectionStatus.OPEN).values_list("clause_key", flat=True))
    accepted = [c.number for c in version.clauses.all() if c.key not in objected]
    letter = LetterOfUnderstanding.objects.create(
        mou=mou,
        party=party,
        version=version,
        roles_text=party.membership.roles_and_responsibilities,
        response_text=party.membership.response_commitments,
        accepted_clause_numbers=accepted,
        issued_by=_actor_ok(actor),
    )
    # Its open signing steps end: the letter replaces the signature.
    pending = SignatureRequest.objects.filter(
        party=party, status__in=[RequestStatus.WAITING, RequestStatus.SENT, RequestStatus.VIEWED]
    )
    for req in pending:
        notifications.cancel(subject=req)
    pending.update(status=RequestStatus.VOIDED)
    audit.record("mou.lou_issued", actor=actor, obj=mou, party=party.membership_id, letter=letter.pk)
    if mou.status == MouStatus.SIGNING:
        _maybe_execute(mou, mou.signing_version, actor)
    return letter


@atomic
def lou_acknowledge(*, letter: LetterOfUnderstanding, actor: Any) -> LetterOfUnderstanding:
    letter = LetterOfUnderstanding.objects.select_for_update().select_related("party__mou").get(pk=letter.pk)
    if party_for(actor, letter.mou) != letter.party:
        raise NotAuthorized(
            _("Only the agency's liaisons can acknowledge its letter."),
            event=("mou.lou_acknowledge_refused", {"actor": actor, "obj": letter.mou, "letter": letter.pk}),
        )
    if letter.status != LouStatus.ISSUED:
        raise MouError(_("This letter is not awaiting acknowledgement."))
    letter.status = LouStatus.ACKNOWLEDGED
    letter.acknowledged_by = actor
    letter.acknowledged_at = timezone.now()
    letter.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
    audit.record("mou.lou_acknowledged", actor=actor, obj=letter.mou, letter=letter.pk)
    return letter


@atomic
def lou_withdraw(*, letter: LetterOfUnderstanding, actor: Any) -> LetterOfUnderstanding:
    letter = LetterOfUnderstanding.objects.select_for_update().get(pk=letter.pk)
    if letter.status == LouStatus.WITHDRAWN:
        raise MouError(_("This letter is already withdrawn."))
    letter.status = LouStatus.WITHDRAWN
    letter.save(update_fields=["status"])
    audit.record("mou.lou_withdrawn", actor=actor, obj=letter.mou, letter=letter.pk)
    return letter


# --- term and renewal -----------------------------------------------------------------------------------


@atomic
def mou_renew(*, mou: Mou, actor: Any, effective_on: date | None = None, expires_on: date | None = None) -> Mou:
    """Draft a renewal from the executed version; circulating and signing it asks every party to re-attest."""
    mou = _lock(mou)
    if mou.status != MouStatus.EXECUTED or mou.executed_version_id is None:
        raise MouError(_("Only an executed agreement can be renewed."))
    if mou.renewal_of_id is not None:
        raise MouError(_("A renewal is already being drafted."))
    executed = mou.executed_version
    mou.clauses.all().delete()
    Clause.objects.bulk_create(
        [
            Clause(mou=mou, key=c.key, position=c.number, heading=c.heading, body=c.body, updated_by=_actor_ok(actor))
            for c in executed.clauses.all()
        ]
    )
    mou.renewal_of = executed
    if effective_on:
        mou.effective_on = effective_on
    if expires_on:
        mou.expires_on = expires_on
    mou.save(update_fields=["renewal_of", "effective_on", "expires_on"])
    LetterOfUnderstanding.objects.filter(mou=mou, status=LouStatus.ISSUED).update(status=LouStatus.WITHDRAWN)
    audit.record("mou.renewal_started", actor=actor, obj=mou, from_version=executed.number)
    return mou


# --- reminders and notices ------------------------------------------------------------------------------


def reminder_times(sent_at: datetime, delay_days: int) -> list[datetime]:
    """First after `delay_days`, then every 2 days; at most 5, all within 30 days of sending."""
    times = []
    first = sent_at + timedelta(days=delay_days)
    for n in range(REMINDER_MAX):
        when = first + n * REMINDER_EVERY
        if when - sent_at > REMINDER_WINDOW:
            break
        times.append(when)
    return times


def schedule_request_reminders(req: SignatureRequest, *, mou: Mou | None = None) -> int:
    """Create the reminder rows of one pending step (idempotent: the unique key decides)."""
    if not req.is_pending or req.sent_at is None:
        return 0
    mou = mou or req.party.mou
    created = 0
    for when in reminder_times(req.sent_at, mou.reminder_delay_days):
        if notifications.schedule(kind=SIGN_REMINDER, subject=req, recipient=req.user, due_at=when) is not None:
            created += 1
    return created


def schedule_expiry_reminders(mou: Mou, *, now: datetime) -> int:
    if mou.status != MouStatus.EXECUTED or mou.expires_on is None:
        return 0
    created = 0
    recipients = {u.pk: u for u in _coordinators(mou)}
    for party in mou.parties.select_related("membership__liaison"):
        liaison = party.membership.liaison
        if liaison is not None and liaison.is_active:
            recipients[liaison.pk] = liaison
    for days in EXPIRY_NOTICE_DAYS:
        due_day = mou.expires_on - timedelta(days=days)
        due_at = timezone.make_aware(datetime.combine(due_day, datetime.min.time().replace(hour=9)))
        # A notice whose moment passed long ago (a later, closer one is due) is not worth sending.
        if days == max(EXPIRY_NOTICE_DAYS) and now.date() > mou.expires_on - timedelta(days=min(EXPIRY_NOTICE_DAYS)):
            continue
        if now.date() > mou.expires_on:
            continue
        for user in recipients.values():
            row = notifications.schedule(
                kind=EXPIRY_REMINDER, subject=mou, recipient=user, due_at=due_at, context={"days": days}
            )
            created += row is not None
    return created


def schedule_mou_notifications(now: datetime) -> None:
    """The hourly scheduler: reminder rows for every pending step, expiry rows for every executed MOU."""
    pending = SignatureRequest.objects.filter(
        status__in=[RequestStatus.SENT, RequestStatus.VIEWED], party__mou__status=MouStatus.SIGNING
    ).select_related("party__mou")
    for req in pending:
        if req.party.mou.signing_version_id == req.version_id:
            schedule_request_reminders(req, mou=req.party.mou)
    for mou in Mou.objects.filter(status=MouStatus.EXECUTED, expires_on__isnull=False):
        schedule_expiry_reminders(mou, now=now)


@atomic
def request_remind_now(*, req: SignatureRequest, actor: Any) -> bool:
    """The coordinator sends one reminder now (at most one a day per step); False if one went today."""
    req = _locked_request(req)
    if not req.is_pending:
        raise MouError(_("This step is not waiting for anybody."))
    row = notifications.schedule(kind=SIGN_NUDGE, subject=req, recipient=req.user, due_at=timezone.now())
    if row is None:
        return False
    audit.record("mou.reminder_sent", actor=actor, obj=req.party.mou, request_id=req.pk)
    notifications.queue_sweep()
    return True


def _notify_event(kind: str, req: SignatureRequest, mou: Mou) -> None:
    recipients = {u.pk: u for u in _coordinators(mou)}
    for recipient in req.party.recipients.filter(role=RecipientRole.CC).select_related("user"):
        recipients[recipient.user.pk] = recipient.user
    recipients.pop(req.user_id, None)
    for user in recipients.values():
        notifications.schedule(kind=kind, subject=req, recipient=user, due_at=timezone.now())
    notifications.queue_sweep()


def _url(name: str, *args: Any) -> str:
    from django.conf import settings

    return settings.SITE_URL + reverse(name, args=args)


def _render(template: str, subject: str, context: dict) -> notifications.Message:
    return notifications.render_message(subject=subject, template=template, context=context)


def _still_reads(notification: Any, mou: Mou) -> bool:
    """Whether the recipient may still see the MOU: access can end (an agency withdraws, a person is
    offboarded) between the row being scheduled and the sweep sending it."""
    return permissions.has_perm(notification.recipient, "mous.view_mou", mou)


def render_request(notification: Any) -> notifications.Message | None:
    """Signature requested, reminders and the coordinator's nudge: only while the step is still pending."""
    req = (
        SignatureRequest.objects.select_related("version__mou__taskforce", "party__membership__agency", "user")
        .filter(pk=notification.subject_id)
        .first()
    )
    if req is None or not req.is_pending or req.version.mou.signing_version_id != req.version_id:
        return None
    mou = req.version.mou
    if not _still_reads(notification, mou):
        return None
    reminder = notification.kind != SIGNATURE_REQUESTED
    verb = _("approve") if req.role == RecipientRole.APPROVER else _("sign")
    subject = (_("Reminder: please %(verb)s %(title)s") if reminder else _("Please %(verb)s %(title)s")) % {
        "verb": verb,
        "title": mou.title,
    }
    return _render(
        "emails/mou_request",
        subject,
        {
            "recipient": notification.recipient,
            "req": req,
            "mou": mou,
            "verb": verb,
            "reminder": reminder,
            "taskforce_name": mou.taskforce.name,
            "url": _url("mous:request", mou.taskforce.slug, mou.pk, req.pk),
        },
    )


def render_event(notification: Any) -> notifications.Message | None:
    req = (
        SignatureRequest.objects.select_related("version__mou__taskforce", "party__membership__agency", "user")
        .filter(pk=notification.subject_id)
        .first()
    )
    if req is None:
        return None
    mou = req.version.mou
    if not _still_reads(notification, mou):
        return None
    signed = notification.kind == PARTY_SIGNED
    subject = (_("%(agency)s signed %(title)s") if signed else _("%(agency)s declined %(title)s")) % {
        "agency": req.party.membership.agency.name,
        "title": mou.title,
    }
    return _render(
        "emails/mou_event",
        subject,
        {
            "recipient": notification.recipient,
            "req": req,
            "mou": mou,
            "signed": signed,
            "taskforce_name": mou.taskforce.name,
            "url": _url("mous:detail", mou.taskforce.slug, mou.pk),
        },
    )


def render_expiry(notification: Any) -> notifications.Message | None:
    mou = Mou.objects.select_related("taskforce").filter(pk=notification.subject_id).first()
    if mou is None or mou.status != MouStatus.EXECUTED or mou.expires_on is None:
        return None
    if not _still_reads(notification, mou):
        return None
    days = (mou.expires_on - timezone.localdate()).days
    subject = _("%(title)s expires on %(date)s") % {"title": mou.title, "date": mou.expires_on.isoformat()}
    return _render(
        "emails/mou_expiry",
        subject,
        {
            "recipient": notification.recipient,
            "mou": mou,
            "days": max(days, 0),
            "taskforce_name": mou.taskforce.name,
            "url": _url("mous:detail", mou.taskforce.slug, mou.pk),
        },
    )


def render_executed(notification: Any) -> notifications.Message | None:
    version = MouVersion.objects.select_related("mou__taskforce").filter(pk=notification.subject_id).first()
    if version is None or version.mou.executed_version_id != version.pk:
        return None
    mou = version.mou
    if not _still_reads(notification, mou):
        return None
    body = render_to_string(
        "emails/mou_executed.txt",
        {"mou": mou, "version": version, "url": _url("mous:detail", mou.taskforce.slug, mou.pk)},
    )
    return notifications.render_message(
        subject=_("%(title)s is executed") % {"title": mou.title},
        template="emails/base",
        context={"recipient": notification.recipient, "body": body.strip(), "taskforce_name": mou.taskforce.name},
    )


def register_notifications() -> None:
    notifications.register(SIGNATURE_REQUESTED, render_request)
    notifications.register(SIGN_REMINDER, render_request)
    notifications.register(SIGN_NUDGE, render_request)
    notifications.register(PARTY_SIGNED, render_event)
    notifications.register(PARTY_DECLINED, render_event)
    notifications.register(EXPIRY_REMINDER, render_expiry)
    notifications.register(EXECUTED, render_executed)
    notifications.register_scheduler(schedule_mou_notifications)
