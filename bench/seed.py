"""Seed a bench database at a chosen size, fast, with the rows the app's own services would write.

Two layers:
- The template (`seed_template`): migrations plus the demo seeds (`seed_demo`, `seed_meetings`, `seed_cases`,
  `seed_mous`), all through the services. Its Harbor County task force is the one the key pages are measured
  in: its meetings have real agendas and minutes, its MOU real parties, versions and signatures.
- The volume (`seed_volume`), on a copy of the template: task forces and memberships through the services
  (so groups and their grants are the real ones), people with `bulk_create`, and the big tables (cases,
  involved agencies, sharing grants, the case guardian rows, meetings, agenda items, MOUs, notifications)
  through PostgreSQL COPY. The case guardian rows are derived here exactly as
  `cases.services.desired_rows` derives them; `check_case_rows` re-derives a sample through the service
  itself and fails the seed if a single row differs.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, models, transaction
from django.utils import timezone

DEMO_SEEDS = ("seed_demo", "seed_meetings", "seed_cases", "seed_mous")
MEASURED_SLUG = "harbor-county-csec-task-force"  # the demo's task force (members/management/commands/seed_demo.py)
LIAISON_EMAIL = "liaison@example.org"
COORDINATOR_EMAIL = "coordinator@example.org"
ADMIN_EMAIL = "admin@example.org"


@dataclass(frozen=True)
class Size:
    taskforces: int
    agencies: int  # memberships in all (an agency here belongs to one task force)
    people: int
    cases: int
    measured_cases: int  # of `cases`, how many belong to the measured task force
    liaison_cases: int  # cases the measured liaison's agency can see: ~1% of all cases
    grants: int  # CaseGrant rows (sharing with an agency, or now and then with one person)
    meetings: int
    agenda_items: int
    mous: int
    parties_per_mou: int
    notifications: int


SIZES: dict[str, Size] = {
    # The smoke test's two list lengths (tests/test_bench.py): same shape, ten times the liaison's list.
    "T": Size(1, 30, 80, 150, 150, 6, 300, 12, 240, 2, 8, 300),
    "U": Size(1, 30, 80, 600, 600, 60, 1_200, 12, 240, 2, 8, 300),
    # The sizes: S one task force, L a statewide deployment.
    "S": Size(1, 40, 300, 1_000, 1_000, 10, 5_000, 50, 1_000, 3, 13, 2_500),
    "L": Size(60, 2_000, 20_000, 200_000, 20_000, 2_000, 1_000_000, 5_000, 100_000, 3_000, 14, 500_000),
}

SEED_VERSION = "3"  # bump when the seeder's output changes, so --reuse re-seeds
BULK_MEETING_TITLE = "Bench meeting"


# --- COPY -----------------------------------------------------------------------------------------


def copy_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY `rows` (values in the order of `fields`) into the model's table; returns how many.

    Columns not named get the model field's own default (COPY skips Django's defaults, not the database's).
    """
    names = list(fields)
    fixed: list[Any] = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name in names or f.attname in names:
            continue
        if f.has_default():
            value = f.get_default()
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = timezone.now()
        elif f.null:
            value = None
        elif f.empty_strings_allowed:
            value = ""
        else:
            raise ValueError(f"{model.__name__}.{f.name} needs a value")
        names.append(f.name)
        fixed.append(json.dumps(value) if isinstance(value, (dict, list)) else value)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in names)
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    tail = tuple(fixed)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*row, *tail))
            count += 1
    return count


def next_ids(model: type[models.Model], count: int) -> range:
    """Reserve `count` primary keys from the table's sequence, so rows can be COPYed with known ids."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [table, table, count],
        )
        last = cursor.fetchone()[0]
    return range(last - count + 1, last + 1)


def perm_ids(model: type[models.Model]) -> dict[str, int]:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(model)
    return dict(Permission.objects.filter(content_type=content_type).values_list("codename", "id"))


# --- timing ---------------------------------------------------------------------------------------


@dataclass
class Timings:
    steps: list[tuple[str, float, int]] = field(default_factory=list)  # (step, seconds, rows)

    def run(self, name: str, func: Callable[[], int | None]) -> None:
        started = time.perf_counter()
        rows = func() or 0
        seconds = time.perf_counter() - started
        self.steps.append((name, seconds, rows))
        print(f"  seed {name:<34} {seconds:7.1f} s {rows:>10,} rows", flush=True)

    @property
    def total(self) -> float:
        return sum(seconds for _, seconds, _ in self.steps)


# --- the template -----------------------------------------------------------------------------------


def seed_template() -> Timings:
    """Migrate and load the demo through the services (run in a process without Redis: tasks run inline)."""
    timings = Timings()
    timings.run("migrate", lambda: call_command("migrate", verbosity=0, interactive=False))
    for name in DEMO_SEEDS:
        timings.run(name, lambda name=name: call_command(name, verbosity=0))
    return timings


# --- the volume ---------------------------------------------------------------------------------------


class Volume:
    """Everything `seed_volume` adds on top of the template, in the order the steps run."""

    def __init__(self, size: Size, *, rng_seed: int = 8) -> None:
        from members.models import User
        from taskforce.models import TaskForce

        self.size = size
        self.rng = random.Random(rng_seed)
        self.now = timezone.now()
        self.admin = User.objects.get(email=ADMIN_EMAIL)
        self.liaison = User.objects.get(email=LIAISON_EMAIL)
        self.measured = TaskForce.objects.get(slug=MEASURED_SLUG)
        self.taskforces: list[Any] = []
        # taskforce id -> active memberships (as plain tuples: id, agency id, group id, liaison group id)
        self.memberships: dict[int, list[tuple[int, int, int, int]]] = {}
        self.people: dict[int, list[int]] = {}  # taskforce id -> active people in its member agencies
        self.liaison_membership: tuple[int, int, int, int] | None = None

    # task forces and memberships, through the services ------------------------------------------------

    def taskforces_step(self) -> int:
        from taskforce.services import taskforce_create

        self.taskforces = [self.measured]
        for n in range(1, self.size.taskforces):
            self.taskforces.append(
                taskforce_create(
                    actor=self.admin,
                    name=f"Bench Regional Task Force {n:02d}",
                    region=f"Region {n}",
                    established_on=date.today() - timedelta(days=400 + n),
                    mission_statement="Identify, protect and restore exploited children.",
                )
            )
        return len(self.taskforces) - 1

    def agencies_step(self) -> int:
        """Agencies and their memberships with the groups and guardian rows `membership_create` makes.

        In bulk: the service takes a quarter of a second per agency on a busy machine (eight minutes at L).
        `check_membership_rows` compares the result with memberships the service itself made.
        """
        from django.contrib.auth.models import Group

        from members.models import Agency, Membership, MembershipGroupObjectPermission, MembershipStatus, Sector
        from taskforce.models import TaskForce, TaskForceGroupObjectPermission

        existing = {tf.pk: Membership.objects.filter(taskforce=tf).count() for tf in self.taskforces}
        wanted = self._spread(self.size.agencies, existing)
        sectors = [choice for choice, _ in Sector.choices]
        tf_perms, membership_perms = perm_ids(TaskForce), perm_ids(Membership)
        created = 0
        for tf in self.taskforces:
            missing = wanted[tf.pk] - existing[tf.pk]
            if missing <= 0:
                continue
            agencies = Agency.objects.bulk_create(
                Agency(
                    name=f"{tf.name[:120]} agency {i:03d}",
                    sector=sectors[i % len(sectors)],
                    level="county" if sectors[i % len(sectors)] in Sector.with_levels() else "",
                    jurisdiction=f"County {i}",
                    main_contact_name=f"Contact {i}",
                    main_contact_email=f"contact{i}@agency{tf.pk}.bench.example.org",
                    main_contact_phone="555-0100",
                )
                for i in range(missing)
            )
            groups = Group.objects.bulk_create(
                Group(name=f"tf:{tf.slug}:agency:{agency.pk}{suffix}")
                for agency in agencies
                for suffix in ("", ":liaisons")
            )
            memberships = Membership.objects.bulk_create(
                Membership(
                    taskforce=tf,
                    agency=agency,
                    group=groups[2 * i],
                    liaison_group=groups[2 * i + 1],
                    status=MembershipStatus.ACTIVE,
                    joined_on=date.today() - timedelta(days=200),
                )
                for i, agency in enumerate(agencies)
            )
            on_tf, on_membership = [], []
            for m in memberships:
                on_tf += [
                    (tf.pk, m.group_id, tf_perms["view_taskforce"]),
                    (tf.pk, m.liaison_group_id, tf_perms["view_taskforce"]),
                ]
                on_membership += [
                    (m.pk, m.liaison_group_id, membership_perms["change_membership"]),
                    (m.pk, m.liaison_group_id, membership_perms["act_for_agency"]),
                    (m.pk, tf.coordinators_id, membership_perms["change_membership"]),
                ]
            copy_rows(TaskForceGroupObjectPermission, ["content_object", "group", "permission"], on_tf)
            copy_rows(MembershipGroupObjectPermission, ["content_object", "group", "permission"], on_membership)
            created += missing
        Membership.objects.filter(taskforce__in=self.taskforces, status=MembershipStatus.INVITED).update(
            status=MembershipStatus.ACTIVE, joined_on=date.today() - timedelta(days=200)
        )
        return created

    def people_step(self) -> int:
        from members.models import Membership, MembershipStatus, Role, TaskForceRole, User

        memberships = list(
            Membership.objects.filter(taskforce__in=self.taskforces, status=MembershipStatus.ACTIVE).values_list(
                "pk", "taskforce_id", "agency_id", "group_id", "liaison_group_id", "liaison_id"
            )
        )
        existing = User.objects.count()
        missing = max(0, self.size.people - existing)
        # One hash for everybody: nobody signs in with a password here (pages use force_login).
        password = make_password(None)
        per = max(1, missing // max(1, len(memberships)))
        new_users: list[User] = []
        owners: list[tuple[int, int, int, int, int | None]] = []  # membership of each new user
        for index in range(missing):
            m = memberships[index // per % len(memberships)] if index < per * len(memberships) else memberships[0]
            new_users.append(
                User(
                    email=f"person{index:06d}@agency{m[2]}.bench.example.org",
                    full_name=f"Person {index:06d}",
                    title="Case worker",
                    phone="555-0101",
                    agency_id=m[2],
                    password=password,
                )
            )
            owners.append((m[0], m[1], m[3], m[4], m[5]))
        created = User.objects.bulk_create(new_users, batch_size=5000)
        through = User.groups.through
        links: list[tuple[int, int]] = []
        roles: list[TaskForceRole] = []
        liaisons: dict[int, int] = {}
        for user, (membership_id, taskforce_id, group_id, liaison_group_id, liaison_id) in zip(
            created, owners, strict=True
        ):
            links.append((user.pk, group_id))
            if liaison_id is None and membership_id not in liaisons:
                # The agency's first person is its liaison, as role_grant(role=LIAISON) would make them.
                liaisons[membership_id] = user.pk
                links.append((user.pk, liaison_group_id))
                roles.append(TaskForceRole(taskforce_id=taskforce_id, user_id=user.pk, role=Role.LIAISON))
            else:
                roles.append(TaskForceRole(taskforce_id=taskforce_id, user_id=user.pk, role=Role.MEMBER))
        copy_rows(through, ["user", "group"], links)
        TaskForceRole.objects.bulk_create(roles, batch_size=5000, ignore_conflicts=True)
        for membership_id, user_id in liaisons.items():
            Membership.objects.filter(pk=membership_id).update(liaison_id=user_id, signatory_id=user_id)
        # A coordinator for every new task force (a person of its first agency).
        for tf in self.taskforces[1:]:
            first = next((m for m in memberships if m[1] == tf.pk), None)
            coordinator_id = liaisons.get(first[0]) if first else None
            if coordinator_id:
                copy_rows(through, ["user", "group"], [(coordinator_id, tf.coordinators_id)])
                TaskForceRole.objects.get_or_create(taskforce=tf, user_id=coordinator_id, role=Role.COORDINATOR)
        return len(created)

    def load_principals(self) -> None:
        from members.models import Membership, MembershipStatus, User

        self.memberships = {tf.pk: [] for tf in self.taskforces}
        for row in Membership.objects.filter(taskforce__in=self.taskforces, status=MembershipStatus.ACTIVE).values_list(
            "taskforce_id", "pk", "agency_id", "group_id", "liaison_group_id"
        ):
            self.memberships[row[0]].append(row[1:])
            if row[2] == self.liaison.agency_id and row[0] == self.measured.pk:
                self.liaison_membership = row[1:]
        self.people = {tf.pk: [] for tf in self.taskforces}
        for taskforce_id, user_id in User.objects.filter(
            is_active=True,
            agency__memberships__taskforce__in=self.taskforces,
            agency__memberships__status=MembershipStatus.ACTIVE,
        ).values_list("agency__memberships__taskforce_id", "pk"):
            self.people[taskforce_id].append(user_id)

    # cases, grants and their guardian rows, by COPY -----------------------------------------------------

    def cases_step(self) -> int:
        from cases.models import (
            LEVEL_PERMS,
            AgeBand,
            Case,
            CaseAgency,
            CaseGrant,
            CaseGroupObjectPermission,
            CaseStatus,
            CaseUserObjectPermission,
            Confidentiality,
            Level,
            ReferralSource,
            TraffickingType,
        )

        assert self.liaison_membership is not None
        field = Case._meta.get_field("summary")
        # Encrypted exactly as the model field encrypts; a handful reused (Fernet is the slow part).
        summaries = [
            field.get_prep_value(f"Bench case narrative {i}: referral, safety plan, services.") for i in range(8)
        ]
        needs = [field.get_prep_value(f"Needs {i}: housing, counselling, school support.") for i in range(8)]
        perms = perm_ids(Case)
        rng = self.rng
        existing = {tf.pk: Case.objects.filter(taskforce=tf).count() for tf in self.taskforces}
        total_new = max(0, self.size.cases - sum(existing.values()))
        per_tf = self._case_counts(total_new, existing)
        visible_now = (
            Case.objects.filter(taskforce=self.measured, casegroupobjectpermission__group_id=self.liaison_membership[2])
            .distinct()
            .count()
        )
        liaison_wanted = max(0, self.size.liaison_cases - visible_now)
        grants_per_case = self.size.grants / max(1, self.size.cases)
        case_fields = [
            "id", "taskforce", "lead", "number", "label", "age_band", "county", "referral_source",
            "trafficking_type", "status", "confidentiality", "risk_flags", "summary", "service_needs",
            "version", "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        cases: list[tuple] = []
        involved: list[tuple] = []
        grants: list[tuple] = []
        group_rows: list[tuple] = []
        user_rows: list[tuple] = []
        ids = iter(next_ids(Case, total_new))
        grant_ids = iter(next_ids(CaseGrant, int(total_new * grants_per_case) + total_new))
        age_bands = [c for c, _ in AgeBand.choices]
        sources = [c for c, _ in ReferralSource.choices]
        kinds = [c for c, _ in TraffickingType.choices]
        statuses = [c for c, _ in CaseStatus.choices]
        levels = [Level.SUMMARY, Level.FULL, Level.FULL, Level.CONTRIBUTE]
        mine = self.liaison_membership
        for tf in self.taskforces:
            others = [m for m in self.memberships[tf.pk] if m != mine]
            people = self.people[tf.pk]
            for n in range(per_tf[tf.pk]):
                case_id = next(ids)
                roll = rng.random()
                confidentiality = (
                    Confidentiality.STANDARD
                    if roll < 0.85
                    else Confidentiality.RESTRICTED
                    if roll < 0.97
                    else Confidentiality.SEALED
                )
                lead = rng.choice(others)
                extra = rng.sample(others, k=min(len(others), rng.choice((0, 1, 1, 2))))
                sharing = [rng.choice(others) for _ in range(self._poisson(grants_per_case))]
                # The measured liaison's agency sees exactly its share: as lead, as involved, or by a grant.
                if tf.pk == self.measured.pk and n < liaison_wanted:
                    confidentiality = Confidentiality.STANDARD
                    way = n % 3
                    if way == 0:
                        lead = mine
                    elif way == 1:
                        extra = [m for m in extra if m != lead] + [mine]
                    else:
                        sharing.append(mine)
                created = self.now - timedelta(days=rng.randint(1, 1500), minutes=rng.randint(0, 1440))
                cases.append(
                    (
                        case_id, tf.pk, lead[0], f"B-{case_id}", f"{chr(65 + case_id % 26)}.{chr(65 + case_id // 26 % 26)}.",
                        rng.choice(age_bands), f"County {case_id % 40}", rng.choice(sources),
                        # At least a sixth match the measured filters (open, sex): lists are never empty.
                        "sex" if case_id % 2 == 0 else rng.choice(kinds),
                        "open" if case_id % 3 == 0 else rng.choice(statuses), confidentiality, json.dumps(rng.sample(["runaway", "online", "gang"], k=rng.randint(0, 2))),
                        summaries[case_id % 8], needs[case_id % 8], 1, None, created,
                        created + timedelta(days=rng.randint(0, 60)),
                    )
                )  # fmt: skip
                sealed = confidentiality == Confidentiality.SEALED
                wanted: set[tuple[int, str]] = set()
                wanted_users: set[tuple[int, str]] = set()
                wanted |= {(lead[3], codename) for codename in LEVEL_PERMS[Level.MANAGE]}
                if not sealed:
                    wanted |= {(lead[2], codename) for codename in LEVEL_PERMS[Level.CONTRIBUTE]}
                on_case = [lead] + [m for m in dict.fromkeys(extra) if m != lead]
                for m in on_case:
                    involved.append((case_id, m[0], None, ""))
                    if confidentiality == Confidentiality.STANDARD:
                        wanted.add((m[2], "view_case"))
                for m in sharing:
                    level = rng.choice(levels) if m != mine else Level.FULL
                    state = rng.random() if m != mine else 0.0
                    revoked = self.now - timedelta(days=3) if 0.90 <= state < 0.95 else None
                    expires = self.now - timedelta(days=1) if state >= 0.95 else None
                    person = rng.choice(people) if 0.85 <= state < 0.90 and people else None
                    grants.append(
                        (
                            next(grant_ids), case_id, None if person else m[0], person, level,
                            "Joint investigation and services", expires, None, None, created, revoked,
                            None, "", expires,
                        )
                    )  # fmt: skip
                    if revoked or expires:
                        continue
                    if person:
                        wanted_users |= {(person, codename) for codename in LEVEL_PERMS[level]}
                    elif not sealed:
                        wanted |= {(m[2], codename) for codename in LEVEL_PERMS[level]}
                group_rows.extend((case_id, group, perms[codename]) for group, codename in wanted)
                user_rows.extend((case_id, user, perms[codename]) for user, codename in wanted_users)
        copy_rows(Case, case_fields, cases)
        copy_rows(CaseAgency, ["case", "membership", "contact", "role"], involved)
        grant_fields = [
            "id", "case", "membership", "person", "level", "justification", "expires_at", "release",
            "granted_by", "granted_at", "revoked_at", "revoked_by", "revoke_reason", "lapsed_at",
        ]  # fmt: skip
        copy_rows(CaseGrant, grant_fields, grants)
        copy_rows(CaseGroupObjectPermission, ["content_object", "group", "permission"], group_rows)
        copy_rows(CaseUserObjectPermission, ["content_object", "user", "permission"], user_rows)
        self.counts = {
            "cases": len(cases),
            "case agencies": len(involved),
            "grants": len(grants),
            "case group rows": len(group_rows),
            "case user rows": len(user_rows),
        }
        return len(cases) + len(involved) + len(grants) + len(group_rows) + len(user_rows)

    # meetings and MOUs, by COPY (the measured ones are the demo's, made through the services) ---------------

    def meetings_step(self) -> int:
        from meetings.models import AgendaItem, ItemStatus, ItemType, Meeting, MeetingGroupObjectPermission
        from meetings.services import MEETING_PERMS

        existing = Meeting.objects.count()
        missing = max(0, self.size.meetings - existing)
        if not missing:
            return 0
        items_per = max(1, self.size.agenda_items // max(1, self.size.meetings))
        change = perm_ids(Meeting)[MEETING_PERMS[0].split(".")[1]]
        ids = iter(next_ids(Meeting, missing))
        meetings: list[tuple] = []
        invited: list[tuple] = []
        items: list[tuple] = []
        grants: list[tuple] = []
        through = Meeting.invited_agencies.through
        # Case reviews carry a case (cases.services); the volume's agendas hold the ordinary kinds.
        item_types = [c for c, _ in ItemType.choices if c not in (ItemType.CASE_REVIEW, ItemType.MOU_OBJECTIONS)]
        # Spread over the task forces in proportion, past meetings ended, the rest scheduled.
        for n in range(missing):
            tf = self.taskforces[n % len(self.taskforces)]
            meeting_id = next(ids)
            starts = self.now + timedelta(days=(n // len(self.taskforces)) * 14 - 700, hours=n % 5)
            past = starts < self.now
            meetings.append(
                (
                    meeting_id, tf.pk, f"{BULK_MEETING_TITLE} {meeting_id}", starts, starts + timedelta(hours=2),
                    tf.time_zone, "Room 1", "scheduled", "", 14, 3, 1 if past else 0,
                    starts - timedelta(days=7) if past else None, starts if past else None,
                    starts + timedelta(hours=2) if past else None, 0, self.now,
                )
            )  # fmt: skip
            invited.extend((meeting_id, m[0]) for m in self.memberships[tf.pk])
            for position in range(1, items_per + 1):
                items.append(
                    (
                        tf.pk, meeting_id, ItemStatus.ACCEPTED, position, f"Agenda item {position}",
                        "Discussion and update.", item_types[position % len(item_types)], "members", 10, "", "",
                        "", 0, 0, "", "", self.now,
                    )
                )  # fmt: skip
            grants.extend((meeting_id, group, change) for group in (tf.coordinators_id, tf.facilitators_id))
        meeting_fields = [
            "id", "taskforce", "title", "starts_at", "ends_at", "time_zone", "location", "status", "cancel_reason",
            "call_opens_days", "call_closes_days", "agenda_version", "agenda_circulated_at", "started_at",
            "ended_at", "live_version", "created_at",
        ]  # fmt: skip
        copy_rows(Meeting, meeting_fields, meetings)
        copy_rows(through, ["meeting", "membership"], invited)
        item_fields = [
            "taskforce", "meeting", "status", "position", "title", "description", "item_type", "tier",
            "planned_minutes", "decline_reason", "source_type", "source_id", "changed_in_version",
            "actual_seconds", "notes", "decisions", "created_at",
        ]  # fmt: skip
        copy_rows(AgendaItem, item_fields, items)
        copy_rows(MeetingGroupObjectPermission, ["content_object", "group", "permission"], grants)
        return len(meetings) + len(invited) + len(items) + len(grants)

    def mous_step(self) -> int:
        """MOUs out for signature: a frozen version, each party's signatory asked, most already signed.

        A deployment's agreements are mostly signed ones (about 40,000 signatures at L), so the signature
        table is as large as the issue's statewide size says, not a handful of drafts.
        """
        from members.models import Membership
        from mous.models import (
            Mou,
            MouGroupObjectPermission,
            MouParty,
            MouStatus,
            MouVersion,
            RecipientRole,
            RequestStatus,
            SignatureRequest,
            canonical_text,
            sha256_hex,
        )
        from mous.services import COORDINATOR_PERMS, LIAISON_PERMS, PARTY_PERMS

        existing = Mou.objects.count()
        missing = max(0, self.size.mous - existing)
        if not missing:
            return 0
        perms = perm_ids(Mou)
        signatories = dict(
            Membership.objects.filter(taskforce__in=self.taskforces, signatory__isnull=False).values_list(
                "pk", "signatory_id"
            )
        )
        mou_ids = iter(next_ids(Mou, missing))
        version_ids = iter(next_ids(MouVersion, missing))
        party_ids = iter(next_ids(MouParty, missing * self.size.parties_per_mou))
        mous: list[tuple] = []
        versions: list[tuple] = []
        parties: list[tuple] = []
        requests: list[tuple] = []
        rows: list[tuple] = []
        for n in range(missing):
            tf = self.taskforces[n % len(self.taskforces)]
            mou_id, version_id = next(mou_ids), next(version_ids)
            title = f"Bench agreement {mou_id}"
            text = canonical_text(title, [(1, "Purpose", "Coordinate the response to exploited children.")])
            digest = sha256_hex(text)
            mous.append((mou_id, tf.pk, title, MouStatus.SIGNING, 14, self.now))
            versions.append((version_id, mou_id, 1, title, text, digest, self.now))
            rows.extend((mou_id, tf.coordinators_id, perms[p.split(".")[1]]) for p in COORDINATOR_PERMS)
            members = self.memberships[tf.pk]
            for m in self.rng.sample(members, k=min(len(members), self.size.parties_per_mou)):
                party_id = next(party_ids)
                parties.append((party_id, mou_id, m[0], False))
                rows.extend((mou_id, m[2], perms[p.split(".")[1]]) for p in PARTY_PERMS)
                rows.extend((mou_id, m[3], perms[p.split(".")[1]]) for p in LIAISON_PERMS)
                signatory = signatories.get(m[0])
                if signatory is None:
                    continue
                signed = self.rng.random() < 0.97
                acted = self.now - timedelta(days=self.rng.randint(1, 300)) if signed else None
                requests.append((
                    version_id, party_id, signatory, RecipientRole.SIGNER, 1,
                    RequestStatus.SIGNED if signed else RequestStatus.SENT, self.now - timedelta(days=301),
                    acted, "Bench Signatory" if signed else "", signed, digest if signed else "",
                ))  # fmt: skip
        copy_rows(Mou, ["id", "taskforce", "title", "status", "reminder_delay_days", "created_at"], mous)
        copy_rows(MouVersion, ["id", "mou", "number", "title", "canonical_text", "sha256", "created_at"], versions)
        # The two tables point at each other: the MOU learns its signing version once that row exists.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE mous_mou m SET signing_version_id = v.id FROM mous_mouversion v"
                " WHERE v.mou_id = m.id AND v.id = ANY(%s)",
                [[v[0] for v in versions]],
            )
        copy_rows(MouParty, ["id", "mou", "membership", "signing_in_order"], parties)
        copy_rows(
            SignatureRequest,
            [
                "version", "party", "user", "role", "order", "status", "sent_at", "acted_at", "typed_name",
                "attested", "document_sha256",
            ],
            requests,
        )  # fmt: skip
        copy_rows(MouGroupObjectPermission, ["content_object", "group", "permission"], rows)
        return len(mous) + len(versions) + len(parties) + len(requests) + len(rows)

    def notifications_step(self) -> int:
        """History: notifications already sent (or cancelled), as a deployment accumulates them."""
        from taskforce.models import Notification

        missing = max(0, self.size.notifications - Notification.objects.count())
        everyone = [user for people in self.people.values() for user in people]
        kinds = [
            "meetings.reminder",
            "meetings.agenda",
            "meetings.tomorrow",
            "cases.follow_up_due",
            "mous.sign_reminder",
        ]

        def rows() -> Iterator[tuple]:
            for n in range(missing):
                due = self.now - timedelta(days=1 + n % 900, minutes=n % 1440)
                sent = None if n % 25 == 0 else due + timedelta(minutes=1)
                yield (
                    kinds[n % len(kinds)], "meetings.meeting", str(n), everyone[n % len(everyone)], due.date(),
                    due, "{}", due, sent, due if sent is None else None, 1, "",
                )  # fmt: skip

        fields = [
            "kind", "subject_type", "subject_id", "recipient", "due_on", "due_at", "context", "created_at",
            "sent_at", "cancelled_at", "attempts", "last_error",
        ]  # fmt: skip
        return copy_rows(Notification, fields, rows())

    # helpers -------------------------------------------------------------------------------------------

    def _spread(self, total: int, existing: dict[int, int]) -> dict[int, int]:
        base = total // len(self.taskforces)
        wanted = {tf.pk: base for tf in self.taskforces}
        wanted[self.measured.pk] = max(existing[self.measured.pk], total - base * (len(self.taskforces) - 1))
        return wanted

    def _case_counts(self, total_new: int, existing: dict[int, int]) -> dict[int, int]:
        measured_new = max(0, self.size.measured_cases - existing[self.measured.pk])
        measured_new = min(measured_new, total_new)
        counts = {tf.pk: 0 for tf in self.taskforces}
        counts[self.measured.pk] = measured_new
        rest = total_new - measured_new
        others = self.taskforces[1:] or [self.measured]
        for i, tf in enumerate(others):
            counts[tf.pk] += rest // len(others) + (1 if i < rest % len(others) else 0)
        return counts

    def _poisson(self, mean: float) -> int:
        # Grants per case vary around the mean: most cases a few, some none.
        return max(0, int(self.rng.expovariate(1 / mean) + 0.5)) if mean > 0 else 0


def measured_meeting():
    """The measured task force's next meeting (the demo's): the agenda and live pages are measured on it."""
    from meetings.models import Meeting, MeetingStatus

    return (
        Meeting.objects.filter(taskforce__slug=MEASURED_SLUG, started_at__isnull=True, status=MeetingStatus.SCHEDULED)
        .filter(starts_at__gte=timezone.now())
        .exclude(title__startswith=BULK_MEETING_TITLE)  # the demo's meeting at every size, not the volume's
        .order_by("starts_at")
        .first()
    )


def typical_agenda(items: int = 20) -> int:
    """Top the measured meeting's agenda up to a typical length, through the facilitator's own service."""
    from meetings.models import ItemType
    from meetings.services import item_add
    from members.models import User

    meeting = measured_meeting()
    coordinator = User.objects.get(email=COORDINATOR_EMAIL)
    added = 0
    while meeting.items.count() < items:
        item_add(
            meeting=meeting,
            actor=coordinator,
            title=f"Information sharing: update {added + 1}",
            item_type=ItemType.INFORMATION,
            planned_minutes=5,
        )
        added += 1
    return added


def seed_volume(size_name: str) -> Timings:
    size = SIZES[size_name]
    timings = Timings()
    volume = Volume(size)
    timings.run("task forces (services)", volume.taskforces_step)
    timings.run("agencies, memberships (bulk)", volume.agencies_step)
    timings.run("people, roles", volume.people_step)
    volume.load_principals()
    timings.run("cases, grants, guardian rows (COPY)", volume.cases_step)
    timings.run("meetings, agenda items (COPY)", volume.meetings_step)
    timings.run("MOUs, parties, signatures (COPY)", volume.mous_step)
    timings.run("notifications (COPY)", volume.notifications_step)
    timings.run("measured meeting agenda (services)", typical_agenda)
    timings.run("second factor for measured users", measured_users_second_factor)
    timings.run("vacuum, analyze", _vacuum_analyze)
    timings.run("check membership guardian rows", check_membership_rows)
    timings.run("check case guardian rows", check_case_rows)
    return timings


def _vacuum_analyze() -> int:
    """VACUUM ANALYZE, as autovacuum leaves a live database within minutes of a bulk load.

    ANALYZE alone left the visibility map of the COPYed tables unset, so PostgreSQL could not answer from the
    permission rows' (group, permission, object) index alone: at L the liaison's visible cases cost 11 ms to
    count instead of 7, a state a deployment is never measured in.
    """
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return 0


def measured_users_second_factor() -> int:
    """A real TOTP authenticator for the measured people, as if each had enrolled: the MFA gate lets them in."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from members.models import User

    added = 0
    for user in User.objects.filter(email__in=[LIAISON_EMAIL, COORDINATOR_EMAIL, ADMIN_EMAIL]):
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, generate_totp_secret())
            added += 1
    return added


def _membership_pattern(membership) -> set[tuple[str, str, str]]:
    """A membership's guardian rows, with each group named by its role, so two memberships compare."""
    from members.models import MembershipGroupObjectPermission
    from taskforce.models import TaskForceGroupObjectPermission

    role = {
        membership.group_id: "agency",
        membership.liaison_group_id: "liaisons",
        membership.taskforce.coordinators_id: "coordinators",
    }
    rows = {
        ("taskforce", role.get(g, str(g)), c)
        for g, c in TaskForceGroupObjectPermission.objects.filter(
            content_object_id=membership.taskforce_id, group__in=[membership.group_id, membership.liaison_group_id]
        ).values_list("group_id", "permission__codename")
    }
    return rows | {
        ("membership", role.get(g, str(g)), c)
        for g, c in MembershipGroupObjectPermission.objects.filter(content_object=membership).values_list(
            "group_id", "permission__codename"
        )
    }


def check_membership_rows(sample: int = 20) -> int:
    """Bulk memberships must carry the same guardian rows as one `membership_create` made (the demo's)."""
    from members.models import Membership

    reference = _membership_pattern(Membership.objects.select_related("taskforce").order_by("pk").first())
    bulk = Membership.objects.filter(agency__name__contains=" agency ").select_related("taskforce").order_by("?")
    checked = 0
    for membership in bulk[:sample]:
        if _membership_pattern(membership) != reference:
            raise AssertionError(
                f"bulk membership {membership.pk} differs from the service's: {_membership_pattern(membership)} != {reference}"
            )
        checked += 1
    return checked


def check_case_rows(sample: int = 60) -> int:
    """Re-derive a sample of cases' guardian rows through the service; any difference fails the seed."""
    from cases.models import Case
    from cases.services import case_sync_permissions

    ids = list(Case.objects.order_by("?").values_list("pk", flat=True)[:sample])
    with transaction.atomic():
        for case in Case.objects.filter(pk__in=ids).select_related("lead", "taskforce"):
            added, removed = case_sync_permissions(case)
            if added or removed:
                raise AssertionError(
                    f"seeded guardian rows of case {case.pk} differ from the service: +{added} -{removed}"
                )
    return len(ids)
