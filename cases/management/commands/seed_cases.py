"""Demo cases for the demo task force (run after members' seed_demo and meetings' seed_meetings).

The Child Advocacy Center leads a case shared with the Sheriff's Office under the guardian's release and
with CPS at summary level; the Sheriff's Office leads a restricted labor case; the CAC holds a sealed one.
Everything goes through the services, so the grants, history and audit trail are the real thing.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from cases import services
from cases.models import Case, Level, Recommendation
from members.models import Membership, User
from taskforce import agenda
from taskforce.models import TaskForce

DEMO_SLUG = "harbor-county-csec-task-force"


class Command(BaseCommand):
    help = "Seed demo cases with releases, grants, a review and follow-ups."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        harbor = TaskForce.objects.filter(slug=DEMO_SLUG).first()
        if harbor is None:
            self.stderr.write("Run `manage.py seed_demo` first.")
            return
        if Case.objects.filter(taskforce=harbor).exists():
            self.stdout.write("Demo cases already exist.")
            return
        by_name = {m.agency.name: m for m in Membership.objects.filter(taskforce=harbor).select_related("agency")}
        cac = by_name["Harbor County Child Advocacy Center"]
        sheriff = by_name["Harbor County Sheriff's Office"]
        cps = by_name["Harbor County Child Protective Services"]
        maya = User.objects.get(email="c.advocacy@harborcac.example.org")
        dana = User.objects.get(email="liaison@example.org")
        chris = User.objects.filter(email="member@example.org").first() or maya
        today = timezone.localdate()

        case = services.case_create(
            taskforce=harbor,
            lead=cac,
            actor=maya,
            involved=[sheriff, cps],
            number="CAC-2026-014",
            label="M.R.",
            age_band="15_17",
            county="Harbor County",
            referral_source="hotline",
            trafficking_type="sex",
            status="active",
            risk_flags=["runaway", "online"],
            summary="Recruited through a gaming chat; met the buyer at a motel off Route 9. Disclosed at the CAC.",
            service_needs="Safe placement; trauma-focused therapy; school re-entry plan.",
        )
        release = services.release_create(
            case=case,
            actor=maya,
            agencies=[sheriff],
            signed_by="guardian",
            scope="Investigation and multidisciplinary case review",
            signed_on=today - timedelta(days=12),
            expires_on=today + timedelta(days=170),
        )
        services.grant_create(
            case=case, actor=maya, level=Level.CONTRIBUTE, justification="Detective assigned to the buyer",
            membership=sheriff, expires_at=timezone.now() + timedelta(days=120),
        )  # fmt: skip
        review = services.review_save(
            case=case,
            actor=maya,
            held_on=today - timedelta(days=7),
            participants=[maya, dana, chris],
            discussion="Placement stable with kin. Forensic interview done; buyer identified from motel records.",
            service_needs="Therapy waitlist at the mental health center.",
            recommendations=Recommendation.objects.filter(
                taskforce=harbor, text__in=["Safety plan update", "Mental health referral"]
            ),
        )
        services.follow_up_add(
            review=review, actor=maya, task="Confirm therapy intake date", owner=chris, due_on=today + timedelta(days=3)
        )
        services.follow_up_add(
            review=review, actor=maya, task="Request motel CCTV", owner=dana, due_on=today + timedelta(days=10)
        )

        labor = services.case_create(
            taskforce=harbor, lead=sheriff, actor=dana, involved=[cac], number="SO-2026-101", label="Sparrow",
            age_band="15_17", referral_source="school", trafficking_type="labor", confidentiality="restricted",
            summary="Working nights at a restaurant to repay a 'travel debt'.", service_needs="Immigration relief referral.",
        )  # fmt: skip
        services.grant_create(
            case=labor, actor=dana, level=Level.FULL, justification="Advocate for the youth", membership=cac
        )
        services.case_create(
            taskforce=harbor, lead=cac, actor=maya, number="CAC-2026-020", label="T.K.", age_band="12_14",
            referral_source="health", trafficking_type="sex", confidentiality="sealed",
            summary="Sealed at the family court's order.",
        )  # fmt: skip
        try:
            agenda.propose(
                agenda.Proposal(
                    taskforce=harbor, title="Case review", description="", item_type="case_review", actor=maya,
                    source=case, restricted=True,
                )
            )  # fmt: skip
        except agenda.NoUpcomingMeeting:
            pass
        self.stdout.write(self.style.SUCCESS(f"Seeded 3 demo cases (release {release.pk} names the Sheriff's Office)."))
