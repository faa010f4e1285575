from datetime import datetime
from html import escape

from django import template
from django.template.defaultfilters import linebreaksbr
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from meetings.models import AttendanceStatus, ItemType

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


@register.simple_tag
def agenda_rows(rows: list[dict], *, meeting, can_facilitate: bool, items_url: str) -> str:
    """The agenda page's table rows, one <tr> per row of views._shown_items (detail.html).

    Built here for the reason roster_rows is: a dozen template lookups, conditions and translations per item
    were most of the agenda's rendering. Every value is escaped with html.escape; `case_html` is the case
    renderer's already-safe partial. The up, down and to-backlog buttons submit the page's #item-actions form
    to their own formaction under `items_url` (meetings/urls.py: agenda/<pk>/<action>/).
    """
    types = {value: escape(str(label)) for value, label in ItemType.choices}
    restricted = f'<span class="badge badge-restricted">{escape(_("Restricted"))}</span>'
    changed = f'<span class="badge badge-changed">{escape(_("Changed"))}</span>'
    updated = f'<span class="badge badge-changed-circulated">{escape(_("Updated"))}</span>'
    hidden = {True: escape(_("Restricted case")), False: escape(_("Restricted item"))}
    edit_label, backlog_label = escape(_("Edit")), escape(_("To backlog"))
    version, actions = meeting.agenda_version, can_facilitate and not meeting.ended_at
    out = []
    for n, row in enumerate(rows, start=1):
        item, visible = row["item"], row["visible"]
        kind = types.get(item.item_type, escape(item.item_type))
        if visible:
            # Each badge after a space, as the words of a sentence (they are inline).
            badges = f" {restricted}" if item.is_restricted else ""
            if version and item.changed_in_version > version:
                badges += f" {changed}"
            elif version > 1 and item.changed_in_version == version:
                badges += f" {updated}"
            description = (
                f'<div class="small agenda-description">{linebreaksbr(item.description, autoescape=True)}</div>'
                if item.description
                else ""
            )
            case = f'<div class="case-partial">{row["case_html"]}</div>' if row["case_html"] else ""
            shown = (
                f'<span class="fw-semibold">{escape(item.title)}</span>{badges}'
                f'<br><span class="small text-muted">{kind}</span>{description}{case}'
            )
            presenter = escape(item.presenter.full_name) if item.presenter and item.presenter.full_name else "—"
        else:
            shown = (
                f'<span class="text-muted restricted-placeholder">{hidden[item.item_type == ItemType.CASE_REVIEW]}'
                f'</span> {restricted}<br><span class="small text-muted">{kind}</span>'
            )
            presenter = "—"
        cells = f'<td>{n}</td><td>{shown}</td><td>{presenter}</td><td class="text-end">{item.planned_minutes}</td>'
        if can_facilitate:
            buttons: list[str] = []
            if actions:
                url = f"{items_url}{item.pk}/"
                if visible:
                    up, down = _("Move %(t)s up") % {"t": item.title}, _("Move %(t)s down") % {"t": item.title}
                else:
                    up, down = _("Move item %(n)s up") % {"n": n}, _("Move item %(n)s down") % {"n": n}
                move = '<button class="btn btn-sm btn-link px-1" type="submit" form="item-actions" formaction='
                buttons = [
                    f'{move}"{url}up/" aria-label="{escape(up)}"{" disabled" if n == 1 else ""}>↑</button>',
                    f'{move}"{url}down/" aria-label="{escape(down)}"{" disabled" if n == len(rows) else ""}>↓</button>',
                ]
                if visible:
                    buttons.append(f'<a class="btn btn-sm btn-link px-1" href="{url}edit/">{edit_label}</a>')
                buttons.append(
                    '<button class="btn btn-sm btn-link px-1 text-danger" type="submit" form="item-actions" '
                    f'formaction="{url}remove/">{backlog_label}</button>'
                )
            # Spaces between the buttons, as between inline elements of the template they replace.
            cells += f'<td class="text-end text-nowrap">{" ".join(buttons)}</td>'
        out.append(f"<tr>{cells}</tr>")
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


@register.simple_tag(takes_context=True)
def planned_actual_rows(context, rows: list[dict], *, controls: bool) -> str:
    """The live pages' planned-vs-actual rows (partials/planned_actual.html; rows from views._live_context).

    Built here for the reason roster_rows is: the console and the participants' page reload it all meeting long.
    `controls`: the console's "Go" buttons, each a form posting the item to run_action "goto" with the page's
    CSRF token (rendered once by Django's own node).
    """
    meeting = context["meeting"]
    live, current_pk = meeting.is_live, meeting.current_item_id
    hidden = {True: escape(_("Restricted case")), False: escape(_("Restricted item"))}
    # The "Go" form around each item's pk: the same for every row but that.
    go_open = go_close = ""
    if controls and live:
        url = reverse("meetings:run_action", args=[context["taskforce"].slug, meeting.pk, "goto"])
        go_open = (
            f'<form method="post" action="{url}" class="d-inline">{CsrfTokenNode().render(context)}'
            '<input type="hidden" name="item" value="'
        )
        go_close = f'"><button class="btn btn-sm btn-link py-0" type="submit">{escape(_("Go"))}</button></form>'
    out = []
    for n, row in enumerate(rows, start=1):
        item, current = row["item"], row["item"].pk == current_pk
        classes = ("is-current" if current else "") + (" is-over" if row["over"] else "")
        title = (
            escape(item.title)
            if row["visible"]
            else f'<span class="text-muted">{hidden[item.item_type == ItemType.CASE_REVIEW]}</span>'
        )
        actual = f' data-actual-current="{row["actual"]}"' if current and live else ""
        cells = (
            f'<td>{n}</td><td>{title}</td><td class="text-end">{item.planned_minutes}:00</td>'
            f'<td class="text-end"{actual}>{mmss(row["actual"])}</td>'
        )
        if controls:
            go = f"{go_open}{item.pk}{go_close}" if go_open and not current else ""
            cells += f'<td class="text-end text-nowrap">{go}</td>'
        step = ' aria-current="step"' if current else ""
        out.append(f'<tr class="{classes}"{step}>{cells}</tr>')
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped
