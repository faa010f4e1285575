"""Every write about cases. Access is granted here and nowhere else: `case_sync_permissions` derives the
guardian rows from the lead agency, the active grants and the releases that justify them, exactly.

Expiry and revocation therefore never delete a permission by hand: they mark the grant or release and
re-sync, and the hourly scheduler (`expire_due`) does the same for whatever ran out on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    DEFAULT_RECOMMENDATIONS,
    IDENTIFYING_LEVELS,
    LEVEL_ORDER,
    LEVEL_PERMS,
    AccessRequest,
    Case,
    CaseAgency,
    CaseChange,
    CaseGrant,
    CaseGroupObjectPermission,
    CaseReview,
    CaseUserObjectPermission,
    Confidentiality,
    FollowUp,
    Level,
    Recommendation,
    Release,
)
from members.models import Membership, MembershipStatus, User
from taskforce import audit, notifications
from taskforce.models import TaskForce
from taskforce.services import StaleEdit

ACCESS_REQUESTED = "cases.access_requested"
ACCESS_DECIDED = "cases.access_decided"
FOLLOW_UP_DUE = "cases.follow_up_due"

# Fields of Case that an edit may change, and whether their values are narrative (encrypted in history).
EDITABLE_FIELDS = (
    "number",
    "label",
    "age_band",
    "county",
    "referral_source",
    "trafficking_type",
    "status",
    "confidentiality",
    "risk_flags",
    "summary",
    "service_needs",
)


class ShareRefused(Exception):
    """The share may not happen; the message says why, in words for the person trying."""


# --- permissions, derived -------------------------------------------------------------------------


def _perm_ids() -> dict[str, int]:
    content_type = ContentType.objects.get_for_model(Case)
    return dict(Permission.objects.filter(content_type=content_type).values_list("codename", "id"))


def _membership_of(user: User, taskforce: TaskForce) -> Membership | None:
    if user.agency_id is None:
        return None
    return Membership.objects.filter(
        taskforce=taskforce, agency_id=user.agency_id, status=MembershipStatus.ACTIVE
    ).first()


def desired_rows(case: Case, *, now: datetime | None = None) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    """(group rows, user rows) as (principal id, codename) that the case's access should be, now."""
    now = now or timezone.now()
    groups: set[tuple[int, str]] = set()
    users: set[tuple[int, str]] = set()
    lead = case.lead
    sealed = case.confidentiality == Confidentiality.SEALED
    if lead.status == MembershipStatus.ACTIVE:
        # The lead's liaisons are named people (the liaison and the alternate), so they keep a sealed case.
        groups |= {(lead.liaison_group_id, codename) for codename in LEVEL_PERMS[Level.MANAGE]}
        if not sealed:
            groups |= {(lead.group_id, codename) for codename in LEVEL_PERMS[Level.CONTRIBUTE]}
    if case.confidentiality == Confidentiality.STANDARD:
        # Involved agencies have the right to know the case exists; the need to know the rest is a grant.
        for involved in case.involved.select_related("membership"):
            if involved.membership.status == MembershipStatus.ACTIVE:
                groups.add((involved.membership.group_id, "view_case"))
    # A named person keeps a grant only while they belong to an active agency of the task force.
    members = set(
        User.objects.filter(
            is_active=True,
            agency__memberships__taskforce_id=case.taskforce_id,
            agency__memberships__status=MembershipStatus.ACTIVE,
        ).values_list("pk", flat=True)
    )
    for grant in case.grants.filter(revoked_at__isnull=True).select_related("membership", "release", "person"):
        if not grant.is_active(now):
            continue
        if grant.person_id:
            if grant.person_id in members:
                users |= {(grant.person_id, codename) for codename in LEVEL_PERMS[grant.level]}
        elif not sealed and grant.membership.status == MembershipStatus.ACTIVE:
            groups |= {(grant.membership.group_id, codename) for codename in LEVEL_PERMS[grant.level]}
    return groups, users


def case_sync_permissions(case: Case, *, now: datetime | None = None) -> tuple[int, int]:
    """Make the guardian rows on `case` exactly what `desired_rows` says; returns (added, removed)."""
    want_groups, want_users = desired_rows(case, now=now)
    perm_ids = _perm_ids()
    added = removed = 0
    for model, field, wanted in (
        (CaseGroupObjectPermission, "group_id", want_groups),
        (CaseUserObjectPermission, "user_id", want_users),
    ):
        existing = {
            (principal, codename): pk
            for pk, principal, codename in model.objects.filter(content_object=case).values_list(
                "pk", field, "permission__codename"
            )
        }
        stale = [pk for key, pk in existing.items() if key not in wanted]
        if stale:
            removed += model.objects.filter(pk__in=stale).delete()[0]
        missing = [key for key in wanted if key not in existing]
        model.objects.bulk_create(
            [model(content_object=case, permission_id=perm_ids[codename], **{field: pk}) for pk, codename in missing]
        )
        added += len(missing)
    return added, removed


def grantee_membership(case: Case, *, membership: Membership | None, person: User | None) -> Membership | None:
    return membership if membership is not None else _membership_of(person, case.taskforce)


def active_release_for(case: Case, membership: Membership | None, *, today: date | None = None) -> Release | None:
    """The release that lets identifying details reach `membership`'s agency, if one is active."""
    if membership is None:
        return None
    today = today or timezone.localdate()
    return (
        case.releases.filter(revoked_at__isnull=True, signed_on__lte=today, expires_on__gte=today, agencies=membership)
        .order_by("-expires_on")
        .first()
    )


def release_needed(case: Case, level: str, membership: Membership | None) -> bool:
    """Identifying details from a victim-service agency reach another agency only under a release naming it."""
    if level not in IDENTIFYING_LEVELS or not case.requires_release:
        return False
    return membership is None or membership.pk != case.lead_id


# --- cases -----------------------------------------------------------------------------------------


def ensure_recommendations(taskforce: TaskForce) -> None:
    if not Recommendation.objects.filter(taskforce=taskforce).exists():
        Recommendation.objects.bulk_create(
            [Recommendation(taskforce=taskforce, text=text) for text in DEFAULT_RECOMMENDATIONS]
        )


def _record_change(case: Case, actor: Any, action: str, values: dict[str, tuple[Any, Any]]) -> CaseChange:
    return CaseChange.objects.create(
        case=case,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        fields=sorted(values),
        values=json.dumps({key: [old, new] for key, (old, new) in values.items()}, default=str),
    )


@transaction.atomic
def case_create(
    *,
    taskforce: TaskForce,
    lead: Membership,
    actor: Any,
    involved: Iterable[Membership] = (),
    request: HttpRequest | None = None,
    **fields: Any,
) -> Case:
    if lead.taskforce_id != taskforce.pk or lead.status != MembershipStatus.ACTIVE:
        raise ValueError("the lead agency must be an active member of the task force")
    case = Case(
        taskforce=taskforce, lead=lead, created_by=actor, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    )
    case.full_clean()
    case.save()
    CaseAgency.objects.create(case=case, membership=lead, contact=actor if lead.agency_id == actor.agency_id else None)
    for membership in involved:
        if membership.pk != lead.pk and membership.taskforce_id == taskforce.pk:
            CaseAgency.objects.get_or_create(case=case, membership=membership)
    _record_change(case, actor, "created", {key: (None, getattr(case, key)) for key in EDITABLE_FIELDS})
    ensure_recommendations(taskforce)
    case_sync_permissions(case)
    audit.record("case.created", actor=actor, obj=case, request=request, lead=lead.agency.name)
    return case


@transaction.atomic
def case_update(
    *, case: Case, actor: Any, expected_version: int, request: HttpRequest | None = None, **fields: Any
) -> Case:
    """Save an edit; optimistic locking as in taskforce.services.charter_update."""
    current = Case.objects.select_for_update().select_related("lead__agency").get(pk=case.pk)
    if current.version != expected_version:
        raise StaleEdit(current)
    changes = {}
    for key in EDITABLE_FIELDS:
        if key in fields and getattr(current, key) != fields[key]:
            changes[key] = (getattr(current, key), fields[key])
            setattr(current, key, fields[key])
    if not changes:
        return current
    current.version += 1
    current.updated_at = timezone.now()
    current.full_clean()
    current.save()
    _record_change(current, actor, "updated", changes)
    if "confidentiality" in changes:
        case_sync_permissions(current)
    # Field names only: the values stay in the encrypted history, never in the audit log.
    audit.record("case.updated", actor=actor, obj=current, request=request, fields=sorted(changes))
    return current


@transaction.atomic
def involved_agency_set(
    *, case: Case, membership: Membership, contact: User | None, role: str, actor: Any, request=None
) -> CaseAgency:
    if membership.taskforce_id != case.taskforce_id:
        raise ValueError("not an agency of this task force")
    involved, created = CaseAgency.objects.update_or_create(
        case=case, membership=membership, defaults={"contact": contact, "role": role}
    )
    _record_change(
        case,
        actor,
        "agency_added" if created else "agency_updated",
        {"involved_agency": (None, membership.agency.name)},
    )
    case_sync_permissions(case)
    audit.record("case.agency_set", actor=actor, obj=case, request=request, agency=membership.agency.name)
    return involved


# --- sharing --------------------------------------------------------------------------------------


def share_check(
    case: Case,
    *,
    level: str,
    justification: str,
    membership: Membership | None,
    person: User | None,
    expires_at: datetime | None,
) -> Release | None:
    """The release that justifies this share (None if none is needed); ShareRefused, with why, if it may not happen."""
    if (membership is None) == (person is None):
        raise ValueError("share with exactly one agency or one person")
    if level not in LEVEL_ORDER:
        raise ValueError(f"unknown level {level!r}")
    if not justification.strip():
        raise ShareRefused(_("Say why this agency or person needs the case."))
    if expires_at is not None and expires_at <= timezone.now():
        raise ShareRefused(_("The expiry must be in the future."))
    if membership is not None:
        if membership.taskforce_id != case.taskforce_id or membership.status != MembershipStatus.ACTIVE:
            raise ShareRefused(_("Only active agencies of this task force can be given access."))
        if case.is_sealed:
            raise ShareRefused(_("A sealed case is shared only with named people, not whole agencies."))
    target = grantee_membership(case, membership=membership, person=person)
    if person is not None and target is None:
        raise ShareRefused(_("%(name)s is not in an active agency of this task force.") % {"name": person.full_name})
    if not release_needed(case, level, target):
        return None
    release = active_release_for(case, target)
    if release is None:
        raise ShareRefused(
            _(
                "%(lead)s is a victim-service agency: identifying details may go to %(agency)s only under an "
                "active release of information that names it. Record the survivor's signed release first, "
                "or share the summary only."
            )
            % {"lead": case.lead.agency.name, "agency": target.agency.name}
        )
    return release


def _checked(case: Case, actor: Any, request: HttpRequest | None, **share: Any) -> None:
    """Run share_check before any transaction of ours opens, so the refusal's audit row is kept."""
    case = Case.objects.select_related("lead__agency", "taskforce").get(pk=case.pk)
    try:
        share_check(case, **share)
    except ShareRefused as refusal:
        grantee = share["membership"].agency.name if share.get("membership") else share["person"].full_name
        audit.record(
            "case.share_refused",
            actor=actor,
            obj=case,
            request=request,
            reason=str(refusal),
            grantee=grantee,
            level=share["level"],
        )
        raise


def grant_create(
    *,
    case: Case,
    actor: Any,
    level: str,
    justification: str,
    membership: Membership | None = None,
    person: User | None = None,
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> CaseGrant:
    """Share the case; refuses (audited, with the reason) when a rule forbids it."""
    share = {
        "level": level,
        "justification": justification,
        "membership": membership,
        "person": person,
        "expires_at": expires_at,
    }
    _checked(case, actor, request, **share)
    return _grant_save(case=case, actor=actor, request=request, **share)


@transaction.atomic
def _grant_save(*, case: Case, actor: Any, request: HttpRequest | None, **share: Any) -> CaseGrant:
    case = Case.objects.select_for_update().select_related("lead__agency", "taskforce").get(pk=case.pk)
    release = share_check(case, **share)  # again under the lock: a release may have been revoked meanwhile
    membership, person, level, expires_at = share["membership"], share["person"], share["level"], share["expires_at"]
    detail = {"grantee": membership.agency.name if membership else person.full_name, "level": level}
    justification = share["justification"]
    grant = CaseGrant.objects.create(
        case=case,
        membership=membership,
        person=person,
        level=level,
        justification=justification.strip(),
        expires_at=expires_at,
        release=release,
        granted_by=actor,
    )
    case_sync_permissions(case)
    audit.record(
        "case.granted",
        actor=actor,
        obj=case,
        request=request,
        grant=grant.pk,
        release=release.pk if release else None,
        expires_at=expires_at.isoformat() if expires_at else None,
        **detail,
    )
    return grant


@transaction.atomic
def grant_revoke(*, grant: CaseGrant, actor: Any, reason: str = "", request: HttpRequest | None = None) -> CaseGrant:
    grant = CaseGrant.objects.select_for_update().select_related("case").get(pk=grant.pk)
    if grant.revoked_at is None:
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.revoke_reason = reason
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        case_sync_permissions(grant.case)
        audit.record("case.revoked", actor=actor, obj=grant.case, request=request, grant=grant.pk, reason=reason)
    return grant


# --- releases -------------------------------------------------------------------------------------


@transaction.atomic
def release_create(
    *,
    case: Case,
    actor: Any,
    agencies: Iterable[Membership],
    signed_by: str,
    scope: str,
    signed_on: date,
    expires_on: date,
    request: HttpRequest | None = None,
) -> Release:
    agencies = [m for m in agencies if m.taskforce_id == case.taskforce_id]
    if not agencies:
        raise ValueError("a release names at least one agency of the task force")
    release = Release(
        case=case, signed_by=signed_by, scope=scope, signed_on=signed_on, expires_on=expires_on, recorded_by=actor
    )
    release.full_clean()
    release.save()
    release.agencies.set(agencies)
    audit.record(
        "case.release_recorded",
        actor=actor,
        obj=case,
        request=request,
        release=release.pk,
        agencies=[m.agency.name for m in agencies],
        expires_on=expires_on.isoformat(),
    )
    case_sync_permissions(case)
    return release


@transaction.atomic
def release_revoke(*, release: Release, actor: Any, reason: str, request: HttpRequest | None = None) -> Release:
    """The survivor withdrew consent: every access the release justified ends now."""
    release = Release.objects.select_for_update().select_related("case").get(pk=release.pk)
    if release.revoked_at is None:
        release.revoked_at = timezone.now()
        release.revoked_by = actor
        release.revoke_reason = reason
        release.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        case_sync_permissions(release.case)
        audit.record(
            "case.release_revoked", actor=actor, obj=release.case, request=request, release=release.pk, reason=reason
        )
    return release


# --- access requests ------------------------------------------------------------------------------


def lead_liaisons(case: Case) -> list[User]:
    lead = case.lead
    return [person for person in (lead.liaison, lead.alternate_liaison) if person is not None and person.is_active]


@transaction.atomic
def access_request_create(
    *, case: Case, actor: User, level: str, justification: str, request: HttpRequest | None = None
) -> AccessRequest:
    if not justification.strip():
        raise ShareRefused(_("Say why you need access."))
    if AccessRequest.objects.filter(case=case, requester=actor, status=AccessRequest.Status.PENDING).exists():
        raise ShareRefused(_("You already have a request waiting for the lead agency."))
    access_request = AccessRequest.objects.create(
        case=case, requester=actor, level=level, justification=justification.strip()
    )
    audit.record(
        "case.access_requested", actor=actor, obj=case, request=request, access_request=access_request.pk, level=level
    )
    for liaison in lead_liaisons(case):
        notifications.schedule(kind=ACCESS_REQUESTED, subject=access_request, recipient=liaison, due_at=timezone.now())
    notifications.queue_sweep()
    return access_request


def access_request_decide(
    *,
    access_request: AccessRequest,
    actor: User,
    approve: bool,
    reason: str = "",
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> AccessRequest:
    if approve:
        _checked(
            access_request.case,
            actor,
            request,
            level=access_request.level,
            justification=access_request.justification,
            membership=None,
            person=access_request.requester,
            expires_at=expires_at,
        )
    return _decide(
        access_request=access_request,
        actor=actor,
        approve=approve,
        reason=reason,
        expires_at=expires_at,
        request=request,
    )


@transaction.atomic
def _decide(
    *,
    access_request: AccessRequest,
    actor: User,
    approve: bool,
    reason: str,
    expires_at: datetime | None,
    request: HttpRequest | None,
) -> AccessRequest:
    access_request = (
        AccessRequest.objects.select_for_update().select_related("case", "requester").get(pk=access_request.pk)
    )
    if access_request.status != AccessRequest.Status.PENDING:
        raise ShareRefused(_("This request was already decided."))
    if approve:
        access_request.grant = grant_create(
            case=access_request.case,
            actor=actor,
            level=access_request.level,
            justification=_("Access request: %(why)s") % {"why": access_request.justification},
            person=access_request.requester,
            expires_at=expires_at,
            request=request,
        )
        access_request.status = AccessRequest.Status.APPROVED
    else:
        if not reason.strip():
            raise ShareRefused(_("Give the requester a reason."))
        access_request.status = AccessRequest.Status.DECLINED
    access_request.decided_by = actor
    access_request.decided_at = timezone.now()
    access_request.decision_reason = reason.strip()
    access_request.save()
    audit.record(
        "case.access_approved" if approve else "case.access_declined",
        actor=actor,
        obj=access_request.case,
        request=request,
        access_request=access_request.pk,
        requester=access_request.requester.email,
    )
    notifications.schedule(
        kind=ACCESS_DECIDED, subject=access_request, recipient=access_request.requester, due_at=timezone.now()
    )
    notifications.cancel(kind=ACCESS_REQUESTED, subject=access_request)
    notifications.queue_sweep()
    return access_request


# --- reviews --------------------------------------------------------------------------------------


@transaction.atomic
def review_save(
    *,
    case: Case,
    actor: Any,
    review: CaseReview | None = None,
    expected_version: int | None = None,
    held_on: date,
    participants: Iterable[User],
    discussion: str,
    service_needs: str,
    recommendations: Iterable[Recommendation],
    agenda_item: Any = None,
    request: HttpRequest | None = None,
) -> CaseReview:
    """Save the review record, linked to the case-review agenda item it was held under.

    The record stays here, encrypted, under the case's own access rules: the meetings app's restricted
    minutes say only that the case was reviewed and where the record is ("recorded in the case file"),
    because every facilitator reads those minutes and approval seals them as plain JSON.
    """
    if review is None:
        if agenda_item is not None and not is_review_item_for(agenda_item, case):
            raise ValueError("that agenda item is not this case's review")
        review = CaseReview(
            case=case,
            recorded_by=actor,
            agenda_item=agenda_item,
            meeting_id=agenda_item.meeting_id if agenda_item is not None else None,
        )
    else:
        review = CaseReview.objects.select_for_update().get(pk=review.pk, case=case)
        if expected_version is not None and review.version != expected_version:
            raise StaleEdit(review)
        review.version += 1
    review.held_on = held_on
    review.discussion = discussion
    review.service_needs = service_needs
    review.updated_at = timezone.now()
    review.save()
    review.participants.set(list(participants))
    review.recommendations.set([r for r in recommendations if r.taskforce_id == case.taskforce_id])
    audit.record("case.review_saved", actor=actor, obj=case, request=request, review=review.pk)
    return review


def is_review_item_for(item: Any, case: Case) -> bool:
    return (
        item.item_type == "case_review"
        and item.source_type == "cases.case"
        and item.source_id == str(case.pk)
        and item.taskforce_id == case.taskforce_id
        and item.is_restricted
    )


@transaction.atomic
def follow_up_add(*, review: CaseReview, actor: Any, task: str, owner: User, due_on: date, request=None) -> FollowUp:
    follow_up = FollowUp.objects.create(review=review, case=review.case, task=task, owner=owner, due_on=due_on)
    _schedule_follow_up(follow_up)
    audit.record("case.follow_up_added", actor=actor, obj=review.case, request=request, follow_up=follow_up.pk)
    return follow_up


@transaction.atomic
def follow_up_set_status(*, follow_up: FollowUp, actor: Any, status: str, request=None) -> FollowUp:
    follow_up.status = status
    follow_up.save(update_fields=["status"])
    if status != FollowUp.Status.OPEN:
        notifications.cancel(kind=FOLLOW_UP_DUE, subject=follow_up)
    audit.record(
        "case.follow_up_status", actor=actor, obj=follow_up.case, request=request, follow_up=follow_up.pk, status=status
    )
    return follow_up


def _schedule_follow_up(follow_up: FollowUp) -> None:
    """A reminder two days before it is due (or now, if that has passed), at 8:00 in the task force's zone."""
    import zoneinfo

    zone = zoneinfo.ZoneInfo(follow_up.case.taskforce.time_zone)
    day = max(follow_up.due_on - timezone.timedelta(days=2), timezone.localdate())
    due_at = max(datetime.combine(day, datetime.min.time().replace(hour=8), tzinfo=zone), timezone.now())
    notifications.schedule(kind=FOLLOW_UP_DUE, subject=follow_up, recipient=follow_up.owner, due_at=due_at)


# --- the hourly sweep -----------------------------------------------------------------------------


def expire_due(now: datetime | None = None) -> int:
    """Grants and releases that ran out since the last run: mark them and re-sync their cases.

    Registered with notifications.register_scheduler, so it runs every hour whoever is signed in.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    case_ids: set[int] = set()
    grants = CaseGrant.objects.filter(revoked_at__isnull=True, lapsed_at__isnull=True, expires_at__lte=now)
    for grant in grants.select_related("case"):
        audit.record("case.grant_expired", actor=None, obj=grant.case, grant=grant.pk)
        case_ids.add(grant.case_id)
    grants.update(lapsed_at=now)
    releases = Release.objects.filter(revoked_at__isnull=True, lapsed_at__isnull=True, expires_on__lt=today)
    for release in releases.select_related("case"):
        audit.record("case.release_expired", actor=None, obj=release.case, release=release.pk)
        case_ids.add(release.case_id)
    releases.update(lapsed_at=now)
    # People who left (offboarded, or their agency withdrew) lose what was shared with them by name.
    for grant in CaseGrant.objects.filter(revoked_at__isnull=True, person__isnull=False).select_related(
        "case", "person"
    ):
        if _membership_of(grant.person, grant.case.taskforce) is None or not grant.person.is_active:
            case_ids.add(grant.case_id)
    for case in Case.objects.filter(pk__in=case_ids).select_related("lead"):
        case_sync_permissions(case, now=now)
    return len(case_ids)


# --- notifications (no narrative, ever: the number and a link) ------------------------------------


def _case_url(case: Case) -> str:
    from django.conf import settings

    return settings.SITE_URL + reverse("cases:detail", kwargs={"slug": case.taskforce.slug, "pk": case.pk})


def render_access_requested(row: Any) -> notifications.Message | None:
    access_request = (
        AccessRequest.objects.select_related("case__taskforce", "requester").filter(pk=row.subject_id).first()
    )
    if access_request is None or access_request.status != AccessRequest.Status.PENDING:
        return None
    case = access_request.case
    from cases.selectors import case_perms

    if "manage_case_sharing" not in case_perms(row.recipient, case):
        return None  # no longer manages the case's sharing: nothing about it
    body = _(
        "%(who)s asked for access to %(case)s in %(tf)s. Review the request on the case's sharing page:\n%(url)s"
    ) % {"who": access_request.requester.full_name, "case": case, "tf": case.taskforce.name, "url": _case_url(case)}
    return notifications.render_message(
        subject=_("Access request for %(case)s") % {"case": case},
        template="emails/base",
        context={"recipient": row.recipient, "body": body, "taskforce_name": case.taskforce.name},
    )


def render_access_decided(row: Any) -> notifications.Message | None:
    access_request = AccessRequest.objects.select_related("case__taskforce").filter(pk=row.subject_id).first()
    if access_request is None or access_request.status == AccessRequest.Status.PENDING:
        return None
    case = access_request.case
    from cases.selectors import case_perms

    if "view_case" not in case_perms(row.recipient, case):
        return None  # the case no longer exists for them: not even the lead agency's reason
    if access_request.status == AccessRequest.Status.APPROVED:
        body = _("Your request for access to %(case)s was approved:\n%(url)s") % {"case": case, "url": _case_url(case)}
    else:
        body = _("Your request for access to %(case)s was declined. The lead agency's reason: %(reason)s") % {
            "case": case,
            "reason": access_request.decision_reason,
        }
    return notifications.render_message(
        subject=_("Your access request for %(case)s") % {"case": case},
        template="emails/base",
        context={"recipient": row.recipient, "body": body, "taskforce_name": case.taskforce.name},
    )


def render_follow_up_due(row: Any) -> notifications.Message | None:
    follow_up = FollowUp.objects.select_related("case__taskforce").filter(pk=row.subject_id).first()
    if follow_up is None or follow_up.status != FollowUp.Status.OPEN:
        return None
    from cases.selectors import case_perms

    if "contribute_case" not in case_perms(row.recipient, follow_up.case):
        return None  # access ended since: no reminder, and nothing about the case
    case = follow_up.case
    body = _("A case review follow-up you own on %(case)s is due on %(due)s. Open the case to see it:\n%(url)s") % {
        "case": case,
        "due": follow_up.due_on.isoformat(),
        "url": _case_url(case),
    }
    return notifications.render_message(
        subject=_("Follow-up due on %(case)s") % {"case": case},
        template="emails/base",
        context={"recipient": row.recipient, "body": body, "taskforce_name": case.taskforce.name},
    )


def has_any_case_access(user: User) -> bool:
    """For taskforce.auth.MFA_REQUIRED_CHECKS: anyone who can open any case must use two factors."""
    return bool(
        user.is_authenticated
        and (
            CaseUserObjectPermission.objects.filter(user=user).exists()
            or CaseGroupObjectPermission.objects.filter(group__user=user).exists()
        )
    )


@transaction.atomic
def recommendations_update(
    *, taskforce: TaskForce, actor: Any, add: str = "", retire: Iterable[Recommendation] = ()
) -> None:
    ensure_recommendations(taskforce)
    if add.strip():
        Recommendation.objects.update_or_create(taskforce=taskforce, text=add.strip(), defaults={"active": True})
    retired = Recommendation.objects.filter(taskforce=taskforce, pk__in=[r.pk for r in retire]).update(active=False)
    audit.record("case.recommendations_updated", actor=actor, taskforce=taskforce, added=add.strip(), retired=retired)
