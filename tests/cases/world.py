"""A case in the Harbor cast, built through the services (used by tests/cases and the permission matrix).

The Child Advocacy Center (agency B, an NGO: a victim-service agency, Bea its liaison) leads case
2026-001. The Sheriff's Office (agency A, Larry) and Social Services (agency C, Alice the coordinator) are
involved, so both see the summary. The guardian signed a release naming the Sheriff's Office, and Bea
shared the full case with it under that release; Social Services has no release, so it has the summary
only. Mia and Fred work at the CAC and contribute. Ada (site admin) and Oscar (other task force) see nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from django.utils import timezone

from cases import services
from cases.models import AccessRequest, Case, CaseGrant, CaseReview, FollowUp, Level, Release
from meetings import services as meetings
from meetings.models import AgendaItem, Meeting
from taskforce import agenda
from tests.cast import Cast


@dataclass
class World:
    case: Case
    release: Release
    grant: CaseGrant
    review: CaseReview
    follow_up: FollowUp
    access_request: AccessRequest


SUMMARY_SECRET = "Disclosed at the CAC interview that the recruiter met her outside the bus station."


def make_case(cast: Cast, *, number: str = "2026-001", lead=None, actor=None, involved=None, **fields) -> Case:
    lead = lead or cast.agency_b
    actor = actor or cast.liaison_b
    if involved is None:
        involved = [m for m in (cast.agency_a, cast.agency_c) if m.pk != lead.pk]
    defaults = {
        "number": number,
        "label": "J.D.",
        "age_band": "15_17",
        "county": "Harbor County",
        "referral_source": "hotline",
        "trafficking_type": "sex",
        "summary": SUMMARY_SECRET,
        "service_needs": "Safe housing; trauma therapy.",
        "risk_flags": ["runaway", "online"],
    }
    return services.case_create(
        taskforce=cast.taskforce,
        lead=lead,
        actor=actor,
        involved=involved,
        **{**defaults, **fields},
    )


def build_world(cast: Cast) -> World:
    case = make_case(cast)
    today = timezone.localdate()
    release = services.release_create(
        case=case,
        actor=cast.liaison_b,
        agencies=[cast.agency_a],
        signed_by="guardian",
        scope="Case coordination and multidisciplinary case review",
        signed_on=today - timedelta(days=10),
        expires_on=today + timedelta(days=180),
    )
    grant = services.grant_create(
        case=case,
        actor=cast.liaison_b,
        level=Level.FULL,
        justification="Investigating the recruiter",
        membership=cast.agency_a,
    )
    review = services.review_save(
        case=case,
        actor=cast.liaison_b,
        held_on=today,
        participants=[cast.liaison_b, cast.liaison_a],
        discussion="Placement is stable; interview scheduled.",
        service_needs="Therapy waitlist",
        recommendations=[],
    )
    follow_up = services.follow_up_add(
        review=review,
        actor=cast.liaison_b,
        task="Confirm therapy intake",
        owner=cast.member_b,
        due_on=today + timedelta(days=3),
    )
    access_request = services.access_request_create(
        case=case, actor=cast.coordinator, level=Level.FULL, justification="Placement decision next week"
    )
    return World(case, release, grant, review, follow_up, access_request)


def make_meeting(cast: Cast, title: str = "Harbor case review") -> Meeting:
    """A Harbor meeting a week out, run by Fred: where case-review items land."""
    return meetings.meeting_create(
        taskforce=cast.taskforce,
        actor=cast.facilitator,
        title=title,
        day=timezone.localdate() + timedelta(days=7),
        start_time=time(10),
        end_time=time(11),
        time_zone="America/New_York",
        facilitator=cast.facilitator,
    )


def propose_review(cast: Cast, case: Case, *, actor=None) -> AgendaItem:
    """A restricted case-review item for `case`, proposed by `actor` (Larry unless said)."""
    return agenda.propose(
        agenda.Proposal(
            taskforce=cast.taskforce, title="Case review", description="", item_type="case_review",
            actor=actor or cast.liaison_a, source=case, restricted=True,
        )
    )  # fmt: skip
