"""Agreements: drafting, versions and diffs, objections, signatures, letters of understanding, PDFs."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from members.models import Membership, MembershipStatus, User
from mous import documents, forms, selectors, services
from mous.models import (
    Clause,
    LetterOfUnderstanding,
    LouStatus,
    Mou,
    MouParty,
    MouStatus,
    MouVersion,
    Objection,
    ObjectionStatus,
    RecipientRole,
    SignatureRequest,
)
from mous.rendering import diff_versions
from taskforce import agenda, audit, freshness, permissions
from taskforce.models import TaskForce
from taskforce.pdf import pdf_response
from taskforce.services import StaleEdit

# --- fetching through permissions ------------------------------------------------------------------------


def _mou(request: HttpRequest, taskforce: TaskForce, pk: int, perm: str = "mous.view_mou") -> Mou:
    queryset = Mou.objects.filter(taskforce=taskforce).select_related("taskforce")
    return permissions.get_for_user(request.user, perm, queryset, request=request, pk=pk)


def _child(request: HttpRequest, mou: Mou, queryset, **lookup):
    """A record that belongs to a visible MOU; anything else is a 404, audited like any other."""
    obj = queryset.filter(**lookup).first()
    if obj is None:
        audit.record(
            "access.not_found",
            request=request,
            taskforce=mou.taskforce,
            model=queryset.model._meta.label_lower,
            lookup={k: str(v) for k, v in lookup.items()},
            exists=queryset.model._default_manager.filter(**lookup).exists(),
        )
        raise Http404
    return obj


def _attempt(
    request: HttpRequest, mou: Mou, perm: str, action: Callable[[], Any], success: Callable[[Any], str]
) -> bool:
    """Run one service step for a POST: a refusal (NotAuthorized) is an audited 403, any other MouError is
    shown as a message. True when the step went through."""
    try:
        result = action()
    except services.NotAuthorized:
        permissions.deny(request, mou, perm)
    except services.MouError as error:
        messages.error(request, str(error))
        return False
    messages.success(request, success(result))
    return True


def _flags(request: HttpRequest, mou: Mou) -> dict:
    perms = permissions.perms_on(request.user, mou)
    return {
        "can_manage": "manage_mou" in perms,
        "can_comment": "comment_mou" in perms,
        "my_party": services.party_for(request.user, mou),
    }


def _back(mou: Mou, name: str = "mous:detail", **extra) -> str:
    return reverse(name, args=[mou.taskforce.slug, mou.pk, *extra.values()])


def _active_memberships(taskforce: TaskForce):
    return (
        Membership.objects.filter(taskforce=taskforce)
        .exclude(status=MembershipStatus.WITHDRAWN)
        .select_related("agency")
    )


# --- list, create, settings ------------------------------------------------------------------------------


@login_required
def mou_list(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mous = (
        permissions.visible_to(request.user, "mous.view_mou", Mou.objects.filter(taskforce=taskforce))
        .select_related("executed_version", "signing_version")
        .annotate(
            party_count=Count("parties", distinct=True),
            open_objections=Count("objections", filter=Q(objections__status=ObjectionStatus.OPEN), distinct=True),
            version_count=Count("versions", distinct=True),
        )
    )
    can_create = permissions.has_perm(request.user, "taskforce.manage_members", taskforce)
    return render(request, "mous/list.html", {"taskforce": taskforce, "mous": mous, "can_create": can_create})


@login_required
@require_http_methods(["GET", "POST"])
def mou_create(request: HttpRequest, slug: str) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug, "taskforce.manage_members")
    earlier = list(permissions.visible_to(request.user, "mous.manage_mou", Mou.objects.filter(taskforce=taskforce)))
    form = forms.MouCreateForm(request.POST or None, memberships=_active_memberships(taskforce), earlier=earlier)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        copy_of = next((m for m in earlier if str(m.pk) == data["start_from"]), None)
        mou = services.mou_create(
            taskforce=taskforce,
            actor=request.user,
            title=data["title"],
            parties=list(data["parties"]),
            copy_of=copy_of,
            effective_on=data["effective_on"],
            expires_on=data["expires_on"],
        )
        messages.success(request, _("Draft created. Review and edit each clause, then circulate it for review."))
        return redirect("mous:draft", slug=taskforce.slug, pk=mou.pk)
    return render(
        request,
        "mous/form.html",
        {
            "taskforce": taskforce,
            "form": form,
            "page_title": _("New agreement"),
            "page_lead": _(
                "An MOU defines the roles, responsibilities and response of each participating agency. "
                "The simpler the agreement and the clearer the expectations, the easier it is to sign."
            ),
            "submit_label": _("Create the draft"),
            "cancel_url": reverse("mous:list", args=[taskforce.slug]),
        },
    )


@login_required
def mou_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    # As _mou, with the objection counts the page shows (selectors.ledger's) and _flags' permissions read in the
    # same query.
    queryset = (
        Mou.objects.filter(taskforce=taskforce)
        .select_related("taskforce")
        .annotate(
            objections_total=Count("objections", distinct=True),
            objections_open=Count("objections", filter=Q(objections__status=ObjectionStatus.OPEN), distinct=True),
            # _flags' permissions, as expressions of the same query rather than one more.
            can_manage=permissions.holds(request.user, "mous.manage_mou", Mou),
            can_comment=permissions.holds(request.user, "mous.comment_mou", Mou),
        )
    )
    mou = permissions.get_for_user(request.user, "mous.view_mou", queryset, request=request, pk=pk)
    # Cached until anything is written (taskforce.freshness): forty parties' steps and letters, per person (the
    # rows mark the parties whose liaison group holds them). The permission check above is asked every time.
    rows = freshness.cached(
        f"mou-matrix:{mou.pk}:{request.user.pk}", lambda: selectors.status_matrix(mou, request.user)
    )
    flags = {
        "can_manage": mou.can_manage,
        "can_comment": mou.can_comment,
        # services.party_for, read off the rows: the first party (by agency name) whose active membership's
        # liaison group holds the user.
        "my_party": next(
            (
                r.party
                for r in rows
                if getattr(r.party, "in_liaison_group", False) and r.party.membership.status == MembershipStatus.ACTIVE
            ),
            None,
        ),
    }
    versions = list(mou.versions.all())
    # The version out for signature and the executed one are among the versions just read: no query for each.
    by_pk = {v.pk: v for v in versions}
    for field in ("signing_version", "executed_version"):
        version = by_pk.get(getattr(mou, f"{field}_id"))
        if version is not None:
            setattr(mou, field, version)
    my_steps = [s for r in rows for s in r.steps if s.user_id == request.user.pk and s.is_pending]
    return render(
        request,
        "mous/detail.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "rows": rows,
            "progress": selectors.progress(rows),
            "versions": versions,
            "latest": versions[0] if versions else None,
            "header_latest": versions[0] if versions else None,
            "ledger": {"open_count": mou.objections_open, "total": mou.objections_total},
            "my_steps": my_steps,
            "states": selectors.PARTY_STATES,
            **flags,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def mou_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    locked = mou.status in (MouStatus.SIGNING, MouStatus.EXECUTED)
    initial = {
        "title": mou.title,
        "effective_on": mou.effective_on,
        "expires_on": mou.expires_on,
        "reminder_delay_days": mou.reminder_delay_days,
        "parties": [p.membership_id for p in mou.parties.all()],
    }
    form = forms.MouSettingsForm(
        request.POST or None, initial=initial, memberships=_active_memberships(taskforce), parties_locked=locked
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.mou_update(
                mou=mou,
                actor=request.user,
                title=data["title"],
                effective_on=data["effective_on"],
                expires_on=data["expires_on"],
                reminder_delay_days=data["reminder_delay_days"],
            )
            if not locked:
                services.mou_set_parties(mou=mou, actor=request.user, parties=list(data["parties"]))
        except services.MouError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Agreement settings saved."))
            return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)
    return render(
        request,
        "mous/form.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "form": form,
            "page_title": _("Settings of %(title)s") % {"title": mou.title},
            "cancel_url": _back(mou),
        },
    )


# --- drafting --------------------------------------------------------------------------------------------


@login_required
def draft(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    latest = mou.latest_version
    changed_keys: set[str] = set()
    if latest is not None:
        frozen = {str(c.key): (c.heading, c.body, c.number) for c in latest.clauses.all()}
        for i, clause in enumerate(mou.clauses.all(), 1):
            if frozen.get(str(clause.key)) != (clause.heading, clause.body, i):
                changed_keys.add(str(clause.key))
    open_by_key: dict[str, int] = {}
    for objection in mou.objections.filter(status__in=[ObjectionStatus.OPEN, ObjectionStatus.ACCEPTED]):
        open_by_key[str(objection.clause_key)] = open_by_key.get(str(objection.clause_key), 0) + 1
    return render(
        request,
        "mous/draft.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "clauses": list(mou.clauses.select_related("updated_by")),
            "latest": latest,
            "changed_keys": changed_keys,
            "open_by_key": open_by_key,
            "editable": mou.status != MouStatus.EXECUTED or mou.renewal_of_id is not None,
            **_flags(request, mou),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def clause_edit(request: HttpRequest, slug: str, pk: int, clause_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    clause = _child(request, mou, Clause.objects.filter(mou=mou), pk=clause_pk)
    conflict = None
    form = forms.ClauseForm(
        request.POST or None, initial={"heading": clause.heading, "body": clause.body, "revision": clause.revision}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.clause_update(
                clause=clause,
                actor=request.user,
                expected_revision=data["revision"] or 0,
                heading=data["heading"],
                body=data["body"],
            )
        except StaleEdit as stale:
            conflict = stale.current
            # Keep what this person typed; move the form to the current revision so a second save wins.
            form = forms.ClauseForm(
                initial={"heading": data["heading"], "body": data["body"], "revision": conflict.revision}
            )
        except services.MouError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Clause %(n)s saved.") % {"n": clause.position})
            return redirect(f"{reverse('mous:draft', args=[taskforce.slug, mou.pk])}#clause-{clause.pk}")
    return render(
        request,
        "mous/clause_form.html",
        {"taskforce": taskforce, "mou": mou, "clause": clause, "form": form, "conflict": conflict},
    )


@login_required
@require_http_methods(["GET", "POST"])
def clause_add(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    form = forms.ClauseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            clause = services.clause_add(
                mou=mou, actor=request.user, heading=form.cleaned_data["heading"], body=form.cleaned_data["body"]
            )
        except services.MouError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Clause %(n)s added.") % {"n": clause.position})
            return redirect(f"{reverse('mous:draft', args=[taskforce.slug, mou.pk])}#clause-{clause.pk}")
    return render(request, "mous/clause_form.html", {"taskforce": taskforce, "mou": mou, "clause": None, "form": form})


@login_required
@require_POST
def clause_move(request: HttpRequest, slug: str, pk: int, clause_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    clause = _child(request, mou, Clause.objects.filter(mou=mou), pk=clause_pk)
    try:
        services.clause_move(
            clause=clause, actor=request.user, direction=1 if request.POST.get("dir") == "down" else -1
        )
    except services.MouError as error:
        messages.error(request, str(error))
    return redirect(f"{reverse('mous:draft', args=[taskforce.slug, mou.pk])}#clause-{clause.pk}")


@login_required
@require_POST
def clause_delete(request: HttpRequest, slug: str, pk: int, clause_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    clause = _child(request, mou, Clause.objects.filter(mou=mou), pk=clause_pk)
    try:
        revision = int(request.POST.get("revision", "0"))
        services.clause_delete(clause=clause, actor=request.user, expected_revision=revision)
    except ValueError:
        messages.error(request, _("Reload the page and try again."))
    except StaleEdit:
        messages.error(request, _("Someone changed this clause meanwhile; review it before deleting."))
    except services.MouError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Clause “%(h)s” deleted.") % {"h": clause.heading})
    return redirect("mous:draft", slug=taskforce.slug, pk=mou.pk)


# --- versions --------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def circulate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    form = forms.CirculateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.version_circulate(mou=mou, actor=request.user, note=form.cleaned_data["note"])
        except services.MouError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("%(v)s is circulated to the parties for review.") % {"v": version.label})
            return redirect("mous:circulated", slug=taskforce.slug, pk=mou.pk, number=version.number)
    latest = mou.latest_version
    pending = mou.status == MouStatus.SIGNING
    return render(
        request,
        "mous/circulate.html",
        {"taskforce": taskforce, "mou": mou, "form": form, "latest": latest, "voids_signatures": pending},
    )


@login_required
def version_detail(request: HttpRequest, slug: str, pk: int, number: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    version = _child(request, mou, MouVersion.objects.filter(mou=mou), number=number)
    flags = _flags(request, mou)
    latest = mou.latest_version
    objections_by_clause: dict[int, list[Objection]] = {}
    for objection in version.objections.select_related("party__membership__agency"):
        objections_by_clause.setdefault(objection.clause_number, []).append(objection)
    return render(
        request,
        "mous/version.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "version": version,
            "clauses": list(version.clauses.all()),
            "is_latest": latest is not None and latest.pk == version.pk,
            "may_object": flags["my_party"] is not None
            and flags["can_comment"]
            and latest is not None
            and latest.pk == version.pk
            and mou.status in (MouStatus.REVIEW, MouStatus.SIGNING),
            "objections_by_clause": objections_by_clause,
            "versions": list(mou.versions.all()),
            **flags,
        },
    )


@login_required
def diff(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    versions = list(mou.versions.all())
    if not versions:
        messages.info(request, _("No version has been circulated yet."))
        return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)
    by_number = {v.number: v for v in versions}

    def pick(name: str, default: int) -> MouVersion:
        try:
            return by_number[int(request.GET.get(name, default))]
        except (KeyError, ValueError):
            return by_number[default]

    newest = versions[0].number
    new = pick("b", newest)
    old = pick("a", max(new.number - 1, 1))
    rows = diff_versions(list(old.clauses.all()), list(new.clauses.all()))
    mode = "inline" if request.GET.get("mode") == "inline" else "side"
    return render(
        request,
        "mous/diff.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "old": old,
            "new": new,
            "rows": rows,
            "versions": versions,
            "mode": mode,
            "changed": sum(1 for r in rows if r.state != "same"),
            **_flags(request, mou),
        },
    )


# --- objections ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def objection_new(request: HttpRequest, slug: str, pk: int, number: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.comment_mou")
    version = _child(request, mou, MouVersion.objects.filter(mou=mou), number=number)
    if services.party_for(request.user, mou) is None:
        permissions.deny(request, mou, "mous.comment_mou")
    clauses = list(version.clauses.all())
    form = forms.ObjectionForm(
        request.POST or None, clauses=clauses, initial={"clause_number": request.GET.get("clause")}
    )
    if request.method == "POST" and form.is_valid():
        try:
            objection = services.objection_raise(mou=mou, version=version, actor=request.user, **form.cleaned_data)
        except services.NotAuthorized:
            permissions.deny(request, mou, "mous.comment_mou")
        except services.MouError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Your objection to clause %(n)s is recorded.") % {"n": objection.clause_number})
            return redirect("mous:objection", slug=taskforce.slug, pk=mou.pk, objection_pk=objection.pk)
    chosen = next((c for c in clauses if str(c.number) == str(form["clause_number"].value())), None)
    return render(
        request,
        "mous/objection_form.html",
        {"taskforce": taskforce, "mou": mou, "version": version, "form": form, "clause": chosen},
    )


@login_required
def objection_ledger(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    return render(
        request,
        "mous/objections.html",
        {"taskforce": taskforce, "mou": mou, "ledger": selectors.ledger(mou), **_flags(request, mou)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def objection_detail(request: HttpRequest, slug: str, pk: int, objection_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    objection = _child(
        request,
        mou,
        Objection.objects.filter(mou=mou).select_related(
            "party__membership__agency", "raised_by", "version", "resolved_in"
        ),
        pk=objection_pk,
    )
    flags = _flags(request, mou)
    may_discuss = flags["can_manage"] or flags["can_comment"]
    form = forms.CommentForm(request.POST or None)
    if request.method == "POST":
        if not may_discuss:
            permissions.deny(request, mou, "mous.comment_mou")
        if form.is_valid():
            services.objection_comment(objection=objection, actor=request.user, body=form.cleaned_data["body"])
            return redirect(f"{reverse('mous:objection', args=[taskforce.slug, mou.pk, objection.pk])}#discussion")
    clause = objection.version.clauses.filter(key=objection.clause_key).first()
    resolved_clause = (
        objection.resolved_in.clauses.filter(key=objection.clause_key).first() if objection.resolved_in else None
    )
    return render(
        request,
        "mous/objection.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "objection": objection,
            "clause": clause,
            "resolved_clause": resolved_clause,
            "comments": objection.comments.select_related("author"),
            "form": form,
            "may_discuss": may_discuss,
            "may_withdraw": objection.is_open and flags["my_party"] == objection.party,
            "accept_form": forms.AcceptForm(),
            **flags,
        },
    )


@login_required
@require_POST
def objection_withdraw(request: HttpRequest, slug: str, pk: int, objection_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.comment_mou")
    objection = _child(request, mou, Objection.objects.filter(mou=mou), pk=objection_pk)
    _attempt(
        request,
        mou,
        "mous.comment_mou",
        lambda: services.objection_withdraw(objection=objection, actor=request.user),
        lambda _done: _("Objection withdrawn."),
    )
    return redirect("mous:objection", slug=taskforce.slug, pk=mou.pk, objection_pk=objection.pk)


@login_required
@require_POST
def objection_accept(request: HttpRequest, slug: str, pk: int, objection_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    objection = _child(request, mou, Objection.objects.filter(mou=mou), pk=objection_pk)
    form = forms.AcceptForm(request.POST)
    form.is_valid()
    _attempt(
        request,
        mou,
        "mous.manage_mou",
        lambda: services.objection_accept(
            objection=objection,
            actor=request.user,
            apply_wording=form.cleaned_data.get("apply_wording", False),
            note=form.cleaned_data.get("note", ""),
        ),
        lambda _done: _("Objection accepted. It is resolved when you circulate the next version."),
    )
    return redirect("mous:objection", slug=taskforce.slug, pk=mou.pk, objection_pk=objection.pk)


@login_required
@require_POST
def objections_agenda(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    try:
        services.objections_to_agenda(mou=mou, actor=request.user)
    except agenda.NoUpcomingMeeting as error:
        messages.warning(
            request,
            _("There is no upcoming meeting to add the objections to. %(why)s Schedule a meeting first.")
            % {"why": str(error)},
        )
    except services.MouError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The open objections are on the next meeting's agenda."))
    return redirect("mous:objections", slug=taskforce.slug, pk=mou.pk)


# --- routing and signatures ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def routing(request: HttpRequest, slug: str, pk: int, party_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    party = _child(request, mou, MouParty.objects.filter(mou=mou).select_related("membership__agency"), pk=party_pk)
    # People of the agency itself (legal review, a deputy) and the coordinators: all of them can open the MOU.
    people = (
        User.objects.filter(is_active=True)
        .filter(
            Q(agency=party.membership.agency, taskforce_roles__taskforce=taskforce) | Q(groups=taskforce.coordinators)
        )
        .distinct()
        .order_by("full_name")
    )
    approvers = [r.user for r in party.recipients.filter(role=RecipientRole.APPROVER)]
    initial = {
        "approver_1": approvers[0] if approvers else None,
        "approver_2": approvers[1] if len(approvers) > 1 else None,
        "copied": [r.user for r in party.recipients.filter(role=RecipientRole.CC)],
        "signing_in_order": party.signing_in_order,
    }
    form = forms.RoutingForm(request.POST or None, initial=initial, people=people)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.party_routing_set(
            party=party,
            actor=request.user,
            approvers=data["approvers"],
            copied=list(data["copied"]),
            signing_in_order=data["signing_in_order"],
        )
        messages.success(request, _("Signing route of %(agency)s saved.") % {"agency": party.membership.agency.name})
        return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)
    signatory = party.membership.signatory
    return render(
        request,
        "mous/form.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "form": form,
            "page_title": _("Who acts for %(agency)s") % {"agency": party.membership.agency.name},
            "page_lead": (
                _("The agency's authorized signatory, %(name)s, signs last.") % {"name": signatory.full_name}
                if signatory
                else _("The agency has not named an authorized signatory yet: its liaison names one on its profile.")
            ),
            "cancel_url": _back(mou),
        },
    )


@login_required
@require_POST
def send_for_signature(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    _attempt(
        request,
        mou,
        "mous.manage_mou",
        lambda: services.mou_send_for_signature(mou=mou, actor=request.user),
        lambda steps: _("Sent for signature: %(n)s step(s) created.") % {"n": len(steps)},
    )
    return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)


@login_required
@require_POST
def party_resend(request: HttpRequest, slug: str, pk: int, party_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    party = _child(request, mou, MouParty.objects.filter(mou=mou).select_related("membership__agency"), pk=party_pk)
    _attempt(
        request,
        mou,
        "mous.manage_mou",
        lambda: services.party_resend(party=party, actor=request.user),
        lambda _steps: _("%(agency)s is asked again.") % {"agency": party.membership.agency.name},
    )
    return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)


def _step(request: HttpRequest, mou: Mou, request_pk: int) -> SignatureRequest:
    queryset = SignatureRequest.objects.filter(party__mou=mou).select_related(
        "version", "party__membership__agency", "party__membership__signatory", "user"
    )
    return _child(request, mou, queryset, pk=request_pk)


@login_required
def request_detail(request: HttpRequest, slug: str, pk: int, request_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    step = _step(request, mou, request_pk)
    flags = _flags(request, mou)
    is_mine = step.user_id == request.user.pk
    if not (is_mine or flags["can_manage"]):
        permissions.deny(request, mou, "mous.act_on_request")
    if is_mine and step.is_pending and mou.signing_version_id == step.version_id:
        step = services.request_view(req=step, actor=request.user)
    authorized = permissions.may_act_on_signature_request(request.user, step)
    actionable = is_mine and authorized and step.is_pending and mou.signing_version_id == step.version_id
    approvals_waiting = (
        step.role == RecipientRole.SIGNER
        and step.party.signing_in_order
        and SignatureRequest.objects.filter(version=step.version, party=step.party, role=RecipientRole.APPROVER)
        .exclude(status="approved")
        .exists()
    )
    sign_form = forms.SignForm(
        initial={
            "typed_name": request.user.full_name,
            "typed_title": request.user.title,
            "document_sha256": step.version.sha256,
        }
    )
    return render(
        request,
        "mous/request.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "step": step,
            "version": step.version,
            "clauses": list(step.version.clauses.all()),
            "actionable": actionable and not approvals_waiting,
            "approvals_waiting": approvals_waiting,
            "not_authorized": is_mine and not authorized,
            "sign_form": sign_form,
            "decline_form": forms.DeclineForm(),
            **flags,
        },
    )


def _act(request: HttpRequest, slug: str, pk: int, request_pk: int):
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    step = _step(request, mou, request_pk)
    return taskforce, mou, step


@login_required
@require_POST
def request_sign(request: HttpRequest, slug: str, pk: int, request_pk: int) -> HttpResponse:
    taskforce, mou, step = _act(request, slug, pk, request_pk)
    if not permissions.may_act_on_signature_request(request.user, step) or step.role != RecipientRole.SIGNER:
        audit.record(
            "mou.sign_refused", request=request, obj=mou, request_id=step.pk, party=step.party.membership_id,
            reason="not the signatory",
        )  # fmt: skip
        permissions.deny(request, mou, "mous.sign_for_agency")
    form = forms.SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type your full name and title and attest your authority to sign."))
        return redirect("mous:request", slug=taskforce.slug, pk=mou.pk, request_pk=step.pk)
    data = form.cleaned_data
    try:
        services.request_sign(
            req=step,
            actor=request.user,
            typed_name=data["typed_name"],
            typed_title=data["typed_title"],
            attest=data["attest"],
            document_sha256=data["document_sha256"],
            request=request,
        )
    except services.NotAuthorized:
        permissions.deny(request, mou, "mous.sign_for_agency")
    except services.MouError as error:
        messages.error(request, str(error))
        return redirect("mous:request", slug=taskforce.slug, pk=mou.pk, request_pk=step.pk)
    mou.refresh_from_db()
    if mou.status == MouStatus.EXECUTED:
        messages.success(request, _("Signed. Every party has signed: the agreement is executed."))
    else:
        messages.success(request, _("Signed for %(agency)s.") % {"agency": step.party.membership.agency.name})
    return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)


@login_required
@require_POST
def request_approve(request: HttpRequest, slug: str, pk: int, request_pk: int) -> HttpResponse:
    taskforce, mou, step = _act(request, slug, pk, request_pk)
    if not permissions.may_act_on_signature_request(request.user, step):
        audit.record("mou.approve_refused", request=request, obj=mou, request_id=step.pk)
        permissions.deny(request, mou, "mous.approve_for_agency")
    try:
        services.request_approve(req=step, actor=request.user, request=request)
    except services.MouError as error:
        messages.error(request, str(error))
        return redirect("mous:request", slug=taskforce.slug, pk=mou.pk, request_pk=step.pk)
    messages.success(request, _("Approved for %(agency)s.") % {"agency": step.party.membership.agency.name})
    return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)


@login_required
@require_POST
def request_decline(request: HttpRequest, slug: str, pk: int, request_pk: int) -> HttpResponse:
    taskforce, mou, step = _act(request, slug, pk, request_pk)
    if not permissions.may_act_on_signature_request(request.user, step):
        audit.record("mou.decline_refused", request=request, obj=mou, request_id=step.pk)
        permissions.deny(request, mou, "mous.decline_for_agency")
    form = forms.DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason and explain it."))
        return redirect("mous:request", slug=taskforce.slug, pk=mou.pk, request_pk=step.pk)
    try:
        services.request_decline(
            req=step, actor=request.user, reason=form.cleaned_data["reason"], text=form.cleaned_data["text"],
            request=request,
        )  # fmt: skip
    except services.MouError as error:
        messages.error(request, str(error))
        return redirect("mous:request", slug=taskforce.slug, pk=mou.pk, request_pk=step.pk)
    messages.info(request, _("Declined. The coordinator is told."))
    return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)


@login_required
@require_POST
def request_remind(request: HttpRequest, slug: str, pk: int, request_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    step = _step(request, mou, request_pk)
    try:
        sent = services.request_remind_now(req=step, actor=request.user)
    except services.MouError as error:
        messages.error(request, str(error))
    else:
        if sent:
            messages.success(request, _("A reminder is on its way to %(name)s.") % {"name": step.user.full_name})
        else:
            messages.info(request, _("%(name)s was already reminded today.") % {"name": step.user.full_name})
    return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)


# --- letters of understanding ----------------------------------------------------------------------------


@login_required
@require_POST
def lou_issue(request: HttpRequest, slug: str, pk: int, party_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    party = _child(request, mou, MouParty.objects.filter(mou=mou), pk=party_pk)
    try:
        letter = services.lou_issue(party=party, actor=request.user)
    except services.MouError as error:
        messages.error(request, str(error))
        return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)
    messages.success(request, _("Letter of understanding issued."))
    return redirect("mous:lou", slug=taskforce.slug, pk=mou.pk, letter_pk=letter.pk)


def _letter(request: HttpRequest, mou: Mou, letter_pk: int) -> LetterOfUnderstanding:
    queryset = LetterOfUnderstanding.objects.filter(mou=mou).select_related(
        "party__membership__agency", "version", "issued_by", "acknowledged_by"
    )
    return _child(request, mou, queryset, pk=letter_pk)


@login_required
def lou_detail(request: HttpRequest, slug: str, pk: int, letter_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    letter = _letter(request, mou, letter_pk)
    flags = _flags(request, mou)
    accepted = set(letter.accepted_clause_numbers)
    return render(
        request,
        "mous/lou.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "letter": letter,
            "clauses": [c for c in letter.version.clauses.all() if c.number in accepted],
            "may_acknowledge": letter.status == LouStatus.ISSUED and flags["my_party"] == letter.party,
            **flags,
        },
    )


@login_required
def lou_pdf(request: HttpRequest, slug: str, pk: int, letter_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    letter = _letter(request, mou, letter_pk)
    pdf = documents.lou_pdf(letter, request=request)
    audit.record("mou.lou_exported", request=request, obj=mou, letter=letter.pk)
    return pdf_response(pdf, f"{taskforce.slug}-letter-of-understanding-{letter.pk}.pdf")


@login_required
@require_POST
def lou_acknowledge(request: HttpRequest, slug: str, pk: int, letter_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.comment_mou")
    letter = _letter(request, mou, letter_pk)
    _attempt(
        request,
        mou,
        "mous.comment_mou",
        lambda: services.lou_acknowledge(letter=letter, actor=request.user),
        lambda _letter: _("Letter acknowledged for your agency."),
    )
    return redirect("mous:lou", slug=taskforce.slug, pk=mou.pk, letter_pk=letter.pk)


@login_required
@require_POST
def lou_withdraw(request: HttpRequest, slug: str, pk: int, letter_pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    letter = _letter(request, mou, letter_pk)
    _attempt(
        request,
        mou,
        "mous.manage_mou",
        lambda: services.lou_withdraw(letter=letter, actor=request.user),
        lambda _letter: _("Letter withdrawn; the agency is asked to sign again with the next version."),
    )
    return redirect("mous:detail", slug=taskforce.slug, pk=mou.pk)


# --- executed PDF, verification, renewal -----------------------------------------------------------------


@login_required
def executed_pdf(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk)
    if mou.executed_version_id is None:
        raise Http404
    version = services.store_executed_pdf(version_id=mou.executed_version_id)
    audit.record("mou.exported", request=request, obj=mou, version=version.number)
    return pdf_response(bytes(version.executed_pdf), f"{taskforce.slug}-mou-{mou.pk}-{version.label}-executed.pdf")


HEX_RUN = re.compile(r"[0-9a-f](?:\s*[0-9a-f]){63,}")


def _hashes_in_pdf(data: bytes) -> set[str]:
    """Every 64-hex-digit window of the PDF's text: the printed hash may wrap across lines or table cells."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        text = "\n".join(page.extract_text() or "" for page in reader.pages[:50])
    except (PdfReadError, ValueError, TypeError, KeyError, OSError):
        return set()
    found: set[str] = set()
    for run in HEX_RUN.findall(text.lower()):
        digits = re.sub(r"\s+", "", run)
        found.update(digits[i : i + 64] for i in range(len(digits) - 63))
    return found


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, slug: str) -> HttpResponse:
    """Does a PDF or a hash match an executed version of an agreement this person may see?"""
    taskforce = permissions.taskforce_for(request, slug)
    form = forms.VerifyForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        visible = permissions.visible_to(request.user, "mous.view_mou", Mou.objects.filter(taskforce=taskforce))
        executed = MouVersion.objects.filter(mou__in=visible, executed_at__isnull=False)
        upload = form.cleaned_data.get("pdf")
        file_hash = ""
        candidates: set[str] = set()
        if upload is not None:
            data = upload.read()
            file_hash = hashlib.sha256(data).hexdigest()
            candidates = _hashes_in_pdf(data)
        if form.cleaned_data.get("sha256"):
            candidates.add(form.cleaned_data["sha256"])
        exact = executed.filter(executed_pdf_sha256=file_hash).select_related("mou").first() if file_hash else None
        match = exact or executed.filter(sha256__in=candidates).select_related("mou").first()
        result = {
            "match": match,
            "exact_file": exact is not None,
            "file_hash": file_hash,
            "document_hashes": sorted(candidates),
        }
        audit.record(
            "mou.verification", request=request, taskforce=taskforce, matched=match.mou_id if match else None,
            file_hash=file_hash,
        )  # fmt: skip
    return render(request, "mous/verify.html", {"taskforce": taskforce, "form": form, "result": result})


@login_required
@require_http_methods(["GET", "POST"])
def renew(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    taskforce = permissions.taskforce_for(request, slug)
    mou = _mou(request, taskforce, pk, "mous.manage_mou")
    form = forms.RenewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.mou_renew(mou=mou, actor=request.user, **form.cleaned_data)
        except services.MouError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Renewal drafted from the executed version. Edit it, then circulate it: every party re-attests."),
            )
            return redirect("mous:draft", slug=taskforce.slug, pk=mou.pk)
    return render(
        request,
        "mous/form.html",
        {
            "taskforce": taskforce,
            "mou": mou,
            "form": form,
            "page_title": _("Renew %(title)s") % {"title": mou.title},
            "page_lead": _(
                "The renewal starts from the executed text. The executed version stays in effect until the "
                "renewal is signed by every party."
            ),
            "submit_label": _("Draft the renewal"),
            "cancel_url": _back(mou),
        },
    )
