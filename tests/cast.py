"""The cast of users every permission test talks about, built through the real services.

Alice coordinates the Harbor task force. Larry is the liaison of the Sheriff's Office (agency A).
Mia is a member of the Child Advocacy Center (agency B), whose liaison is Bea. Fred facilitates.
Oscar coordinates another task force and must see nothing of Harbor. Ada is the site admin.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from members import services
from members.models import Membership, Role, User
from taskforce.models import TaskForce
from taskforce.services import taskforce_create

PASSWORD = "correct horse battery staple"


@dataclass
class Cast:
    taskforce: TaskForce
    other_taskforce: TaskForce
    admin: User
    coordinator: User
    facilitator: User
    liaison_a: User
    liaison_b: User
    member_b: User
    outsider: User
    agency_a: Membership
    agency_b: Membership
    agency_c: Membership
    other_membership: Membership

    def reloaded(self) -> Cast:
        """The same people and records, fetched afresh, so no test sees another's in-memory changes."""
        return Cast(
            **{
                f.name: type(value)._default_manager.get(pk=value.pk)
                for f in fields(self)
                for value in [getattr(self, f.name)]
            }
        )


def join(membership: Membership, *, actor: User, email: str, name: str, role: str = Role.MEMBER) -> User:
    invitation = services.invitation_create(membership=membership, actor=actor, email=email, full_name=name, role=role)
    return services.invitation_accept(token=invitation.token, password=PASSWORD, full_name=name)


def onboard(taskforce: TaskForce, *, actor: User, name: str, sector: str, level: str = "", liaison: tuple[str, str]):
    result = services.organization_onboard(
        taskforce=taskforce,
        actor=actor,
        agency_fields={"name": name, "sector": sector, "level": level, "jurisdiction": "Harbor County"},
        liaison_email=liaison[0],
        liaison_name=liaison[1],
    )
    person = services.invitation_accept(token=result.invitation.token, password=PASSWORD, full_name=liaison[1])
    result.membership.refresh_from_db()
    return result.membership, person


def build_cast() -> Cast:
    admin = User.objects.create_superuser("ada@example.org", PASSWORD, full_name="Ada Admin")
    harbor = taskforce_create(actor=admin, name="Harbor Task Force", region="Harbor County")
    agency_a, liaison_a = onboard(
        harbor,
        actor=admin,
        name="Sheriff's Office",
        sector="law_enforcement",
        level="county",
        liaison=("larry@sheriff.example.org", "Larry Liaison"),
    )
    agency_b, liaison_b = onboard(
        harbor, actor=admin, name="Child Advocacy Center", sector="ngo", liaison=("bea@cac.example.org", "Bea Liaison")
    )
    agency_c, coordinator = onboard(
        harbor,
        actor=admin,
        name="Social Services",
        sector="social_services",
        liaison=("alice@dss.example.org", "Alice Coordinator"),
    )
    services.role_grant(taskforce=harbor, user=coordinator, role=Role.COORDINATOR, actor=admin)
    member_b = join(agency_b, actor=liaison_b, email="mia@cac.example.org", name="Mia Member")
    facilitator = join(agency_b, actor=liaison_b, email="fred@cac.example.org", name="Fred Facilitator")
    services.role_grant(taskforce=harbor, user=facilitator, role=Role.FACILITATOR, actor=admin)

    lakeshore = taskforce_create(actor=admin, name="Lakeshore Task Force")
    other_membership, outsider = onboard(
        lakeshore,
        actor=admin,
        name="Lake County Sheriff",
        sector="law_enforcement",
        level="county",
        liaison=("oscar@lake.example.org", "Oscar Outsider"),
    )
    services.role_grant(taskforce=lakeshore, user=outsider, role=Role.COORDINATOR, actor=admin)
    return Cast(
        taskforce=harbor,
        other_taskforce=lakeshore,
        admin=admin,
        coordinator=coordinator,
        facilitator=facilitator,
        liaison_a=liaison_a,
        liaison_b=liaison_b,
        member_b=member_b,
        outsider=outsider,
        agency_a=agency_a,
        agency_b=agency_b,
        agency_c=agency_c,
        other_membership=other_membership,
    )
