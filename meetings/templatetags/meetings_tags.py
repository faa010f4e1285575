from datetime import datetime
from html import escape

from django import template
from django.utils.dateformat import format as date_format
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from meetings.models import AttendanceStatus

register = template.Library()


@register.filter
def mmss(seconds: int | None) -> str:
    """Seconds as m:ss, with a minus sign when negative (over time)."""
    seconds = int(seconds or 0)
    sign = "-" if seconds < 0 else ""
    minutes, rest = divmod(abs(seconds), 60)
    return f"{sign}{minutes}:{rest:02d}"


@register.simple_tag
def with_total(rows) -> int:
    return sum(row.get("actual", 0) for row in rows)


@register.filter
def isodate(value: str | None):
    """An ISO date string from a sealed record, as a date for the `date` filter."""
    from datetime import date

    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@register.simple_tag
def roster_rows(attendance: list, *, ended_at: datetime | None) -> str:
    """The live console's roster, one <li> per attendance row (run.html).

    Built here rather than in the template: a statewide meeting invites hundreds, and the template engine's
    cost per row (a dozen lookups and conditions) made the roster most of the console's time. Every value is
    escaped with html.escape (not format_html, whose lazy-string checks cost more than the row itself). The
    mark buttons submit the shared forms #mark-present and #mark-absent (run.html), naming their row.
    """
    guest = f' <span class="badge text-bg-info">{escape(_("Guest"))}</span>'
    acknowledged = escape(_("Confidentiality acknowledged %(t)s"))
    present_title = escape(_("Marks present and records that they acknowledged the confidentiality commitment"))
    present, absent = escape(_("Present + acknowledged")), escape(_("Absent"))
    rows = []
    for row in attendance:
        note = ""
        if row.confidentiality_acknowledged_at:
            at = date_format(localtime(row.confidentiality_acknowledged_at), "g:i A")
            note = f'<br><span class="small ack">✔ {acknowledged % {"t": escape(at)}}</span>'
        if ended_at:
            actions = f'<span class="small">{escape(str(row.get_status_display()))}</span>'
        else:
            marks = ""
            if not row.attended:
                marks += (
                    '<button class="btn btn-sm btn-success" type="submit" form="mark-present" name="attendance" '
                    f'value="{row.pk}" title="{present_title}">{present}</button>'
                )
            if row.status not in (AttendanceStatus.ABSENT, AttendanceStatus.GUEST):
                marks += (
                    '<button class="btn btn-sm btn-outline-secondary" type="submit" form="mark-absent" '
                    f'name="attendance" value="{row.pk}">{absent}</button>'
                )
            actions = f'<div class="d-flex gap-1">{marks}</div>'
        rows.append(
            f'<li class="list-group-item roster-row roster-{escape(row.status)}"><div class="d-flex '
            'justify-content-between align-items-center gap-2 flex-wrap"><div><span class="fw-semibold">'
            f"{escape(row.name)}</span>{guest if row.status == AttendanceStatus.GUEST else ''}<br>"
            f'<span class="small text-muted">{escape(row.role or "—")} · {escape(row.organization or "—")}</span>'
            f"{note}</div>{actions}</div></li>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every value above is escaped
