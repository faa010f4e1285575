"""The demo's MOU, half way through signing (run after seed_demo).

v1 circulated, the District Attorney objected to the information-sharing clause, the coordinator
revised it in v2, most signatories signed, the hospitality association declined and has a letter of
understanding, and the Sheriff's liaison (the demo's liaison login) still has to sign.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from members.models import Membership, MembershipStatus, User
from mous import services
from mous.models import Mou
from taskforce.models import TaskForce

STILL_TO_SIGN = {"liaison@example.org", "r.blackfeather@cedarriver.example.org", "k.osei@harborbh.example.org"}
DECLINES = "n.patel@hospitality.example.org"


class Command(BaseCommand):
    help = "Seed the demo task force's MOU, part way through signing."

    def handle(self, *args, **options) -> None:
        harbor = TaskForce.objects.filter(slug="harbor-county-csec-task-force").first()
        if harbor is None:
            self.stderr.write("Run seed_demo first.")
            return
        if Mou.objects.filter(taskforce=harbor).exists():
            self.stdout.write("Demo MOU already present; nothing to do.")
            return
        with override_settings(MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}):
            with transaction.atomic():
                self._seed(harbor)
        self.stdout.write(self.style.SUCCESS("Demo MOU seeded."))

    def _seed(self, harbor: TaskForce) -> None:
        coordinator = User.objects.get(email="coordinator@example.org")
        parties = list(
            Membership.objects.filter(taskforce=harbor, status=MembershipStatus.ACTIVE, signatory__isnull=False)
            .select_related("signatory")
            .order_by("agency__name")
        )
        today = timezone.localdate()
        mou = services.mou_create(
            taskforce=harbor,
            actor=coordinator,
            title="Harbor County CSEC Task Force Memorandum of Understanding",
            parties=parties,
            effective_on=today,
            expires_on=today + timedelta(days=3 * 365),
        )
        v1 = services.version_circulate(mou=mou, actor=coordinator, note="First draft for legal review")
        mou.refresh_from_db()
        prosecutor = User.objects.get(email="p.natarajan@harborda.example.org")
        clause = mou.clauses.order_by("position")[4]
        objection = services.objection_raise(
            mou=mou,
            version=v1,
            clause_number=5,
            actor=prosecutor,
            reason="Discovery obligations: we must be able to disclose case information to the defense when required.",
            proposed_wording=clause.body + "\n\nNothing in this clause limits a prosecutor's disclosure obligations.",
        )
        services.objection_comment(objection=objection, actor=coordinator, body="Agreed; adding it in v2.")
        services.objection_accept(objection=objection, actor=coordinator, apply_wording=True)
        services.version_circulate(mou=mou, actor=coordinator, note="Clause 5 revised after the DA's objection")
        mou.refresh_from_db()
        services.mou_send_for_signature(mou=mou, actor=coordinator)
        mou.refresh_from_db()
        version = mou.signing_version
        for req in version.requests.select_related("user").order_by("pk"):
            person = req.user
            if person.email in STILL_TO_SIGN:
                continue
            if person.email == DECLINES:
                services.request_decline(
                    req=req, actor=person, reason="resources", text="We cannot commit staff to case review yet."
                )
                continue
            services.request_sign(
                req=req,
                actor=person,
                typed_name=person.full_name,
                typed_title=person.title or "Authorized signatory",
                attest=True,
                document_sha256=version.sha256,
            )
        declined = mou.parties.filter(membership__signatory__email=DECLINES).first()
        if declined is not None:
            services.lou_issue(party=declined, actor=coordinator)
