"""Read queries for MOU pages: the status matrix, the objection ledger, what a person must act on."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from mous.models import (
    LetterOfUnderstanding,
    LouStatus,
    Mou,
    MouParty,
    MouStatus,
    Objection,
    RecipientRole,
    RequestStatus,
    SignatureRequest,
)

PARTY_STATES = [
    ("not_sent", "Not sent"),
    ("sent", "Sent"),
    ("viewed", "Viewed"),
    ("approved", "Approved"),
    ("signed", "Signed"),
    ("declined", "Declined"),
    ("lou", "Letter of understanding issued"),
]
STATE_LABELS = dict(PARTY_STATES)
STATE_BADGES = {
    "not_sent": "text-bg-light border",
    "sent": "text-bg-info",
    "viewed": "text-bg-primary",
    "approved": "text-bg-warning",
    "signed": "text-bg-success",
    "declined": "text-bg-danger",
    "lou": "text-bg-secondary",
}


@dataclass
class PartyRow:
    party: MouParty
    state: str
    steps: list[SignatureRequest] = field(default_factory=list)
    letter: LetterOfUnderstanding | None = None
    signature: SignatureRequest | None = None
    declined: SignatureRequest | None = None

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def signatory_changed(self) -> bool:
        """The agency named a new signatory after its signing step went out: send it to them."""
        signatory = self.party.membership.signatory_id
        return any(s.role == RecipientRole.SIGNER and s.status != RequestStatus.VOIDED and s.user_id != signatory
                   for s in self.steps)  # fmt: skip

    @property
    def badge(self) -> str:
        return STATE_BADGES[self.state]


def party_state(steps: list[SignatureRequest], letter: LetterOfUnderstanding | None) -> str:
    if letter is not None:
        return "lou"
    live = [s for s in steps if s.status != RequestStatus.VOIDED]
    if not live:
        return "not_sent"
    if any(s.status == RequestStatus.DECLINED for s in live):
        return "declined"
    if any(s.role == RecipientRole.SIGNER and s.status == RequestStatus.SIGNED for s in live):
        return "signed"
    approvers = [s for s in live if s.role == RecipientRole.APPROVER]
    if approvers and all(s.status == RequestStatus.APPROVED for s in approvers):
        return "approved"
    if any(s.status in (RequestStatus.VIEWED, RequestStatus.APPROVED) for s in live):
        return "viewed"
    if any(s.status == RequestStatus.SENT for s in live):
        return "sent"
    return "not_sent"


def status_matrix(mou: Mou, user: Any = None) -> list[PartyRow]:
    """One row per party: its steps on the version out for signature (or executed), and its state.

    With `user`, each party also carries `in_liaison_group` (the user belongs to its liaison group), read in
    the same query, so the page can find the party the user acts for (services.party_for) without another.
    """
    version_id = mou.signing_version_id or mou.executed_version_id
    parties = mou.parties.select_related("membership__agency", "membership__signatory")
    if user is not None and getattr(user, "is_authenticated", False):
        members = Group.user_set.through.objects.filter(
            group_id=OuterRef("membership__liaison_group_id"), user_id=user.pk
        )
        parties = parties.annotate(in_liaison_group=Exists(members))
    parties = parties.prefetch_related(
        Prefetch(
            "requests",
            # A party's steps in their order: Meta's leading "party" would join and sort by the agency's name
            # too, for steps that are grouped by party here anyway.
            queryset=SignatureRequest.objects.filter(version_id=version_id)
            .select_related("user")
            .order_by("order", "pk"),
            to_attr="current_steps",
        ),
        Prefetch(
            "letters",
            queryset=LetterOfUnderstanding.objects.exclude(status=LouStatus.WITHDRAWN),
            to_attr="live_letters",
        ),
    )
    rows = []
    for party in parties:
        steps = party.current_steps if version_id else []
        letter = party.live_letters[0] if party.live_letters else None
        row = PartyRow(party=party, state=party_state(steps, letter), steps=steps, letter=letter)
        row.signature = next((s for s in steps if s.status == RequestStatus.SIGNED), None)
        row.declined = next((s for s in steps if s.status == RequestStatus.DECLINED), None)
        rows.append(row)
    return rows


def progress(rows: list[PartyRow]) -> dict[str, int]:
    required = [r for r in rows if r.state != "lou"]
    signed = sum(1 for r in required if r.state == "signed")
    total = len(required)
    return {"signed": signed, "total": total, "percent": round(100 * signed / total) if total else 0}


def ledger(mou: Mou) -> dict[str, Any]:
    """Objections grouped by agency and by clause."""
    objections = list(mou.objections.select_related("party__membership__agency", "raised_by", "version", "resolved_in"))
    by_agency: dict[str, list[Objection]] = defaultdict(list)
    by_clause: dict[tuple[int, str], list[Objection]] = defaultdict(list)
    for o in objections:
        by_agency[o.party.membership.agency.name].append(o)
        by_clause[(o.clause_number, o.clause_heading)].append(o)
    return {
        "objections": objections,
        "by_agency": sorted(by_agency.items()),
        "by_clause": sorted(by_clause.items()),
        "open_count": sum(1 for o in objections if o.is_open),
    }


def pending_steps_for(user: Any, taskforce_id: int | None = None) -> QuerySet[SignatureRequest]:
    """The steps waiting for this person, on versions still out for signature."""
    steps = SignatureRequest.objects.filter(
        user=user,
        status__in=[RequestStatus.SENT, RequestStatus.VIEWED],
        party__mou__status=MouStatus.SIGNING,
    ).select_related("version__mou", "party__membership__agency")
    if taskforce_id is not None:
        steps = steps.filter(party__mou__taskforce_id=taskforce_id)
    return steps
