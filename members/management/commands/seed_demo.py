"""A realistic demo: a county task force with agencies from all twenty sectors and a user per role.

Idempotent: running it again leaves an existing demo alone. Everything goes through the services,
so the demo has exactly the groups and grants a real deployment would.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from members import comms, services
from members.models import DocumentKind, Role, Tier, User
from taskforce.models import TaskForce
from taskforce.services import charter_update, taskforce_create

DEMO_PASSWORD = "Taskforce-demo-1"  # documented in the README; the demo runs on a laptop only

MISSION = (
    "Harbor County agencies work as one team to identify children who are sexually exploited or trafficked, "
    "protect and restore them, and hold exploiters accountable — with every response led by the needs of the child."
)
VALUES = "\n".join(
    [
        "Victim-centred and trauma-informed in every contact",
        "Respect for each agency's role, and for respectful disagreement",
        "Confidentiality: share what the case needs, with whom it needs it",
        "Accountability to survivors and to the community",
        "Learning together: joint training and honest feedback",
    ]
)

PROTOCOL_TEXT = """Harbor County CSEC response protocol - draft for discussion

1. Any member agency that identifies a child who may be exploited calls the Child Protective Services hotline
   and the Sheriff's Office Special Victims Unit at once.
2. Within 24 hours: a forensic interview is scheduled at the Child Advocacy Center; medical examination at
   Harbor General Hospital where indicated.
3. Within 72 hours: Safe Harbor Youth Services offers advocacy and a safety plan; the case is put on the next
   case review with the survivor's (or guardian's) signed release naming the agencies that may take part.
4. Victim-identifying information from a victim-service provider is shared only under a signed release.
"""

# name, sector, level, jurisdiction, rural, tribal, liaison (name, title, email[, "invited" if not joined yet])
AGENCIES = [
    (
        "Harbor County Sheriff's Office",
        "law_enforcement",
        "county",
        "Harbor County",
        False,
        False,
        ("Dana Whitfield", "Detective Sergeant, Special Victims Unit", "liaison@example.org"),
    ),
    (
        "Port Harbor Police Department",
        "law_enforcement",
        "local",
        "City of Port Harbor",
        False,
        False,
        ("Marcus Reyes", "Detective, Youth Services", "m.reyes@porthpd.example.org"),
    ),
    (
        "State Police Troop H",
        "law_enforcement",
        "state",
        "Northern Region",
        False,
        False,
        ("Lena Kowalski", "Investigator", "l.kowalski@statepolice.example.org"),
    ),
    (
        "FBI Child Exploitation and Human Trafficking Task Force",
        "law_enforcement",
        "federal",
        "Northern District",
        False,
        False,
        ("Owen Park", "Special Agent", "o.park@fbi.example.org"),
    ),
    (
        "Cedar River Tribal Police",
        "law_enforcement",
        "tribal",
        "Cedar River Reservation",
        True,
        True,
        ("Ruth Blackfeather", "Chief of Police", "r.blackfeather@cedarriver.example.org"),
    ),
    (
        "Harbor County District Attorney's Office",
        "prosecution",
        "county",
        "Harbor County",
        False,
        False,
        ("Priya Natarajan", "Assistant District Attorney", "p.natarajan@harborda.example.org"),
    ),
    (
        "U.S. Attorney's Office, Northern District",
        "prosecution",
        "federal",
        "Northern District",
        False,
        False,
        ("Elena Garza", "Assistant U.S. Attorney", "e.garza@usao.example.org", "invited"),
    ),
    (
        "Harbor County Public Defender",
        "defense",
        "",
        "Harbor County",
        False,
        False,
        ("Samuel Okafor", "Supervising Attorney, Juvenile", "s.okafor@harborpd.example.org"),
    ),
    (
        "Harbor County Family Court",
        "judiciary",
        "",
        "Harbor County",
        False,
        False,
        ("Hon. Teresa Lindqvist", "Family Court Judge", "t.lindqvist@courts.example.org"),
    ),
    (
        "Harbor County Department of Social Services",
        "social_services",
        "",
        "Harbor County",
        False,
        False,
        ("Alex Moreno", "CSEC Program Coordinator", "coordinator@example.org"),
    ),
    (
        "Harbor County Child Protective Services",
        "child_welfare",
        "",
        "Harbor County",
        False,
        False,
        ("Janelle Brooks", "CPS Supervisor", "j.brooks@harbordss.example.org"),
    ),
    (
        "Harbor County Probation — Juvenile Division",
        "juvenile_justice",
        "",
        "Harbor County",
        False,
        False,
        ("Victor Huang", "Juvenile Probation Officer", "v.huang@harborprobation.example.org"),
    ),
    (
        "Harbor General Hospital",
        "health_care",
        "",
        "Port Harbor",
        False,
        False,
        ("Dr. Amara Singh", "Child Abuse Pediatrician", "a.singh@harborgeneral.example.org"),
    ),
    (
        "Harbor Behavioral Health",
        "mental_health",
        "",
        "Harbor County",
        True,
        False,
        ("Kim Osei", "Clinical Director", "k.osei@harborbh.example.org"),
    ),
    (
        "Safe Harbor Youth Services",
        "ngo",
        "",
        "Harbor County",
        False,
        False,
        ("Jordan Ellis", "Director of Programs", "facilitator@example.org"),
    ),
    (
        "Harbor County Child Advocacy Center",
        "ngo",
        "",
        "Harbor County",
        False,
        False,
        ("Maya Thompson", "Executive Director", "c.advocacy@harborcac.example.org"),
    ),
    (
        "Survivor Leadership Council",
        "survivors",
        "",
        "Statewide",
        False,
        False,
        ("Renee Castillo", "Peer Mentor Lead", "r.castillo@survivorcouncil.example.org"),
    ),
    (
        "Harbor Unified School District",
        "education",
        "",
        "Harbor County",
        True,
        False,
        ("Paul Anders", "Director of Student Services", "p.anders@harborusd.example.org"),
    ),
    (
        "Lakeshore University Center for Child Welfare Research",
        "research",
        "",
        "Statewide",
        False,
        False,
        ("Dr. Hannah Weiss", "Associate Professor", "h.weiss@lakeshore.example.edu"),
    ),
    (
        "Coalition Against Exploitation",
        "activists",
        "",
        "Harbor County",
        False,
        False,
        ("Tomas Rivera", "Organizer", "t.rivera@cae.example.org"),
    ),
    (
        "Harbor Street Outreach",
        "homeless_advocates",
        "",
        "Port Harbor",
        False,
        False,
        ("Grace Mbeki", "Outreach Manager", "g.mbeki@streetoutreach.example.org"),
    ),
    (
        "Harbor Pride Center",
        "lgbt_advocates",
        "",
        "Port Harbor",
        False,
        False,
        ("Quinn Adler", "Youth Program Manager", "q.adler@harborpride.example.org", "invited"),
    ),
    (
        "Interfaith Council of Harbor County",
        "faith_based",
        "",
        "Harbor County",
        True,
        False,
        ("Rev. Daniel Cho", "Council Chair", "d.cho@interfaith.example.org"),
    ),
    (
        "Harbor Hospitality Association",
        "private_sector",
        "",
        "Harbor County",
        False,
        False,
        ("Nina Patel", "Director of Safety", "n.patel@hospitality.example.org"),
    ),
    (
        "Office of the Harbor County Executive",
        "public_officials",
        "",
        "Harbor County",
        False,
        False,
        ("Robert Hale", "Deputy County Executive", "r.hale@harborcounty.example.org"),
    ),
    (
        "Harbor Public Media",
        "media",
        "",
        "Harbor County",
        False,
        False,
        ("Leah Brennan", "News Director", "l.brennan@harborpublic.example.org", "invited"),
    ),
]

ROLES_TEXT = {
    "law_enforcement": "Investigates referrals of suspected CSEC within 24 hours; shares case status at case review.",
    "prosecution": "Reviews cases for charges early and coordinates victim-witness support through trial.",
    "child_welfare": "Screens every CSEC report, opens assessments and arranges safe placement.",
    "ngo": "Provides crisis response, advocacy and long-term services to identified youth.",
    "health_care": "Provides medical examinations and screens patients for trafficking indicators.",
    "mental_health": "Offers trauma-focused therapy within two weeks of referral.",
    "education": "Trains school staff to recognize and report exploitation; supports enrolled youth.",
    "social_services": "Coordinates the task force and funds services for identified youth.",
    "juvenile_justice": "Screens justice-involved youth for exploitation and diverts victims to services.",
    "judiciary": "Hears dependency and delinquency matters; supports specialized CSEC court calendars.",
    "survivors": "Advises the task force on survivor-informed practice and offers peer mentoring.",
    "research": "Evaluates the task force's outcomes and shares research on prevalence and practice.",
    "homeless_advocates": "Runs street and shelter outreach and refers at-risk youth.",
    "faith_based": "Offers volunteers, emergency housing and community awareness events.",
    "private_sector": "Trains hotel staff to recognize trafficking and report it.",
}
# Left incomplete on purpose, so the coordinator's dashboard has real gaps to show.
INCOMPLETE = {"activists", "defense", "public_officials"}


class Command(BaseCommand):
    help = "Seed a realistic demo task force with agencies across all twenty sectors and a user per role."

    def handle(self, *args, **options) -> None:
        if TaskForce.objects.filter(slug="harbor-county-csec-task-force").exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        # The demo invites dozens of people; their invitation emails are not worth printing.
        with (
            override_settings(MAILERS={"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}),
            transaction.atomic(),
        ):
            self._seed()
        self.stdout.write(self.style.SUCCESS(f"Demo seeded. Sign in with any demo login; password {DEMO_PASSWORD}"))

    def _seed(self) -> None:
        admin = User.objects.create_superuser(
            "admin@example.org", DEMO_PASSWORD, full_name="Sam Administrator", title="Site administrator"
        )
        harbor = taskforce_create(
            actor=admin,
            name="Harbor County CSEC Task Force",
            region="Harbor County",
            jurisdiction="Harbor County and the Cedar River Reservation",
            established_on=timezone.localdate() - timedelta(days=120),
            meeting_cadence="monthly",
            time_zone="America/New_York",
        )
        coordinator = None
        for name, sector, level, jurisdiction, rural, tribal, liaison in AGENCIES:
            onboarded = services.organization_onboard(
                taskforce=harbor,
                actor=admin,
                agency_fields={
                    "name": name,
                    "sector": sector,
                    "level": level,
                    "jurisdiction": jurisdiction,
                    "is_rural": rural,
                    "is_tribal": tribal,
                    "main_contact_name": liaison[0],
                    "main_contact_email": liaison[2],
                    "main_contact_phone": f"(555) 010-{len(name) * 37 % 10000:04d}",
                },
                liaison_email=liaison[2],
                liaison_name=liaison[0],
                roles_and_responsibilities=ROLES_TEXT.get(sector, ""),
            )
            if len(liaison) > 3:
                continue  # stays invited: the dashboard shows what an open invitation looks like
            person = services.invitation_accept(
                token=onboarded.invitation.token,
                password=DEMO_PASSWORD,
                full_name=liaison[0],
                title=liaison[1],
                phone=f"(555) 010-{len(liaison[0]) * 53 % 10000:04d}",
            )
            membership = onboarded.membership
            if sector not in INCOMPLETE:
                services.membership_update_profile(
                    membership=membership,
                    actor=person,
                    roles_and_responsibilities=ROLES_TEXT.get(
                        sector, "Shares information and takes part in case review."
                    ),
                    response_commitments="Named on-call contact answers task force calls within one business day.",
                    signatory=person,
                    alternate_liaison=None,
                    acknowledge_commitment=True,
                )
            if person.email == "coordinator@example.org":
                coordinator = person
                services.role_grant(taskforce=harbor, user=person, role=Role.COORDINATOR, actor=admin)
            if person.email == "facilitator@example.org":
                services.role_grant(taskforce=harbor, user=person, role=Role.FACILITATOR, actor=admin)
            if person.email == "c.advocacy@harborcac.example.org":
                colleague = services.invitation_create(
                    membership=membership,
                    actor=person,
                    email="member@example.org",
                    full_name="Chris Alvarez",
                    role=Role.MEMBER,
                )
                services.invitation_accept(
                    token=colleague.token,
                    password=DEMO_PASSWORD,
                    full_name="Chris Alvarez",
                    title="Forensic Interviewer",
                )
        charter_update(
            taskforce=harbor,
            actor=coordinator,
            expected_version=harbor.charter_version,
            mission_statement=MISSION,
            shared_values=VALUES,
            meeting_cadence="monthly",
            adopted_on=date.today() - timedelta(days=90),
        )
        self._action_plan_and_training(harbor, coordinator)
        self._announcements_and_library(harbor, coordinator)
        self._second_taskforce(admin)

    def _action_plan_and_training(self, harbor: TaskForce, coordinator: User) -> None:
        today = timezone.localdate()
        protocol = services.goal_save(
            taskforce=harbor,
            actor=coordinator,
            title="A shared response protocol",
            objective="Every member agency signs the CSEC response protocol and names an on-call contact.",
            target_on=today + timedelta(days=150),
            status="on_track",
            progress=60,
        )
        schools = services.goal_save(
            taskforce=harbor,
            actor=coordinator,
            title="Identification in schools",
            objective="90% of school counsellors trained to recognise and report exploitation.",
            target_on=today + timedelta(days=240),
            status="at_risk",
            progress=25,
        )
        services.goal_save(
            taskforce=harbor,
            actor=coordinator,
            title="Survivor-informed services",
            objective="A survivor advisor reviews every new service referral pathway.",
            target_on=today + timedelta(days=330),
            status="not_started",
            progress=0,
        )
        people = {p.email: p for p in User.objects.filter(agency__memberships__taskforce=harbor)}
        services.subcommittee_save(
            taskforce=harbor,
            actor=coordinator,
            name="Protocols and information sharing",
            charge="Draft the response protocol and the information-sharing rules for case review.",
            chair=people["liaison@example.org"],
            members=[
                people[e]
                for e in (
                    "p.natarajan@harborda.example.org",
                    "j.brooks@harbordss.example.org",
                    "c.advocacy@harborcac.example.org",
                )
            ],
            goals=[protocol],
        )
        services.subcommittee_save(
            taskforce=harbor,
            actor=coordinator,
            name="Training and outreach",
            charge="Plan joint training and school outreach for the year.",
            chair=people["facilitator@example.org"],
            members=[
                people[e]
                for e in ("p.anders@harborusd.example.org", "k.osei@harborbh.example.org", "member@example.org")
            ],
            goals=[schools],
        )
        services.training_topics_ensure(taskforce=harbor)
        topics = {t.name: t for t in harbor.training_topics.all()}
        everyone = list(people.values())
        services.training_event_save(
            taskforce=harbor,
            actor=coordinator,
            title="Recognising commercial sexual exploitation of children",
            kind="joint",
            topics=[topics["CSEC identification"]],
            trainer="Dr. Hannah Weiss",
            held_on=today - timedelta(days=60),
            duration_minutes=120,
            attendees=everyone[::2],
        )
        services.training_event_save(
            taskforce=harbor,
            actor=coordinator,
            title="Trauma-informed interviewing",
            kind="joint",
            topics=[topics["Trauma-informed care"]],
            trainer="Maya Thompson",
            held_on=today - timedelta(days=25),
            duration_minutes=90,
            attendees=everyone[1::3],
        )
        services.training_event_save(
            taskforce=harbor,
            actor=coordinator,
            title="Confidentiality and releases of information",
            kind="joint",
            topics=[topics["Confidentiality and information sharing"]],
            trainer="Priya Natarajan",
            held_on=today - timedelta(days=800),
            duration_minutes=60,
            attendees=everyone[::3],
        )
        services.training_event_save(
            taskforce=harbor,
            actor=coordinator,
            title="Summer picnic",
            kind="team_activity",
            topics=[],
            trainer="",
            held_on=today - timedelta(days=100),
            duration_minutes=180,
            attendees=everyone[:10],
        )

    def _announcements_and_library(self, harbor: TaskForce, coordinator: User) -> None:
        comms.announcement_publish(
            taskforce=harbor,
            actor=coordinator,
            tier=Tier.ALL_MEMBERS,
            title="Welcome to the shared workspace",
            body="Agendas, minutes, agreements and the resource library now live here. Please check your agency's "
            "profile and name your authorized signatory before the MOU goes out for signature.",
        )
        comms.announcement_publish(
            taskforce=harbor,
            actor=coordinator,
            tier=Tier.COORDINATORS,
            title="Grant report due at the end of the quarter",
            body="The period report on the health page has the numbers the funder asks for.",
        )
        folder = comms.folder_save(
            taskforce=harbor, actor=coordinator, name="Protocols", description="Agreed procedures"
        )
        comms.document_create(
            taskforce=harbor,
            actor=coordinator,
            title="CSEC response protocol (draft)",
            folder=folder,
            description="Who does what in the first 72 hours after a child is identified.",
            kind=DocumentKind.PROTOCOL,
            tier=Tier.ALL_MEMBERS,
            upload=SimpleUploadedFile("csec-response-protocol.txt", PROTOCOL_TEXT.encode(), "text/plain"),
        )

    def _second_taskforce(self, admin: User) -> None:
        """A neighbouring task force, to show that each one is isolated from the others."""
        lakeshore = taskforce_create(
            actor=admin,
            name="Lakeshore Regional Anti-Trafficking Task Force",
            region="Lakeshore Region",
            jurisdiction="Lake, Pine and Marsh Counties",
            established_on=timezone.localdate() - timedelta(days=800),
            meeting_cadence="quarterly",
        )
        onboarded = services.organization_onboard(
            taskforce=lakeshore,
            actor=admin,
            agency_fields={
                "name": "Lake County Sheriff",
                "sector": "law_enforcement",
                "level": "county",
                "jurisdiction": "Lake County",
            },
            liaison_email="coordinator2@example.org",
            liaison_name="Morgan Lee",
        )
        person = services.invitation_accept(
            token=onboarded.invitation.token, password=DEMO_PASSWORD, full_name="Morgan Lee", title="Lieutenant"
        )
        services.role_grant(taskforce=lakeshore, user=person, role=Role.COORDINATOR, actor=admin)
