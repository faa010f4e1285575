"""The cases app's rows of the permission matrix (tests/security/test_permission_matrix.py merges them in).

The world (tests/cases/world.py): the CAC (agency B) leads case 2026-001. Bea (liaison B) manages it;
Mia and Fred (CAC) contribute; Larry's Sheriff's Office (agency A) has full access under the guardian's
release; Alice's Social Services (agency C) is involved without a release and sees the summary only. Ada
the site admin holds no grant and gets the same 404 as for a case that does not exist. Oscar cannot tell
Harbor exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.cases.world import build_world


def _case(cast) -> dict[str, Any]:
    world = build_world(cast)
    return {"slug": cast.taskforce.slug, "pk": world.case.pk}


def _with(attr: str, kwarg: str) -> Callable:
    def build(cast) -> dict[str, Any]:
        world = build_world(cast)
        return {"slug": cast.taskforce.slug, "pk": world.case.pk, kwarg: getattr(world, attr).pk}

    return build


def _harbor(cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug}


def case_rows(Row, in_harbor, harbor_managers) -> dict[str, Any]:  # noqa: N803 - the matrix's own classes
    summary = in_harbor(200, admin=404)  # anyone the case is visible to, at any level
    full = in_harbor(403, admin=404, liaison_b=200, member_b=200, facilitator=200, liaison_a=200)
    contribute = in_harbor(403, admin=404, liaison_b=200, member_b=200, facilitator=200)
    manage = in_harbor(403, admin=404, liaison_b=200)
    contribute_post = in_harbor(403, admin=404, liaison_b=302, member_b=302, facilitator=302)
    manage_post = in_harbor(403, admin=404, liaison_b=302)
    return {
        # Lists filter by permission: everyone of Harbor gets a page (the admin's is empty).
        "cases:list": Row(_harbor, "GET", in_harbor()),
        "cases:mine": Row(_harbor, "GET", in_harbor()),
        # People of an active member agency open cases for it; the site admin belongs to none.
        "cases:create": Row(_harbor, "GET", in_harbor(200, admin=403)),
        "cases:recommendations": Row(_harbor, "GET", harbor_managers()),
        "cases:detail": Row(_case, "GET", summary),
        "cases:request_access": Row(_case, "GET", summary),
        "cases:history": Row(_case, "GET", summary),  # values shown with full access only
        "cases:review_pdf": Row(_case, "GET", full),
        "cases:review_new": Row(_case, "GET", contribute),
        "cases:review_edit": Row(_with("review", "review_pk"), "GET", contribute),
        "cases:follow_up_add": Row(_with("review", "review_pk"), "POST", contribute_post),
        "cases:follow_up_status": Row(_with("follow_up", "follow_up_pk"), "POST", contribute_post),
        "cases:edit": Row(_case, "GET", manage),
        "cases:sharing": Row(_case, "GET", manage),
        "cases:releases": Row(_case, "GET", manage),
        "cases:agencies": Row(_case, "GET", manage),
        "cases:access_log": Row(_case, "GET", manage),
        "cases:grant_revoke": Row(_with("grant", "grant_pk"), "POST", manage_post),
        "cases:release_revoke": Row(_with("release", "release_pk"), "POST", manage_post),
        "cases:request_decide": Row(_with("access_request", "request_pk"), "POST", manage_post),
        "cases:propose": Row(_case, "POST", manage_post),
    }
