"""The MOU app's health measures and report section (registered in mous.apps.ready).

Which agreement: the task force's current one, the latest MOU out for signature or executed (while a renewal
is in review, the executed version still in force counts); if none has gone that far yet, the latest draft,
whose parties are all "not sent". Every active member agency is listed; one that is not a party to it shows as "not a party".

Thresholds:
- MOU coverage (agencies signed or with a letter of understanding, of the active member agencies): on track at
  100%, attention at 75%;
- expiry of an executed MOU: attention within 60 days, act now within 30 days or once it has expired.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from members import health as members_health
from members.models import Membership
from mous import selectors
from mous.models import LetterOfUnderstanding, LouStatus, Mou, MouStatus, RecipientRole, RequestStatus, SignatureRequest
from taskforce import health
from taskforce.models import TaskForce

GROUP = _("Agreements")
EXPIRY_WARN_DAYS, EXPIRY_BAD_DAYS = 60, 30

# The matrix's states, folded into what a funder asks: signed, pending, declined, letter, not yet sent.
BUCKETS = {
    "signed": "signed",
    "sent": "pending",
    "viewed": "pending",
    "approved": "pending",
    "declined": "declined",
    "lou": "lou",
    "not_sent": "not_sent",
}


def register_providers() -> None:
    health.register_measures(measures)
    health.register_report_section(report_sections)


def bucket_labels() -> dict[str, str]:
    return {
        "signed": _("Signed"),
        "pending": _("Pending"),
        "declined": _("Declined"),
        "lou": _("Letter of understanding"),
        "not_sent": _("Not sent yet"),
        "not_party": _("Not a party"),
    }


def current_mou(taskforce: TaskForce) -> Mou | None:
    started = ExpressionWrapper(
        Q(signing_version__isnull=False) | Q(executed_version__isnull=False), output_field=BooleanField()
    )
    # One query: the latest started one if any, else the latest.
    return (
        Mou.objects.filter(taskforce=taskforce)
        .alias(started=started)
        .order_by("-started", "-created_at", "-pk")
        .first()
    )


def _matrix(mou: Mou) -> list[selectors.PartyRow]:
    """selectors.status_matrix(mou), read once per dashboard (coverage and its trend share it)."""
    return health.shared(("mous.matrix", mou.pk), lambda: selectors.status_matrix(mou))


def agency_states(taskforce: TaskForce, mou: Mou | None) -> list[tuple[Membership, str, SignatureRequest | None]]:
    """Each active member agency with its bucket on `mou`, and its signature if it signed. Four queries."""
    rows = {row.party.membership_id: row for row in (_matrix(mou) if mou else [])}
    result = []
    for membership in members_health.active_memberships(taskforce):  # by agency name
        row = rows.get(membership.pk)
        result.append((membership, BUCKETS[row.state] if row else "not_party", row.signature if row else None))
    return result


def counts(states: list[tuple[Membership, str, SignatureRequest | None]]) -> dict[str, int]:
    found = {key: 0 for key in bucket_labels()}
    for _membership, bucket, _signature in states:
        found[bucket] += 1
    return found


def measures(taskforce: TaskForce, today: date) -> list[health.Measure]:
    # One query for both measures: the task force's agreements, newest first (current_mou()'s choice in Python).
    mous = list(Mou.objects.filter(taskforce=taskforce).order_by("-created_at", "-pk"))
    mou = next((m for m in mous if m.signing_version_id or m.executed_version_id), mous[0] if mous else None)
    return [coverage_measure(taskforce, today, mou), expiry_measure(taskforce, today, mous)]


def coverage_measure(taskforce: TaskForce, today: date, mou: Mou | None) -> health.Measure:
    states = agency_states(taskforce, mou)
    found = counts(states)
    covered = found["signed"] + found["lou"]
    share = health.percent(covered, len(states))
    labels = bucket_labels()
    signatures = _signatures(mou) if mou else []
    trend = [
        (label, len({party for party, day in signatures if day <= last}))
        for label, _first, last in health.months_back(today, 6)
    ]
    return health.Measure(
        key="mous.coverage",
        label=_("MOU coverage"),
        value=_("%(n)s of %(total)s agencies") % {"n": covered, "total": len(states)},
        status=health.status_for(share, good=100, warn=75) if states and mou else health.BAD,
        target=_("every active member agency signed, or with a letter of understanding"),
        summary=(
            _("%(title)s: %(signed)s signed, %(pending)s pending, %(declined)s declined, %(lou)s letters")
            % {"title": mou.title, **found}
            if mou
            else _("No agreement drafted yet")
        ),
        trend=trend,
        trend_label=_("Agencies signed on the current agreement, by month"),
        link=reverse("mous:detail", args=[taskforce.slug, mou.pk])
        if mou
        else reverse("mous:list", args=[taskforce.slug]),
        link_label=_("Open the agreement") if mou else _("Draft one"),
        table=health.Table(
            headers=[_("Agency"), _("State"), _("Signed on")],
            rows=[
                [
                    m.agency.name,
                    str(labels[bucket]),
                    date_format(timezone.localtime(s.acted_at).date(), "Y-m-d") if s and s.acted_at else "—",
                ]
                for m, bucket, s in sorted(states, key=lambda r: (r[1] in ("signed", "lou"), r[0].agency.name))
            ],
            caption=_("Each active member agency on the current agreement, those still to act first"),
        ),
        group=GROUP,
        order=30,
    )


def _signatures(mou: Mou) -> list[tuple[int, date]]:
    """(party, local day signed) of the signers of the current version, from the status matrix's steps (which
    are the current version's requests only): no query of its own on the dashboard."""
    return [
        (step.party_id, timezone.localtime(step.acted_at).date())
        for row in _matrix(mou)
        for step in row.steps
        if step.role == RecipientRole.SIGNER and step.status == RequestStatus.SIGNED and step.acted_at is not None
    ]


def expiry_measure(taskforce: TaskForce, today: date, mous: list[Mou] | None = None) -> health.Measure:
    """`mous`: all the task force's agreements when the caller has them read."""
    if mous is None:
        mous = list(Mou.objects.filter(taskforce=taskforce))
    executed = sorted(
        (m for m in mous if m.executed_version_id is not None and m.expires_on is not None),
        key=lambda m: (m.expires_on, m.pk),
    )
    expired = [m for m in executed if m.expires_on < today]
    within_30 = [m for m in executed if today <= m.expires_on <= today + timedelta(days=EXPIRY_BAD_DAYS)]
    within_60 = [
        m
        for m in executed
        if today + timedelta(days=EXPIRY_BAD_DAYS) < m.expires_on <= today + timedelta(days=EXPIRY_WARN_DAYS)
    ]
    status = health.BAD if expired or within_30 else health.WARN if within_60 else health.GOOD
    if not executed:
        status = health.INFO

    def state(m: Mou) -> str:
        days = (m.expires_on - today).days
        if days < 0:
            return _("Expired %(n)s days ago") % {"n": -days}
        return _("Expires in %(n)s days") % {"n": days}

    return health.Measure(
        key="mous.expiry",
        label=_("MOU expiries"),
        value=_("%(soon)s within 60 days") % {"soon": len(within_30) + len(within_60)},
        status=status,
        target=_("renewal under way well before an agreement expires"),
        summary=_("%(d30)s within 30 days, %(d60)s within 60, %(gone)s expired")
        % {"d30": len(within_30), "d60": len(within_30) + len(within_60), "gone": len(expired)},
        link=reverse("mous:list", args=[taskforce.slug]),
        link_label=_("Start a renewal"),
        table=health.Table(
            headers=[_("Agreement"), _("Expires on"), _("State"), _("Renewal drafted")],
            rows=[
                [
                    m.title,
                    date_format(m.expires_on, "Y-m-d"),
                    state(m),
                    _("Yes") if m.renewal_of_id or m.status != MouStatus.EXECUTED else _("No"),
                ]
                for m in executed
                if m.expires_on <= today + timedelta(days=EXPIRY_WARN_DAYS)
            ],
            caption=_("Executed agreements expiring within 60 days, or expired"),
        ),
        group=GROUP,
        order=31,
    )


# --- the period report ----------------------------------------------------------------------------------


def report_sections(taskforce: TaskForce, period: health.Period) -> list[health.ReportSection]:
    return [status_section(taskforce, period)]


def status_section(taskforce: TaskForce, period: health.Period) -> health.ReportSection:
    mou = current_mou(taskforce)
    states = agency_states(taskforce, mou)
    found = counts(states)
    labels = bucket_labels()
    signed_in_period = (
        SignatureRequest.objects.filter(
            party__mou__taskforce=taskforce,
            role=RecipientRole.SIGNER,
            status=RequestStatus.SIGNED,
            acted_at__date__range=(period.start, period.end),
        )
        .values("party_id")
        .distinct()
        .count()
    )
    letters_in_period = (
        LetterOfUnderstanding.objects.filter(
            mou__taskforce=taskforce, issued_at__date__range=(period.start, period.end)
        )
        .exclude(status=LouStatus.WITHDRAWN)
        .count()
    )
    totals = {
        "agencies": len(states),
        "signed": found["signed"],
        "pending": found["pending"],
        "declined": found["declined"],
        "letters": found["lou"],
        "not_sent": found["not_sent"],
        "not_party": found["not_party"],
        "signed_in_period": signed_in_period,
        "letters_in_period": letters_in_period,
    }
    rows = [[m.agency.name, str(labels[bucket])] for m, bucket, _s in states]
    rows += [[_("Total: %(state)s") % {"state": labels[key]}, n] for key, n in found.items()]
    if mou is None:
        note = _("No agreement has been drafted yet.")
    else:
        note = _(
            "%(title)s, as recorded when the report was made. Of %(agencies)s active member agencies: signed "
            "%(signed)s; pending %(pending)s; declined %(declined)s; letters of understanding %(letters)s; not sent "
            "%(not_sent)s; not a party %(not_party)s. During the period: %(signed_in_period)s signatures, "
            "%(letters_in_period)s letters of understanding issued."
        ) % {"title": mou.title, **totals}
        if mou.expires_on:
            note += " " + _("Effective %(start)s, expires %(end)s.") % {
                "start": date_format(mou.effective_on, "Y-m-d") if mou.effective_on else "—",
                "end": date_format(mou.expires_on, "Y-m-d"),
            }
    return health.ReportSection(
        key="mous.status",
        title=_("MOU status"),
        table=health.Table(headers=[_("Agency"), _("State")], rows=rows),
        totals=totals,
        note=note,
        order=30,
    )
