"""The one place that decides who may see and do what.

Views fetch every guarded object through `get_for_user` and filter every list through `visible_to`;
services grant and revoke through `grant` and `revoke`. Rules:

- An object you may not see is a 404, indistinguishable from one that does not exist; an action you
  may not take on an object you can see is a 403. Both leave an audit event.
- Object permissions come only from django-guardian rows held by groups (or, rarely, one person).
  Model-level permissions never widen object access (`accept_global_perms=False`).
- Some models are seen through their parent: a membership is visible to whoever can view its task
  force. `VISIBLE_THROUGH` names those; the check is still one SQL query with a subquery.
- Site admins (superusers) see all ordinary records. Confidential models listed in
  `NO_SUPERUSER_BYPASS` are visible to them only through explicit grants, like anybody else.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied
from django.db import connections, models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from taskforce import audit

# model label -> (parent field, permission on the parent that makes the child visible)
VISIBLE_THROUGH: dict[str, tuple[str, str]] = {
    "members.membership": ("taskforce", "taskforce.view_taskforce"),
    "members.goal": ("taskforce", "taskforce.view_taskforce"),
    "members.subcommittee": ("taskforce", "taskforce.view_taskforce"),
    "members.trainingevent": ("taskforce", "taskforce.view_taskforce"),
}

# Labels of models whose rows a superuser does not see without an explicit grant.
NO_SUPERUSER_BYPASS: set[str] = {
    "cases.case",  # site admins do not see case content without a grant (cases/models.py)
}


class PermissionDenied403(PermissionDenied):
    """The user may see the object but not take the action; Django renders it as a 403."""


def _model_label(queryset: QuerySet) -> str:
    return queryset.model._meta.label_lower


def _view_perm(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.view_{model._meta.model_name}"


def _superuser_sees(user: Any, label: str) -> bool:
    return bool(user.is_active and user.is_superuser and label not in NO_SUPERUSER_BYPASS)


def visible_to[M: models.Model](user: Any, perm: str, queryset: QuerySet[M]) -> QuerySet[M]:
    """The rows of `queryset` on which `user` holds `perm`, as one SQL query."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return queryset.none()
    label = _model_label(queryset)
    if _superuser_sees(user, label):
        return queryset
    parent = VISIBLE_THROUGH.get(label)
    if parent is not None and perm == _view_perm(queryset.model):
        field, parent_perm = parent
        parent_model = queryset.model._meta.get_field(field).related_model
        return queryset.filter(**{f"{field}__in": visible_to(user, parent_perm, parent_model.objects.all())})
    direct = _direct_rows(queryset.model)
    if direct is None:
        return get_objects_for_user(
            user, perm, klass=queryset, accept_global_perms=False, with_superuser=False, use_groups=True
        )
    # Direct foreign-key rows (the hot tables: cases, MOUs, meetings): the ids granted to the person or their
    # groups as one UNION, which PostgreSQL reads from the permission rows' indexes. guardian's own query ORs two
    # IN-subqueries instead, which makes it filter every row of the queryset (a task force's 20,000 cases at
    # bench size L: 56 ms against 18 ms for the same count).
    user_rows, group_rows = direct
    granted = {
        "permission__content_type": ContentType.objects.get_for_model(queryset.model),
        "permission__codename": perm.split(".", 1)[-1],
    }
    own = user_rows.objects.filter(user=user, **granted).values("content_object_id")
    grouped = group_rows.objects.filter(group__in=_groups_of(user), **granted).values("content_object_id")
    return queryset.filter(pk__in=own.union(grouped))


def _groups_of(user: Any) -> QuerySet:
    """The ids of the person's groups, as a subquery for guardian's group rows (`group__in=_groups_of(user)`).

    `group__user=user` joined auth_group between the rows and the membership table: one index probe per
    permission row for nothing (2,667 for the liaison's visible cases at bench size L, a third of that query's
    time). This reads the membership table alone.
    """
    return Group.user_set.through.objects.filter(user_id=user.pk).values("group_id")


def _direct_rows(model: type[models.Model]) -> tuple[type[models.Model], type[models.Model]] | None:
    """The model's direct foreign-key permission models (user rows, group rows), or None when guardian keeps its
    permissions in the generic tables: the one test behind every fast path below."""
    user_rows, group_rows = get_user_obj_perms_model(model), get_group_obj_perms_model(model)
    if user_rows.objects.is_generic() or group_rows.objects.is_generic():
        return None
    return user_rows, group_rows


def has_perm(user: Any, perm: str, obj: models.Model) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    label = obj._meta.label_lower
    if _superuser_sees(user, label):
        return True
    parent = VISIBLE_THROUGH.get(label)
    if parent is not None and perm == _view_perm(type(obj)):
        field, parent_perm = parent
        return has_perm(user, parent_perm, getattr(obj, field))
    return perm.split(".", 1)[-1] in _object_perms(user, obj)


def holds(user: Any, perm: str, model: type[models.Model]) -> models.Expression:
    """has_perm(user, perm, row) as an expression over `model`'s rows, to annotate a query with a `can_*` flag
    instead of asking once more per row. For models with direct foreign-key permission rows, and actions
    (a view permission through VISIBLE_THROUGH is visible_to's business)."""
    label = model._meta.label_lower
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return models.Value(False)
    if _superuser_sees(user, label):
        return models.Value(True)
    direct = _direct_rows(model)
    if direct is None or (label in VISIBLE_THROUGH and perm == _view_perm(model)):
        raise ValueError(f"holds() cannot express {perm} on {label}")
    user_rows, group_rows = direct
    codename = perm.split(".", 1)[-1]
    row = models.OuterRef("pk")
    return models.Exists(
        user_rows.objects.filter(content_object=row, user=user, permission__codename=codename)
    ) | models.Exists(
        group_rows.objects.filter(content_object=row, group__in=_groups_of(user), permission__codename=codename)
    )


def _object_perms(user: Any, obj: models.Model) -> set[str]:
    """Codenames granted on `obj` to the user or their groups, read from guardian's rows in one query.

    Not `ObjectPermissionChecker.has_perm/get_perms`: those answer "everything" for any superuser,
    which would hand site admins every action on models in NO_SUPERUSER_BYPASS. And not its
    get_user_perms + get_group_perms: two queries where one UNION does (pages ask this several times).
    """
    own = _rows_on(get_user_obj_perms_model(obj), obj).filter(user=user)
    grouped = _rows_on(get_group_obj_perms_model(obj), obj).filter(group__in=_groups_of(user))
    codenames = own.values_list("permission__codename", flat=True)
    return set(codenames.union(grouped.values_list("permission__codename", flat=True)))


def _rows_on(model: type[models.Model], obj: models.Model) -> QuerySet:
    """Guardian's permission rows on `obj`: a direct foreign key where the model has one, else generic."""
    if model.objects.is_generic():
        content_type = ContentType.objects.get_for_model(obj)
        return model.objects.filter(content_type=content_type, object_pk=str(obj.pk))
    return model.objects.filter(content_object=obj)


def get_for_user[M: models.Model](
    user: Any,
    perm: str,
    queryset: QuerySet[M],
    *,
    request: HttpRequest | None = None,
    **lookup: Any,
) -> M:
    """The object matching `lookup` if `user` may see it (else 404) and holds `perm` (else 403)."""
    view_perm = _view_perm(queryset.model)
    try:
        obj = visible_to(user, view_perm, queryset).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        if request is not None:
            _audit_denial(request, queryset, lookup, "access.not_found")
        raise Http404 from None
    if perm != view_perm and not has_perm(user, perm, obj):
        deny(request, obj, perm)
    return obj


def get_with_perms[M: models.Model](
    user: Any, queryset: QuerySet[M], *, request: HttpRequest | None = None, **lookup: Any
) -> tuple[M, set[str]]:
    """get_for_user(user, <view perm>, queryset, ...) and perms_on(user, obj) together: the object matching `lookup`
    if `user` may see it (else the same audited 404) and every codename they hold on it.

    For models with direct foreign-key permission rows (cases: every case page asks both), one query: the row
    with the codenames granted on it to the person and to their groups as two arrays, kept only when the view
    codename is among them. get_for_user then perms_on asked two, each built anew (several ms of ORM work a page).
    An object the person may not see is filtered out by PostgreSQL as before, never loaded.
    """
    model = queryset.model
    label = model._meta.label_lower
    direct = _direct_rows(model)
    if (
        not getattr(user, "is_authenticated", False)
        or not user.is_active
        or _superuser_sees(user, label)
        or label in VISIBLE_THROUGH
        or direct is None
        or connections[queryset.db].vendor != "postgresql"  # arrays: SQLite, the embedded default, asks twice
    ):
        obj = get_for_user(user, _view_perm(model), queryset, request=request, **lookup)
        return obj, perms_on(user, obj)
    user_rows, group_rows = direct
    row = models.OuterRef("pk")
    own = user_rows.objects.filter(content_object=row, user=user).values("permission__codename")
    grouped = group_rows.objects.filter(content_object=row, group__in=_groups_of(user)).values("permission__codename")
    view = [_view_perm(model).split(".", 1)[-1]]
    try:
        obj = (
            queryset.annotate(_codenames_own=ArraySubquery(own), _codenames_grouped=ArraySubquery(grouped))
            .filter(models.Q(_codenames_own__contains=view) | models.Q(_codenames_grouped__contains=view))
            .get(**lookup)
        )
    except (model.DoesNotExist, ValueError, TypeError):
        if request is not None:
            _audit_denial(request, queryset, lookup, "access.not_found")
        raise Http404 from None
    return obj, set(obj._codenames_own) | set(obj._codenames_grouped)


def deny(request: HttpRequest | None, obj: models.Model | None, perm: str) -> NoReturn:
    """Refuse an action on an object the person can see (or a site-wide action): audited, then a 403."""
    if request is not None:
        audit.record("access.forbidden", request=request, obj=obj, perm=perm)
    raise PermissionDenied403(perm)


def _audit_denial(request: HttpRequest, queryset: QuerySet, lookup: dict[str, Any], action: str) -> None:
    """Record a refused lookup. Whether the object exists is recorded for auditors, never shown."""
    try:
        exists = queryset.model._default_manager.filter(**lookup).exists()
    except (ValueError, TypeError):
        exists = False
    audit.record(
        action,
        request=request,
        model=queryset.model._meta.label_lower,
        lookup={key: str(value) for key, value in lookup.items()},
        exists=exists,
    )


def perms_on(user: Any, obj: models.Model) -> set[str]:
    """Every object permission codename `user` holds on `obj` (for `can_*` flags in views)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if _superuser_sees(user, obj._meta.label_lower):
        meta = obj._meta
        return {f"{action}_{meta.model_name}" for action in meta.default_permissions} | {
            codename for codename, _ in meta.permissions
        }
    return _object_perms(user, obj)


def perms_on_each(user: Any, objs: list[models.Model]) -> dict[Any, set[str]]:
    """`perms_on` for several objects of one model, as {pk: codenames}, in one query (a list's rows)."""
    objs = [obj for obj in objs if obj is not None]
    result: dict[Any, set[str]] = {obj.pk: set() for obj in objs}
    if not objs or not getattr(user, "is_authenticated", False) or not user.is_active:
        return result
    if _superuser_sees(user, objs[0]._meta.label_lower):
        return {obj.pk: perms_on(user, obj) for obj in objs}
    direct = _direct_rows(type(objs[0]))
    if direct is None:
        return {obj.pk: _object_perms(user, obj) for obj in objs}
    user_model, group_model = direct
    pks = list(result)
    own = user_model.objects.filter(content_object_id__in=pks, user=user)
    grouped = group_model.objects.filter(content_object_id__in=pks, group__in=_groups_of(user))
    rows = own.values_list("content_object_id", "permission__codename").union(
        grouped.values_list("content_object_id", "permission__codename")
    )
    for pk, codename in rows:
        result[pk].add(codename)
    return result


# --- grants: called from services only -------------------------------------------------


def grant(perm: str, group: Group, obj: models.Model) -> None:
    assign_perm(perm, group, obj)


def revoke(perm: str, group: Group, obj: models.Model) -> None:
    remove_perm(perm, group, obj)


def revoke_all_for_groups(groups: list[Group]) -> int:
    """Delete every object permission the groups hold, in every app (used when an agency withdraws)."""
    removed = 0
    for model in apps.get_models():
        if issubclass(model, GroupObjectPermissionBase) or model._meta.label_lower == "guardian.groupobjectpermission":
            removed += model.objects.filter(group__in=groups).delete()[0]
    return removed


def revoke_all_for_user(user: Any) -> int:
    removed = 0
    for model in apps.get_models():
        if issubclass(model, UserObjectPermissionBase) or model._meta.label_lower == "guardian.userobjectpermission":
            removed += model.objects.filter(user=user).delete()[0]
    return removed


def require_site_admin(request: HttpRequest) -> None:
    """Site-wide pages (new task force, the audit log) are for site admins only; refusals are audited."""
    if not (request.user.is_active and request.user.is_superuser):
        deny(request, None, "site_admin")


# --- the task forces of the request's person: read once per request -------------------------------------
# Every page under tf/<slug>/ needs the task force before its own work: the time-zone middleware (its zone), the
# view (taskforce_for: the row and the person's permissions on it) and the navigation (the switcher's list and
# whether to show the managers' links). One query answers all of them: the person's task-force grants, with the
# task forces' rows. It lives on the request object only, so nothing outlives the request or crosses people.


def _my_taskforces(request: HttpRequest) -> dict[Any, tuple[Any, set[str]]]:
    """pk -> (TaskForce, codenames) for every task force the person holds a permission on (perms_on's answer).

    A site admin holds every permission on every task force (see perms_on), so that is all of them; anyone else
    gets theirs from guardian's rows, user and group, in one UNION whose rows carry the task force's columns (a
    person belongs to a handful of task forces with a few codenames each). A signed-out person has none.
    """
    from taskforce.models import TaskForce, TaskForceGroupObjectPermission, TaskForceUserObjectPermission

    memo = request.__dict__.get("_my_taskforces")
    if memo is not None:
        return memo
    user = getattr(request, "user", None)
    memo = {}
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        pass
    elif _superuser_sees(user, TaskForce._meta.label_lower):
        for taskforce in TaskForce.objects.all():
            memo[taskforce.pk] = (taskforce, perms_on(user, taskforce))
    else:
        fields = [field.attname for field in TaskForce._meta.concrete_fields]
        columns = [f"content_object__{name}" for name in fields] + ["permission__codename"]
        own = TaskForceUserObjectPermission.objects.filter(user=user).values_list(*columns)
        grouped = TaskForceGroupObjectPermission.objects.filter(group__in=_groups_of(user)).values_list(*columns)
        for *values, codename in own.union(grouped):
            if values[0] not in memo:  # fields start with the pk
                memo[values[0]] = (TaskForce.from_db(own.db, fields, values), set())
            memo[values[0]][1].add(codename)
    request.__dict__["_my_taskforces"] = memo
    return memo


def url_taskforce(request: HttpRequest, slug: str | None = None):
    """The TaskForce with `slug` (default: the URL's), or None, read once per request. No permission implied:
    callers that show anything from it must check (taskforce_for does). Usually one of the person's own task
    forces; otherwise (a signed-out visitor, a case shared with someone outside it) it is read by its slug."""
    from taskforce.models import TaskForce

    if slug is None:
        match = getattr(request, "resolver_match", None)
        slug = match.kwargs.get("slug") if match else None
    if not slug:
        return None
    mine = next((tf for tf, _codenames in _my_taskforces(request).values() if tf.slug == slug), None)
    if mine is not None:
        return mine
    memo = request.__dict__.setdefault("_taskforce_by_slug", {})
    if slug not in memo:
        memo[slug] = TaskForce.objects.filter(slug=slug).first()
    return memo[slug]


def visible_taskforces(request: HttpRequest) -> list:
    """The task forces the person may view (visible_to's answer), by name."""
    mine = _my_taskforces(request).values()
    return sorted((tf for tf, codenames in mine if "view_taskforce" in codenames), key=lambda tf: tf.name)


def request_perms(request: HttpRequest, obj: models.Model) -> set[str]:
    """`perms_on(request.user, obj)`, asked once per request (the view, the dashboard cards and the navigation
    all ask about the same task force). A view that changes the person's own grants must not rely on it after.
    """
    if obj._meta.label_lower == "taskforce.taskforce":
        return set(_my_taskforces(request).get(obj.pk, (None, set()))[1])
    memo = request.__dict__.setdefault("_perms_on", {})
    key = (getattr(request.user, "pk", None), obj._meta.label_lower, obj.pk)
    if key not in memo:
        memo[key] = perms_on(request.user, obj)
    return memo[key]


def taskforce_for(request: HttpRequest, slug: str, perm: str = "taskforce.view_taskforce"):
    """The task force named in the URL, through the same 404/403 rules as every guarded object.

    get_for_user's rules on the request's memos: visible means holding view_taskforce on it (a site admin holds
    every task-force permission, see perms_on), else a 404 audited as get_for_user audits it; visible without
    `perm` is an audited 403.
    """
    from taskforce.models import TaskForce

    taskforce = url_taskforce(request, slug)
    codenames = request_perms(request, taskforce) if taskforce is not None else set()
    if "view_taskforce" not in codenames:
        _audit_denial(request, TaskForce.objects.all(), {"slug": slug}, "access.not_found")
        raise Http404
    if perm.split(".", 1)[-1] not in codenames:
        deny(request, taskforce, perm)
    return taskforce


# --- MOU signing authority ---------------------------------------------------------------------------
# Signing binds an agency, so it is not an object permission anyone can be granted by group: it follows the
# membership's named signatory (and, for approval steps, the approvers the coordinator named on the request).
# mous.services and mous.views both call these; every refusal is audited by the caller.


def may_sign_for(user: Any, membership: models.Model) -> bool:
    """Whether `user` is the authorized signatory of the agency `membership` stands for (and it is active)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(getattr(membership, "signatory_id", None) == user.pk and getattr(membership, "status", "") == "active")


def may_act_on_signature_request(user: Any, signature_request: models.Model) -> bool:
    """The person a signing or approval step is addressed to; a signing step also needs signatory authority."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if signature_request.user_id != user.pk:
        return False
    if signature_request.role == "signer":
        return may_sign_for(user, signature_request.party.membership)
    return True
