"""Every write about agencies, people and memberships. Permission grants happen here and nowhere else."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import (
    Agency,
    Goal,
    GoalStatus,
    Invitation,
    Membership,
    MembershipStatus,
    Role,
    Subcommittee,
    TaskForceRole,
    TrainingAttendance,
    TrainingEvent,
    TrainingTopic,
    User,
)
from taskforce import audit, notifications, permissions
from taskforce.models import TaskForce

logger = logging.getLogger(__name__)

INVITATION_REMINDER = "members.invitation_reminder"

AGENCY_FIELDS = (
    "name",
    "sector",
    "level",
    "jurisdiction",
    "is_rural",
    "is_tribal",
    "address",
    "website",
    "main_contact_name",
    "main_contact_email",
    "main_contact_phone",
    "after_hours_phone",
)


class InvitationError(Exception):
    """The invitation cannot be used; the message says why, for the person holding the link."""


# --- agencies and memberships -------------------------------------------------------------


@transaction.atomic
def agency_create(*, actor: Any, **fields: Any) -> Agency:
    agency = Agency(**{key: value for key, value in fields.items() if key in AGENCY_FIELDS})
    agency.full_clean()
    agency.save()
    audit.record("agency.created", actor=actor, obj=agency)
    return agency


@transaction.atomic
def agency_update(*, agency: Agency, actor: Any, taskforce: TaskForce | None = None, **fields: Any) -> Agency:
    changed = [key for key in AGENCY_FIELDS if key in fields and getattr(agency, key) != fields[key]]
    for key in changed:
        setattr(agency, key, fields[key])
    agency.full_clean()
    agency.save()
    audit.record("agency.updated", actor=actor, obj=agency, taskforce=taskforce, fields=changed)
    return agency


@transaction.atomic
def membership_create(*, taskforce: TaskForce, agency: Agency, actor: Any) -> Membership:
    """Add an agency to a task force, with its two groups and their grants."""
    prefix = f"tf:{taskforce.slug}:agency:{agency.pk}"
    membership = Membership.objects.create(
        taskforce=taskforce,
        agency=agency,
        group=Group.objects.create(name=prefix),
        liaison_group=Group.objects.create(name=f"{prefix}:liaisons"),
    )
    permissions.grant("taskforce.view_taskforce", membership.group, taskforce)
    permissions.grant("taskforce.view_taskforce", membership.liaison_group, taskforce)
    for perm in ("members.change_membership", "members.act_for_agency"):
        permissions.grant(perm, membership.liaison_group, membership)
    permissions.grant("members.change_membership", taskforce.coordinators, membership)
    audit.record("membership.created", actor=actor, obj=membership, taskforce=taskforce)
    return membership


@dataclass
class Onboarded:
    membership: Membership
    invitation: Invitation


@transaction.atomic
def organization_onboard(
    *,
    taskforce: TaskForce,
    actor: Any,
    agency: Agency | None = None,
    agency_fields: dict[str, Any] | None = None,
    liaison_email: str,
    liaison_name: str,
    roles_and_responsibilities: str = "",
) -> Onboarded:
    """An admin or coordinator adds a partner organization and invites its liaison."""
    if agency is None:
        agency = agency_create(actor=actor, **(agency_fields or {}))
    membership = membership_create(taskforce=taskforce, agency=agency, actor=actor)
    if roles_and_responsibilities:
        membership.roles_and_responsibilities = roles_and_responsibilities
        membership.save(update_fields=["roles_and_responsibilities"])
    invitation = invitation_create(
        membership=membership, actor=actor, email=liaison_email, full_name=liaison_name, role=Role.LIAISON
    )
    return Onboarded(membership=membership, invitation=invitation)


@transaction.atomic
def membership_update_profile(
    *,
    membership: Membership,
    actor: Any,
    roles_and_responsibilities: str,
    response_commitments: str,
    signatory: User | None,
    alternate_liaison: User | None,
    acknowledge_commitment: bool,
) -> Membership:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    membership.roles_and_responsibilities = roles_and_responsibilities
    membership.response_commitments = response_commitments
    membership.signatory = signatory
    if alternate_liaison != membership.alternate_liaison:
        _set_alternate_liaison(membership, alternate_liaison, actor)
    if acknowledge_commitment and not membership.commitment_acknowledged_at:
        membership.commitment_acknowledged_by = actor
        membership.commitment_acknowledged_at = timezone.now()
        audit.record("membership.commitment_acknowledged", actor=actor, obj=membership)
    membership.save()
    audit.record("membership.profile_updated", actor=actor, obj=membership)
    return membership


def _set_alternate_liaison(membership: Membership, person: User | None, actor: Any) -> None:
    previous = membership.alternate_liaison
    if previous is not None and previous != membership.liaison:
        membership.liaison_group.user_set.remove(previous)
        TaskForceRole.objects.filter(taskforce=membership.taskforce, user=previous, role=Role.LIAISON).delete()
    membership.alternate_liaison = person
    if person is not None:
        role_grant(taskforce=membership.taskforce, user=person, role=Role.LIAISON, actor=actor, membership=membership)


@transaction.atomic
def membership_withdraw(*, membership: Membership, actor: Any, reason: str = "") -> Membership:
    """The agency leaves the task force: every access it had there ends now."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    taskforce = membership.taskforce
    groups = [membership.group, membership.liaison_group]
    # Everyone who is there through this agency, including its coordinators and facilitators.
    people = list(
        User.objects.filter(
            Q(groups__in=groups) | Q(agency=membership.agency, taskforce_roles__taskforce=taskforce)
        ).distinct()
    )
    removed = permissions.revoke_all_for_groups(groups)
    for group in groups:
        group.user_set.clear()
    for group in (taskforce.coordinators, taskforce.facilitators):
        group.user_set.remove(*[person for person in people if person.agency_id == membership.agency_id])
    TaskForceRole.objects.filter(taskforce=taskforce, user__in=people, user__agency=membership.agency).delete()
    for invitation in membership.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True):
        invitation_revoke(invitation=invitation, actor=actor)
    membership.status = MembershipStatus.WITHDRAWN
    membership.withdrawn_on = timezone.localdate()
    membership.save(update_fields=["status", "withdrawn_on"])
    audit.record("membership.withdrawn", actor=actor, obj=membership, reason=reason, permissions_removed=removed)
    from taskforce.auth import end_all_sessions

    for person in people:
        end_all_sessions(person)
    return membership


# --- roles ----------------------------------------------------------------------------------


def _role_groups(taskforce: TaskForce, role: str, membership: Membership | None) -> list[Group]:
    if role == Role.COORDINATOR:
        return [taskforce.coordinators]
    if role == Role.FACILITATOR:
        return [taskforce.facilitators]
    if membership is None:
        raise ValueError("liaison and member roles belong to an agency's membership")
    if role == Role.LIAISON:
        return [membership.group, membership.liaison_group]
    return [membership.group]


def membership_of(user: User, taskforce: TaskForce) -> Membership | None:
    if user.agency_id is None:
        return None
    return Membership.objects.filter(taskforce=taskforce, agency_id=user.agency_id).first()


@transaction.atomic
def role_grant(
    *, taskforce: TaskForce, user: User, role: str, actor: Any, membership: Membership | None = None
) -> TaskForceRole:
    membership = membership or membership_of(user, taskforce)
    for group in _role_groups(taskforce, role, membership):
        group.user_set.add(user)
    if membership is not None and role in (Role.COORDINATOR, Role.FACILITATOR):
        membership.group.user_set.add(user)  # a coordinator from an agency is also one of its people
    task_role, created = TaskForceRole.objects.get_or_create(taskforce=taskforce, user=user, role=role)
    if created:
        audit.record("role.granted", actor=actor, obj=user, taskforce=taskforce, role=role)
    return task_role


@transaction.atomic
def role_revoke(*, taskforce: TaskForce, user: User, role: str, actor: Any) -> None:
    membership = membership_of(user, taskforce)
    if role == Role.LIAISON and membership is not None:
        membership.liaison_group.user_set.remove(user)
        if membership.liaison_id == user.pk:
            Membership.objects.filter(pk=membership.pk).update(liaison=None)
        if membership.alternate_liaison_id == user.pk:
            Membership.objects.filter(pk=membership.pk).update(alternate_liaison=None)
    elif role in (Role.COORDINATOR, Role.FACILITATOR):
        for group in _role_groups(taskforce, role, membership):
            group.user_set.remove(user)
    deleted, _unused = TaskForceRole.objects.filter(taskforce=taskforce, user=user, role=role).delete()
    if deleted:
        audit.record("role.revoked", actor=actor, obj=user, taskforce=taskforce, role=role)


@transaction.atomic
def roles_set(*, taskforce: TaskForce, user: User, roles: set[str], actor: Any) -> None:
    current = set(TaskForceRole.objects.filter(taskforce=taskforce, user=user).values_list("role", flat=True))
    for role in current - roles:
        role_revoke(taskforce=taskforce, user=user, role=role, actor=actor)
    for role in roles - current:
        role_grant(taskforce=taskforce, user=user, role=role, actor=actor)


@transaction.atomic
def person_update(*, person: User, actor: Any, **fields: Any) -> User:
    allowed = ("full_name", "title", "agency_role", "phone", "after_hours_phone")
    for key in allowed:
        if key in fields:
            setattr(person, key, fields[key])
    person.save(update_fields=[key for key in allowed if key in fields])
    audit.record("person.updated", actor=actor, obj=person)
    return person


@transaction.atomic
def person_offboard(*, taskforce: TaskForce, person: User, actor: Any) -> None:
    """Remove a person from a task force now: roles, groups, sessions; the account too if nothing is left."""
    for role in TaskForceRole.objects.filter(taskforce=taskforce, user=person).values_list("role", flat=True):
        role_revoke(taskforce=taskforce, user=person, role=role, actor=actor)
    membership = membership_of(person, taskforce)
    if membership is not None:
        membership.group.user_set.remove(person)
        membership.liaison_group.user_set.remove(person)
        if membership.signatory_id == person.pk:
            Membership.objects.filter(pk=membership.pk).update(signatory=None)
    person.groups.remove(taskforce.coordinators, taskforce.facilitators)
    if not TaskForceRole.objects.filter(user=person).exists() and not person.is_superuser:
        person.is_active = False
        person.offboarded_at = timezone.now()
        person.save(update_fields=["is_active", "offboarded_at"])
        permissions.revoke_all_for_user(person)
    audit.record("person.offboarded", actor=actor, obj=person, taskforce=taskforce)
    from taskforce.auth import end_all_sessions

    end_all_sessions(person)


# --- invitations ----------------------------------------------------------------------------


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, Invitation.hash_token(token)


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("members:invitation_accept", args=[token])


def _send_invitation_email(invitation_id: int, token: str, *, reminder: bool = False) -> None:
    invitation = Invitation.objects.select_related("taskforce", "membership__agency", "invited_by").get(
        pk=invitation_id
    )
    context = {"invitation": invitation, "url": invitation_url(token), "reminder": reminder}
    # One line whatever the task force's name holds: a CR in it made the message unsendable.
    subject = notifications.clean_header(render_to_string("emails/invitation_subject.txt", context))
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/invitation.txt", context),
        to=[invitation.email],
    )
    try:
        message.send()
    except OSError:
        # The invitation stays valid; the coordinator sees it unsent and can resend.
        logger.exception("Could not send invitation %s", invitation_id)
        return
    Invitation.objects.filter(pk=invitation_id).update(sent_at=timezone.now())


@transaction.atomic
def invitation_create(*, membership: Membership, actor: Any, email: str, full_name: str, role: str) -> Invitation:
    email = email.strip().lower()
    taskforce = membership.taskforce
    if Invitation.objects.filter(
        taskforce=taskforce, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).exists():
        raise InvitationError(_("%(email)s already has an open invitation to this task force.") % {"email": email})
    person = User.objects.filter(email=email).first()
    if person is not None and person.agency_id not in (None, membership.agency_id):
        raise InvitationError(_("%(email)s belongs to another agency.") % {"email": email})
    if person is not None and TaskForceRole.objects.filter(taskforce=taskforce, user=person).exists():
        raise InvitationError(_("%(email)s is already a member of this task force.") % {"email": email})
    if person is None:
        person = User.objects.create_user(email, None, full_name=full_name, agency=membership.agency)
    token, token_hash = _new_token()
    invitation = Invitation.objects.create(
        taskforce=taskforce,
        membership=membership,
        person=person,
        email=email,
        full_name=full_name,
        role=role,
        token_hash=token_hash,
        invited_by=actor if getattr(actor, "is_authenticated", False) else None,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
        send_count=1,
    )
    for group in (taskforce.coordinators, membership.liaison_group):
        permissions.grant("members.view_invitation", group, invitation)
        permissions.grant("members.change_invitation", group, invitation)
    _schedule_reminder(invitation)
    audit.record("invitation.created", actor=actor, obj=invitation, taskforce=taskforce, email=email, role=role)
    transaction.on_commit(lambda: _send_invitation_email(invitation.pk, token))
    invitation.token = token  # only in memory, for the caller (seeding, tests); never stored
    return invitation


def _schedule_reminder(invitation: Invitation) -> None:
    """Remind the invitee after N days. The row is the truth: scheduled once, sent once, never lost."""
    notifications.schedule(
        kind=INVITATION_REMINDER,
        subject=invitation,
        recipient=invitation.person,
        due_at=invitation.created_at + timedelta(days=settings.INVITATION_REMINDER_AFTER_DAYS),
    )


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: Any) -> Invitation:
    """A fresh link (the old one stops working) and a fresh expiry."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationError(
            _("This invitation has already been %(status)s.") % {"status": invitation.get_status_display().lower()}
        )
    token, invitation.token_hash = _new_token()
    invitation.expires_at = timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)
    invitation.send_count += 1
    invitation.save(update_fields=["token_hash", "expires_at", "send_count"])
    audit.record("invitation.resent", actor=actor, obj=invitation)
    transaction.on_commit(lambda: _send_invitation_email(invitation.pk, token))
    invitation.token = token
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Any) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise InvitationError(_("This invitation was already accepted; offboard the person instead."))
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        notifications.cancel(subject=invitation)
        audit.record("invitation.revoked", actor=actor, obj=invitation)
    return invitation


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link points to, or InvitationError saying why it cannot be used."""
    invitation = (
        Invitation.objects.select_related("taskforce", "membership__agency")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationError(_("This invitation link is not valid. It may have been replaced by a newer one."))
    if invitation.accepted_at:
        raise InvitationError(_("This invitation has already been accepted. Sign in instead."))
    if invitation.revoked_at:
        raise InvitationError(_("This invitation was withdrawn. Ask your task force coordinator for a new one."))
    if invitation.expires_at <= timezone.now():
        raise InvitationError(_("This invitation has expired. Ask your task force coordinator to resend it."))
    return invitation


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    password: str | None,
    full_name: str,
    title: str = "",
    agency_role: str = "",
    phone: str = "",
    request: Any = None,
    signed_in_user: User | None = None,
) -> User:
    """Turn an invitation into a person with a role. Single use: the row is locked and marked."""
    invitation = invitation_for_token(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:  # lost a race with a second click
        raise InvitationError(_("This invitation has already been accepted. Sign in instead."))
    membership = invitation.membership
    user = invitation.person
    if user.has_usable_password():
        if signed_in_user is None or signed_in_user.pk != user.pk:
            raise InvitationError(
                _("You already have an account: sign in as %(email)s to accept.") % {"email": user.email}
            )
    else:
        if not password:
            raise InvitationError(_("Choose a password to finish joining."))
        user.set_password(password)
    user.full_name = full_name
    user.title = title
    user.agency_role = agency_role
    user.phone = phone
    user.agency = membership.agency
    user.is_active = True
    user.offboarded_at = None
    user.save()
    role_grant(taskforce=invitation.taskforce, user=user, role=invitation.role, actor=user, membership=membership)
    if invitation.role != Role.MEMBER:
        role_grant(taskforce=invitation.taskforce, user=user, role=Role.MEMBER, actor=user, membership=membership)
    if invitation.role == Role.LIAISON:
        if membership.liaison_id is None:
            membership.liaison = user
        elif membership.alternate_liaison_id is None and membership.liaison_id != user.pk:
            membership.alternate_liaison = user
        if membership.status == MembershipStatus.INVITED:
            membership.status = MembershipStatus.ACTIVE
            membership.joined_on = timezone.localdate()
        membership.save()
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    notifications.cancel(subject=invitation)
    audit.record("invitation.accepted", actor=user, obj=invitation, request=request, role=invitation.role)
    return user


def render_invitation_reminder(notification: Any) -> notifications.Message | None:
    """Remind the invitee, with a fresh link: only token hashes are stored, so the old link can't be repeated."""
    invitation = (
        Invitation.objects.select_related("taskforce", "membership__agency").filter(pk=notification.subject_id).first()
    )
    if invitation is None or not invitation.is_usable:
        return None
    token, token_hash = _new_token()
    Invitation.objects.filter(pk=invitation.pk).update(token_hash=token_hash, send_count=invitation.send_count + 1)
    context = {"invitation": invitation, "url": invitation_url(token), "reminder": True}
    return notifications.Message(
        subject=render_to_string("emails/invitation_subject.txt", context).strip().replace("\n", " "),
        body=render_to_string("emails/invitation.txt", context),
    )


# --- action plan, subcommittees, training ---------------------------------------------------

DEFAULT_TRAINING_TOPICS = (
    "CSEC identification",
    "Trauma-informed care",
    "Confidentiality and information sharing",
    "Labor trafficking",
)

GOAL_REVIEW_DUE = "members.goal_review_due"


def training_topics_ensure(*, taskforce: TaskForce) -> None:
    """Every task force starts with the core topics the fact sheet's training challenge calls for."""
    if not TrainingTopic.objects.filter(taskforce=taskforce).exists():
        TrainingTopic.objects.bulk_create(
            [TrainingTopic(taskforce=taskforce, name=name, is_core=True) for name in DEFAULT_TRAINING_TOPICS],
            ignore_conflicts=True,
        )


@transaction.atomic
def training_topic_add(
    *, taskforce: TaskForce, actor: Any, name: str, is_core: bool, valid_for_months: int
) -> TrainingTopic:
    topic = TrainingTopic.objects.create(
        taskforce=taskforce, name=name, is_core=is_core, valid_for_months=valid_for_months
    )
    audit.record("training.topic_added", actor=actor, obj=topic, taskforce=taskforce)
    return topic


@transaction.atomic
def goal_save(*, taskforce: TaskForce, actor: Any, goal: Goal | None = None, **fields: Any) -> Goal:
    goal = goal or Goal(taskforce=taskforce)
    for key in ("title", "objective", "target_on", "status", "progress"):
        if key in fields:
            setattr(goal, key, fields[key])
    goal.full_clean()
    goal.save()
    audit.record("goal.saved", actor=actor, obj=goal, taskforce=taskforce)
    return goal


@transaction.atomic
def goal_mark_reviewed(*, goal: Goal, actor: Any) -> Goal:
    goal.reviewed_on = timezone.localdate()
    goal.save(update_fields=["reviewed_on"])
    notifications.cancel(kind=GOAL_REVIEW_DUE, subject=goal)
    audit.record("goal.reviewed", actor=actor, obj=goal, taskforce=goal.taskforce)
    return goal


@transaction.atomic
def subcommittee_save(
    *,
    taskforce: TaskForce,
    actor: Any,
    name: str,
    charge: str,
    chair: User | None,
    members: list[User],
    goals: list[Goal],
    subcommittee: Subcommittee | None = None,
) -> Subcommittee:
    subcommittee = subcommittee or Subcommittee(taskforce=taskforce)
    clash = Subcommittee.objects.filter(taskforce=taskforce, name__iexact=name).exclude(pk=subcommittee.pk)
    if clash.exists():
        raise ValidationError(_("There is already a subcommittee called %(name)s.") % {"name": name})
    subcommittee.name, subcommittee.charge, subcommittee.chair = name, charge, chair
    subcommittee.full_clean()
    subcommittee.save()
    people = set(members) | ({chair} if chair else set())
    subcommittee.members.set(people)
    subcommittee.goals.set(goals)
    audit.record("subcommittee.saved", actor=actor, obj=subcommittee, taskforce=taskforce, members=len(people))
    return subcommittee


@transaction.atomic
def training_event_save(
    *,
    taskforce: TaskForce,
    actor: Any,
    title: str,
    kind: str,
    topics: list[TrainingTopic],
    trainer: str,
    held_on: Any,
    duration_minutes: int,
    agency: Agency | None = None,
    attendees: list[User] | None = None,
    event: TrainingEvent | None = None,
    source_label: str = "",
) -> TrainingEvent:
    """Record a training (or a team activity) and who attended; meetings call this for training segments."""
    event = event or TrainingEvent(taskforce=taskforce, created_by=actor if getattr(actor, "pk", None) else None)
    event.title, event.kind, event.trainer = title, kind, trainer
    event.held_on, event.duration_minutes, event.agency = held_on, duration_minutes, agency
    event.source_label = source_label or event.source_label
    event.full_clean()
    event.save()
    event.topics.set([topic for topic in topics if topic.taskforce_id == taskforce.pk])
    if attendees is not None:
        training_attendance_set(event=event, people=attendees, actor=actor)
    audit.record("training.saved", actor=actor, obj=event, taskforce=taskforce)
    return event


def training_attendance_set(*, event: TrainingEvent, people: list[User], actor: Any) -> None:
    wanted = {person.pk for person in people}
    event.attendances.exclude(person_id__in=wanted).delete()
    existing = set(event.attendances.values_list("person_id", flat=True))
    TrainingAttendance.objects.bulk_create(
        [
            TrainingAttendance(event=event, person_id=pk, recorded_by=actor if getattr(actor, "pk", None) else None)
            for pk in wanted - existing
        ]
    )


def schedule_goal_reviews(now: Any) -> int:
    """Hourly: a goal not reviewed for a year reminds the coordinators, once per goal per day it falls due."""
    year_ago = timezone.localdate() - timedelta(days=365)
    created = 0
    goals = (
        Goal.objects.exclude(status__in=[GoalStatus.ACHIEVED, GoalStatus.DROPPED])
        .filter(Q(reviewed_on__lt=year_ago) | Q(reviewed_on__isnull=True, created_at__date__lt=year_ago))
        .select_related("taskforce__coordinators")
    )
    for goal in goals:
        due_from = goal.reviewed_on or goal.created_at.date()
        due_at = timezone.make_aware(datetime.combine(due_from + timedelta(days=365), time(9)))
        for coordinator in goal.taskforce.coordinators.user_set.filter(is_active=True):
            if notifications.schedule(kind=GOAL_REVIEW_DUE, subject=goal, recipient=coordinator, due_at=due_at):
                created += 1
    return created


def render_goal_review(notification: Any) -> notifications.Message | None:
    goal = Goal.objects.select_related("taskforce").filter(pk=notification.subject_id).first()
    if goal is None or goal.status in (GoalStatus.ACHIEVED, GoalStatus.DROPPED):
        return None
    if not permissions.has_perm(notification.recipient, "taskforce.view_taskforce", goal.taskforce):
        return None  # left the task force since the review was scheduled
    url = settings.SITE_URL + reverse("members:plan", args=[goal.taskforce.slug])
    return notifications.Message(
        subject=_("Action plan goal due for its yearly review: %(title)s") % {"title": goal.title},
        body=_(
            'The goal "%(title)s" of %(tf)s has not been reviewed for a year.\n\n'
            "Review its objective, target date and progress with the task force:\n%(url)s\n"
        )
        % {"title": goal.title, "tf": goal.taskforce.name, "url": url},
    )
