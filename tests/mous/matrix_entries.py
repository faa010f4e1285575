"""The MOU app's rows of the permission matrix (tests/security/test_permission_matrix.py merges them in).

The world: Harbor's coordinator Alice drafts an MOU between the Sheriff's Office (agency A, Larry is its
liaison and signatory) and the Child Advocacy Center (agency B, Bea is its liaison and signatory; Mia and
Fred are its people). v1 is circulated and out for signature; Larry has objected to clause 3. Alice's own
agency (C) is not a party: she sees the MOU as coordinator. Ada the site admin sees every MOU but signs
for no agency. Oscar cannot tell Harbor exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from members import services as member_services
from mous import services
from mous.models import LetterOfUnderstanding, Mou, Objection, SignatureRequest


@dataclass
class World:
    mou: Mou
    objection: Objection
    step_a: SignatureRequest
    letter: LetterOfUnderstanding | None = None


def _signatory(membership, person) -> None:
    member_services.membership_update_profile(
        membership=membership,
        actor=person,
        roles_and_responsibilities="Investigates trafficking of minors.",
        response_commitments="Responds within 24 hours.",
        signatory=person,
        alternate_liaison=None,
        acknowledge_commitment=True,
    )


def build_world(cast, *, letter: bool = False, executed: bool = False) -> World:
    _signatory(cast.agency_a, cast.liaison_a)
    _signatory(cast.agency_b, cast.liaison_b)
    for membership in (cast.agency_a, cast.agency_b):
        membership.refresh_from_db()
    mou = services.mou_create(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Harbor MOU", parties=[cast.agency_a, cast.agency_b]
    )
    version = services.version_circulate(mou=mou, actor=cast.coordinator)
    services.mou_send_for_signature(mou=mou, actor=cast.coordinator)
    mou.refresh_from_db()
    objection = services.objection_raise(
        mou=mou, version=version, clause_number=3, actor=cast.liaison_a, reason="Too fast for us."
    )
    step_a = version.requests.get(user=cast.liaison_a)
    world = World(mou=mou, objection=objection, step_a=step_a)
    if letter:
        world.letter = services.lou_issue(party=mou.parties.get(membership=cast.agency_b), actor=cast.coordinator)
    if executed:
        for person in (cast.liaison_a, cast.liaison_b):
            services.request_sign(
                req=version.requests.get(user=person),
                actor=person,
                typed_name=person.full_name,
                typed_title="Director",
                attest=True,
                document_sha256=version.sha256,
            )
    return world


def _harbor(cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug}


def _mou(cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug, "pk": build_world(cast).mou.pk}


def _executed(cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug, "pk": build_world(cast, executed=True).mou.pk}


def _with(kwarg: str, get: Callable[[World], Any], **options: bool) -> Callable:
    def build(cast) -> dict[str, Any]:
        world = build_world(cast, **options)
        return {"slug": cast.taskforce.slug, "pk": world.mou.pk, kwarg: get(world)}

    return build


_clause = _with("clause_pk", lambda w: w.mou.clauses.get(position=2).pk)
_version = _with("number", lambda w: 1)
_objection = _with("objection_pk", lambda w: w.objection.pk)
_party_b = _with("party_pk", lambda w: w.mou.parties.get(membership__agency__name="Child Advocacy Center").pk)
_step_a = _with("request_pk", lambda w: w.step_a.pk)
_letter = _with("letter_pk", lambda w: w.letter.pk, letter=True)


def mou_rows(Row, in_harbor, harbor_managers) -> dict[str, Any]:  # noqa: N803 - the matrix's own classes
    view = in_harbor()  # parties' people, the coordinators and the admin; everyone of Harbor in this world
    manage = in_harbor(403, admin=200, coordinator=200)
    manage_post = in_harbor(403, admin=302, coordinator=302)
    # Object and discuss for an agency: the party liaisons. The admin and the coordinator are no party.
    comment = in_harbor(403, liaison_a=200, liaison_b=200)
    # Larry's signing step: his to act on; the coordinators (and the admin) may look at it.
    step_page = in_harbor(403, admin=200, coordinator=200, liaison_a=200)
    step_post = in_harbor(403, liaison_a=302)
    return {
        "mous:list": Row(_harbor, "GET", in_harbor()),
        "mous:create": Row(_harbor, "GET", harbor_managers()),
        "mous:verify": Row(_harbor, "GET", in_harbor()),
        "mous:detail": Row(_mou, "GET", view),
        "mous:edit": Row(_mou, "GET", manage),
        "mous:draft": Row(_mou, "GET", manage),
        "mous:clause_add": Row(_mou, "GET", manage),
        "mous:clause_edit": Row(_clause, "GET", manage),
        "mous:clause_move": Row(_clause, "POST", manage_post),
        "mous:clause_delete": Row(_clause, "POST", manage_post),
        "mous:circulate": Row(_mou, "GET", manage),
        "mous:circulated": Row(_version, "GET", view),
        "mous:objection_new": Row(_version, "GET", comment),
        "mous:diff": Row(_mou, "GET", view),
        "mous:objections": Row(_mou, "GET", view),
        "mous:objections_agenda": Row(_mou, "POST", manage_post),
        "mous:objection": Row(_objection, "GET", view),
        # Only the objecting agency withdraws its objection.
        "mous:objection_withdraw": Row(_objection, "POST", in_harbor(403, liaison_a=302)),
        "mous:objection_accept": Row(_objection, "POST", manage_post),
        "mous:routing": Row(_party_b, "GET", manage),
        "mous:lou_issue": Row(_party_b, "POST", manage_post),
        "mous:party_resend": Row(_party_b, "POST", manage_post),
        "mous:send": Row(_mou, "POST", manage_post),
        "mous:request": Row(_step_a, "GET", step_page),
        # Nobody signs, approves or declines for the Sheriff's Office but its signatory, not even the admin.
        "mous:sign": Row(_step_a, "POST", step_post),
        "mous:approve": Row(_step_a, "POST", step_post),
        "mous:decline": Row(_step_a, "POST", step_post),
        "mous:remind": Row(_step_a, "POST", manage_post),
        "mous:lou": Row(_letter, "GET", view),
        "mous:lou_pdf": Row(_letter, "GET", view),
        # The letter is the CAC's: only its liaisons acknowledge it.
        "mous:lou_acknowledge": Row(_letter, "POST", in_harbor(403, liaison_b=302)),
        "mous:lou_withdraw": Row(_letter, "POST", manage_post),
        "mous:pdf": Row(_executed, "GET", view),
        "mous:renew": Row(_mou, "GET", manage),
    }
