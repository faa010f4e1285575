"""The meetings app's rows of the permission matrix (tests/security/test_permission_matrix.py merges them in).

Everyone of Harbor sees its meetings; facilitating (editing, composing, running, minuting) needs Harbor's
facilitators or coordinators group (Fred, Alice) or the site admin. Oscar cannot tell Harbor exists. The
calendar feed answers to its token alone: a made-up token is a 404 whoever asks.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from django.utils import timezone

from meetings import services


def _harbor(cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug}


def _meeting(cast):
    return services.meeting_create(
        taskforce=cast.taskforce,
        actor=cast.facilitator,
        title="Harbor monthly meeting",
        day=timezone.localdate() + timedelta(days=7),
        start_time=time(10),
        end_time=time(11, 30),
        time_zone="America/New_York",
        facilitator=cast.facilitator,
    )


def _meeting_kwargs(cast) -> dict[str, Any]:
    return {"slug": cast.taskforce.slug, "pk": _meeting(cast).pk}


def _with_minutes(cast) -> dict[str, Any]:
    meeting = _meeting(cast)
    services.minutes_draft(meeting=meeting, actor=cast.facilitator)
    return {"slug": cast.taskforce.slug, "pk": meeting.pk}


def _item(**extra):
    def build(cast) -> dict[str, Any]:
        meeting = _meeting(cast)
        item = services.agenda_items(meeting)[-1]
        return {"slug": cast.taskforce.slug, "pk": meeting.pk, "item_pk": item.pk, **extra}

    return build


def _action(action: str, *, minutes: bool = False):
    def build(cast) -> dict[str, Any]:
        kwargs = _with_minutes(cast) if minutes else _meeting_kwargs(cast)
        return {**kwargs, "action": action}

    return build


def _minutes_pdf(cast) -> dict[str, Any]:
    return {**_with_minutes(cast), "edition": "general"}


def _agency_b_action(cast) -> dict[str, Any]:
    """An action item owned by agency B: Bea and Mia (and Fred, who is of agency B) may report back on it."""
    from meetings import actions

    action = actions.action_item_save(
        taskforce=cast.taskforce, actor=cast.coordinator, title="Draft the protocol", owner_membership=cast.agency_b
    )
    return {"slug": cast.taskforce.slug, "action_pk": action.pk}


def _report_back_attachment(cast) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from meetings import actions

    kwargs = _agency_b_action(cast)
    action = actions.ActionItem.objects.get(pk=kwargs["action_pk"])
    upload = SimpleUploadedFile("survey.csv", b"shelter,answered\nNorth,yes\n", content_type="text/csv")
    report = actions.report_back_submit(
        action=action, actor=cast.liaison_b, status="on_track", progress="Table attached", attachment=upload
    )
    return {**kwargs, "report_pk": report.pk}


def meeting_rows(Row, in_harbor, signed_in) -> dict[str, Any]:  # noqa: N803 - the matrix's own classes
    everyone = in_harbor(200)
    facilitators = in_harbor(403, admin=200, coordinator=200, facilitator=200)
    facilitators_post = in_harbor(403, admin=302, coordinator=302, facilitator=302)
    return {
        "meetings:list": Row(_harbor, "GET", everyone),
        "meetings:create": Row(_harbor, "GET", facilitators),
        "meetings:series_create": Row(_harbor, "GET", facilitators),
        "meetings:backlog": Row(_harbor, "GET", facilitators),
        "meetings:feedback_trend": Row(_harbor, "GET", everyone),
        "meetings:calendar": Row(_harbor, "GET", everyone),
        "meetings:detail": Row(_meeting_kwargs, "GET", everyone),
        "meetings:edit": Row(_meeting_kwargs, "GET", facilitators),
        "meetings:cancel": Row(_meeting_kwargs, "GET", facilitators),
        "meetings:ics": Row(_meeting_kwargs, "GET", everyone),
        "meetings:submit": Row(_meeting_kwargs, "GET", everyone),
        "meetings:item_add": Row(_meeting_kwargs, "GET", facilitators),
        "meetings:item_edit": Row(_item(), "GET", facilitators),
        "meetings:notes": Row(_item(), "POST", facilitators_post),
        "meetings:item_action": Row(_item(action="up"), "POST", facilitators_post),
        "meetings:circulate": Row(_meeting_kwargs, "POST", facilitators_post),
        "meetings:run": Row(_meeting_kwargs, "GET", facilitators),
        "meetings:run_action": Row(_action("start"), "POST", facilitators_post),
        "meetings:follow": Row(_meeting_kwargs, "GET", everyone),
        "meetings:check_in": Row(_meeting_kwargs, "POST", in_harbor(302)),
        "meetings:attendance": Row(
            _meeting_kwargs,
            "POST",
            facilitators_post,
            data=lambda cast: {"guest-name": "Dr. Ruiz", "guest-acknowledged": "on"},
        ),
        "meetings:action_item_create": Row(_meeting_kwargs, "POST", facilitators_post),
        "meetings:signin_pdf": Row(_meeting_kwargs, "GET", facilitators),
        "meetings:minutes": Row(_with_minutes, "GET", everyone),
        "meetings:minutes_edit": Row(_with_minutes, "GET", facilitators),
        "meetings:minutes_pdf": Row(_minutes_pdf, "GET", everyone),
        "meetings:minutes_action": Row(_action("circulate", minutes=True), "POST", facilitators_post),
        "meetings:feedback": Row(_meeting_kwargs, "GET", everyone),
        # Action items: everyone of Harbor sees them; managers create, edit and decide; owners report back.
        "meetings:actions": Row(_harbor, "GET", everyone),
        "meetings:action_create": Row(_harbor, "GET", facilitators),
        "meetings:overdue_board": Row(_harbor, "GET", everyone),
        "meetings:action_detail": Row(_agency_b_action, "GET", everyone),
        "meetings:action_edit": Row(_agency_b_action, "GET", facilitators),
        "meetings:action_report": Row(
            _agency_b_action,
            "POST",
            in_harbor(403, admin=302, coordinator=302, facilitator=302, liaison_b=302, member_b=302),
        ),  # fmt: skip
        "meetings:action_outcome": Row(_agency_b_action, "POST", facilitators_post),
        "meetings:report_back_attachment": Row(_report_back_attachment, "GET", everyone),
        # No session: the token is the credential, and a made-up one is a 404 for anyone.
        "meetings:feed": Row(
            lambda cast: {"token": "not-a-real-token"},
            "GET",
            {role: 404 for role in in_harbor(200)},
            audits_404=False,
        ),
    }
