from html import escape

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from mous.models import MouStatus, RecipientRole, RequestStatus
from mous.rendering import clause_html

register = template.Library()


@register.filter(name="clause_html")
def clause_html_filter(text: str):
    """Markdown rendered and sanitised (see mous.rendering)."""
    return clause_html(text)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag(takes_context=True)
def matrix_rows(context, rows: list, states: list, *, can_manage: bool, latest) -> str:
    """The MOU page's status matrix, one <tr> per party (detail.html; rows from selectors.status_matrix).

    Built here rather than in the template, as meetings_tags.roster_rows: the template engine's cost per party
    (a few dozen lookups, conditions and url tags) made the matrix most of the page's time. Every value is
    escaped with html.escape. The forms carry the page's CSRF token, rendered once by Django's own node.
    """
    mou, user = context["mou"], context["request"].user
    # One reverse for the table, not a few per row: the steps', parties' and letters' pages are under the MOU's
    # own URL (mous/urls.py: M + "steps/<pk>/...", "parties/<pk>/...", "letters/<pk>/").
    base = reverse("mous:detail", args=[context["taskforce"].slug, mou.pk])
    csrf = CsrfTokenNode().render(context)
    remind_now, open_label = escape(_("remind now")), escape(_("open"))
    no_signatory = escape(_("No authorized signatory named"))
    lou_label, who_acts = escape(_("Letter of understanding")), escape(_("Who acts"))
    issue_lou = escape(_("Issue letter of understanding"))
    # The choice labels translated once for the table: get_FOO_display rebuilds its choices dict on every call.
    roles = {value: escape(str(label)) for value, label in RecipientRole.choices}
    statuses = {value: escape(str(label).lower()) for value, label in RequestStatus.choices}
    signing, executed = mou.status == MouStatus.SIGNING, mou.status == MouStatus.EXECUTED
    out = []
    for row in rows:
        party, agency = row.party, escape(row.party.membership.agency.name)
        lines = []
        for step in row.steps:
            if step.status == RequestStatus.VOIDED:
                continue
            line = (
                f"<div>{roles.get(step.role, escape(step.role))}: {escape(step.user.full_name)} — "
                f"{statuses.get(step.status, escape(step.status))}"
            )
            if step.status == RequestStatus.SIGNED and step.acted_at:
                line += f" {escape(date_format(localtime(step.acted_at), 'M j, Y H:i'))}"
            if can_manage and step.is_pending:
                line += (
                    f' <form method="post" action="{base}steps/{step.pk}/remind/" class="d-inline">'
                    f'{csrf}<button class="btn btn-link btn-sm p-0 align-baseline" type="submit">{remind_now}</button>'
                    "</form>"
                )
            if step.user_id == user.pk and step.is_pending:
                line += f' <a href="{base}steps/{step.pk}/">{open_label}</a>'
            lines.append(line + "</div>")
        if not row.steps:
            signatory = party.membership.signatory
            lines.append(
                escape(_("Signatory: %(n)s") % {"n": signatory.full_name})
                if signatory
                else f'<span class="text-danger">{no_signatory}</span>'
            )
        if row.declined:
            reason = _("Declined: %(r)s") % {"r": row.declined.get_decline_reason_display()}
            text = f" — “{escape(row.declined.decline_text)}”" if row.declined.decline_text else ""
            lines.append(f'<div class="text-danger">{escape(reason)}{text}</div>')
        if row.letter:
            lines.append(
                f'<div><a href="{base}letters/{row.letter.pk}/">{lou_label}</a> '
                f"({escape(str(row.letter.get_status_display()).lower())})</div>"
            )
        manage = ""
        if can_manage:
            party_url = f"{base}parties/{party.pk}/"
            buttons = []
            if not executed:
                buttons.append(f'<a class="btn btn-outline-secondary btn-sm" href="{party_url}route/">{who_acts}</a>')
            open_row = not row.letter and row.state != "signed"
            if signing and open_row and (row.state == "declined" or row.signatory_changed):
                label = _("Ask again") if row.state == "declined" else _("Send to the new signatory")
                buttons.append(
                    f'<form method="post" action="{party_url}ask-again/">{csrf}'
                    f'<button class="btn btn-outline-secondary btn-sm" type="submit">{escape(label)}</button></form>'
                )
            if open_row and latest:
                buttons.append(
                    f'<form method="post" action="{party_url}letter/">{csrf}'
                    f'<button class="btn btn-outline-secondary btn-sm" type="submit">{issue_lou}</button></form>'
                )
            manage = f'<div class="mt-1 d-flex gap-2 flex-wrap">{" ".join(buttons)}</div>'
        cells = "".join(
            f'<td class="text-center"><span class="badge {row.badge}">{escape(label)}</span></td>'
            if row.state == key
            else '<td class="text-center"></td>'
            for key, label in states
        )
        out.append(
            f'<tr data-party="{agency}" data-state="{escape(row.state)}"><th scope="row">{agency}'
            f'<div class="small text-muted fw-normal">{"".join(lines)}</div>{manage}</th>{cells}</tr>'
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped
