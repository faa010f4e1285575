"""The MOU template that ships with the product, written for multi-agency anti-trafficking task forces.

It follows the fact sheet's advice: define each organization's roles, responsibilities and response,
keep the agreement simple and the expectations clear so agencies can sign with minimal legal changes,
and say in writing how the partners communicate and coordinate on cases and victims.
Clause 3 is filled from what each party agency wrote on its membership profile.
"""

from __future__ import annotations

from collections.abc import Iterable

from members.models import Membership
from taskforce.models import TaskForce


def _party_roles(parties: Iterable[Membership]) -> str:
    blocks = []
    for membership in parties:
        agency = membership.agency
        roles = membership.roles_and_responsibilities.strip() or "Roles and responsibilities to be agreed."
        response = membership.response_commitments.strip() or "Response to be agreed, realistic for its resources."
        blocks.append(
            f"**{agency.name}** ({agency.sector_label})\n\n"
            f"- *Roles and responsibilities:* {' '.join(roles.split())}\n"
            f"- *Response to human trafficking:* {' '.join(response.split())}"
        )
    if not blocks:
        blocks.append("*No party agencies are named yet.*")
    return (
        "Each party takes on the roles, responsibilities and response below. Response plans are realistic "
        "and achievable for the resources and capabilities of each party; a party that can no longer meet "
        "them tells the coordinator promptly.\n\n" + "\n\n".join(blocks)
    )


def default_clauses(taskforce: TaskForce, parties: Iterable[Membership]) -> list[tuple[str, str]]:
    """(heading, Markdown body) for each clause, in order."""
    parties = list(parties)
    names = ", ".join(m.agency.name for m in parties) or "the party agencies"
    mission = " ".join(taskforce.mission_statement.split()) or (
        "to identify and protect children who are trafficked or at risk of commercial sexual exploitation, "
        "hold exploiters accountable, and connect every survivor with services"
    )
    return [
        (
            "Purpose and shared mission",
            f"This Memorandum of Understanding (MOU) is made between {names} (the parties), members of "
            f"the {taskforce.name}. The parties share the mission of the task force: {mission}.\n\n"
            "The parties commit to a multidisciplinary, victim-centred and trauma-informed response to the "
            "commercial sexual exploitation of children and to human trafficking, and to the success of the "
            "task force as a whole.",
        ),
        (
            "Coordination of the task force",
            "The task force coordinator convenes regular meetings led by an agreed facilitator and an agenda "
            "circulated in advance, keeps the charter, roster and this agreement, and is the first point of "
            "contact between the parties. Each party names a liaison and an alternate who attend meetings and "
            "act for the party between them.",
        ),
        ("Roles, responsibilities and response of each party", _party_roles(parties)),
        (
            "Information sharing and confidentiality",
            "The parties share information about cases and victims only as far as the law, their "
            "professional obligations and this agreement allow, and only with the people who need it to "
            "protect a child or to hold an offender accountable.\n\n"
            "- Victim-identifying information held by a victim-service provider is shared **only with the "
            "survivor's signed, informed and time-limited release**, naming what may be shared and with whom.\n"
            "- Information discussed in case reviews is confidential; it is not recorded beyond what the "
            "task force's case procedures require and is never disclosed outside the task force.\n"
            "- Each party keeps shared information secure and reports any unauthorised disclosure to the "
            "coordinator within one business day.",
        ),
        (
            "Communication and coordination on cases and victims",
            "When a party identifies a child who may be trafficked, it contacts the liaison of each party "
            "whose response is needed without delay, using the after-hours numbers in the task force "
            "directory when necessary. Law enforcement and victim services coordinate so that a survivor's "
            "safety and services come first and interviews are not duplicated. Cases are reviewed regularly "
            "at task force meetings, in a culture that allows respectful disagreement and questioning.",
        ),
        (
            "Training commitments",
            "Each party ensures its staff who work with the task force complete the core training agreed by "
            "the task force (identifying trafficking, trauma-informed practice, and the information-sharing "
            "rules of this agreement) within six months of joining, and contributes to the ongoing training "
            "that is part of task force meetings.",
        ),
        (
            "Term, amendment and withdrawal",
            "This agreement takes effect when every party has signed it and remains in effect for the term "
            "recorded with it, unless renewed. It may be amended only in writing, through a new version "
            "circulated to and signed by every party. A party may withdraw with thirty days' written notice "
            "to the coordinator; its obligations of confidentiality continue after it withdraws.",
        ),
        (
            "Signatures",
            "Each party's authorized signatory signs this agreement for that party and attests to their "
            "authority to commit it. Signatures bind to the exact version identified by its SHA-256 hash on "
            "the signing certificate; this agreement creates no financial obligation and no rights for third "
            "parties.",
        ),
    ]
