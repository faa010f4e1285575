"""Notifications: rows in the database, a registry of renderers, and the sweep that sends them.

The row is the truth; Redis only wakes the sweep up early. An app registers a renderer per kind in its
AppConfig.ready, schedules rows from its services, and (optionally) registers a scheduler that the hourly
beat task runs to create rows for things that become due ("the MOU expires in 30 days"):

    notifications.register("meetings.reminder", render_meeting_reminder)
    notifications.register_scheduler(schedule_meeting_reminders)
    notifications.schedule(kind="meetings.reminder", subject=meeting, recipient=user, due_at=when)
    notifications.queue_sweep()  # only if it should go out before the next minute's sweep

Delivery is at-least-once, never knowingly twice: see `_send_batch` for why exactly-once is not on offer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import nh3
from celery.exceptions import SoftTimeLimitExceeded
from django.apps import apps
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import IntegrityError, models, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from taskforce.models import Notification

logger = logging.getLogger(__name__)

# After this many failed sends a row stays unsent and unswept until somebody resets `attempts`.
MAX_ATTEMPTS = 8
# A failed row is retried after 1, 2, 4 ... minutes, capped at an hour: about two hours of SMTP outage
# are ridden out before we give up, and a permanently bad row does not clog every minute's sweep.
RETRY_BACKOFF_CAP = timedelta(hours=1)
# The Celery task stops looping well inside CELERY_TASK_SOFT_TIME_LIMIT; beat picks up the rest.
SWEEP_TIME_BUDGET_SECONDS = 180.0
SUBJECT_MAX_LENGTH = 200
# Rows claimed, sent and marked per transaction. A worker dying between the mail server's acceptance and
# COMMIT resends up to this many rows (see _send_batch), and issue #9 asks that a killed worker send nothing
# twice: one row, the floor while the mail server is outside our transaction, is what
# tests/reliability/test_worker_killed.py allows. Batches of 25 ran about 2.5 times faster on the bench
# (78 rather than 31 rows a second for two workers) but resent up to 25 emails after a kill; raise this
# only together with that test's bound, as a decision to trade duplicates for speed.
SWEEP_BATCH = 1

# A kind that needs no code of its own: somebody composed the words (subject and body in `context`).
NOTICE_KIND = "taskforce.notice"


@dataclass(frozen=True, slots=True)
class Message:
    """What a renderer returns: plain text always, HTML optionally (sanitised again before sending)."""

    subject: str
    body: str
    html: str | None = None
    # (filename, content, mimetype): e.g. the meeting's .ics with a circulated agenda.
    attachments: tuple[tuple[str, str | bytes, str], ...] = ()


Renderer = Callable[[Notification], Message | None]
Scheduler = Callable[[datetime], Any]

_renderers: dict[str, Renderer] = {}
_to_inactive_ok: set[str] = set()
_schedulers: list[Scheduler] = []


# --- registry ----------------------------------------------------------------------------------------


def register(kind: str, render: Renderer, *, to_inactive: bool = False) -> Renderer:
    """Declare how to render one kind. A renderer returning None means "no longer relevant": cancel it.

    Rows for inactive users are cancelled unsent, unless the kind is registered with to_inactive=True:
    for messages meant for people who are not (yet, or again) active, such as a re-invited person's
    invitation reminder.
    """
    if not kind or len(kind) > Notification._meta.get_field("kind").max_length:
        raise ValueError(f"Bad notification kind {kind!r}")
    existing = _renderers.get(kind)
    if existing is not None and existing is not render:
        # Two apps claiming one kind would send one app's rows with the other's words.
        raise ValueError(f"Notification kind {kind!r} is already registered to {existing!r}")
    _renderers[kind] = render
    if to_inactive:
        _to_inactive_ok.add(kind)
    else:
        _to_inactive_ok.discard(kind)
    return render


def is_registered(kind: str) -> bool:
    return kind in _renderers


def register_scheduler(func: Scheduler) -> Scheduler:
    """Add a periodic hook `func(now)` that creates rows with `schedule()`; usable as a decorator."""
    if func not in _schedulers:
        _schedulers.append(func)
    return func


def run_schedulers(now: datetime | None = None) -> int:
    """Run every registered scheduler, each in its own transaction; one failing does not stop the rest.

    Returns how many schedulers failed.
    """
    now = now or timezone.now()
    failed = 0
    for func in list(_schedulers):
        try:
            with transaction.atomic():
                func(now)
        except Exception:
            failed += 1
            logger.exception("Notification scheduler %s failed", getattr(func, "__qualname__", func))
    return failed


# --- scheduling ----------------------------------------------------------------------------------------


def subject_key(subject: models.Model) -> tuple[str, str]:
    """How a row points at its subject without a foreign key: ("meetings.meeting", "42")."""
    if subject.pk is None:
        raise ValueError("Save the subject before scheduling notifications about it")
    return subject._meta.label_lower, str(subject.pk)


def get_subject(notification: Notification) -> models.Model | None:
    """The row's subject, or None if it has been deleted (a renderer then returns None: cancelled)."""
    try:
        model = apps.get_model(notification.subject_type)
    except LookupError:
        return None
    return model._default_manager.filter(pk=notification.subject_id).first()


def due_on_for(due_at: datetime) -> date:
    """The date part of the unique key: the UTC date of due_at.

    UTC rather than TIME_ZONE or the task force's zone, so the key never depends on configuration that
    can change between two runs of a scheduler (a changed zone would otherwise make a second row).
    """
    return due_at.astimezone(UTC).date()


def schedule(
    *,
    kind: str,
    subject: models.Model,
    recipient: AbstractBaseUser,
    due_at: datetime,
    context: dict | None = None,
) -> Notification | None:
    """Create the row unless it exists: the new Notification, or None when it was already scheduled.

    Safe to call from a scheduler every hour and from concurrent requests: the unique constraint decides,
    inside a savepoint so the caller's transaction survives the conflict.
    """
    if kind not in _renderers:
        raise LookupError(f"No renderer registered for notification kind {kind!r}")
    if timezone.is_naive(due_at):
        raise ValueError("due_at must be timezone-aware")
    subject_type, subject_id = subject_key(subject)
    key = {
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "recipient": recipient,
        "due_on": due_on_for(due_at),
    }
    try:
        with transaction.atomic():
            return Notification.objects.create(**key, due_at=due_at, context=context or {})
    except IntegrityError:
        if Notification.objects.filter(**key).exists():
            return None
        raise  # some other constraint: a real error


def cancel(*, kind: str | None = None, subject: models.Model, recipient: AbstractBaseUser | None = None) -> int:
    """Cancel the unsent rows about `subject` (of one kind / for one recipient if given); returns how many."""
    subject_type, subject_id = subject_key(subject)
    rows = Notification.objects.filter(
        subject_type=subject_type, subject_id=subject_id, sent_at__isnull=True, cancelled_at__isnull=True
    )
    if kind is not None:
        rows = rows.filter(kind=kind)
    if recipient is not None:
        rows = rows.filter(recipient=recipient)
    return rows.update(cancelled_at=timezone.now())


# --- waking the sweep ------------------------------------------------------------------------------------


def queue_sweep() -> None:
    """Ask a worker to sweep as soon as the current transaction commits (once per transaction).

    If the broker is down the request still succeeds: the row waits for the next beat sweep.
    With eager Celery (no REDIS_URL) the sweep runs in-process right after the commit.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(entry[1] is _enqueue_sweep for entry in connection.run_on_commit):
        return
    # robust: an eager sweep that fails (SMTP down) must not turn a committed request into a 500.
    transaction.on_commit(_enqueue_sweep, robust=True)


def _enqueue_sweep() -> None:
    from kombu.exceptions import OperationalError as KombuOperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from taskforce.tasks import send_due_notifications

    try:
        # retry=False: a web request must not wait on kombu's publish retries; expires: sweeps queued
        # while the workers were down are worthless by the time they start, the beat sweep covers them.
        send_due_notifications.apply_async(retry=False, expires=300)
    except (KombuOperationalError, RedisConnectionError, RedisTimeoutError, OSError) as exc:
        logger.warning("Could not queue a notification sweep (%s); the next scheduled sweep will send", exc)


# --- the sweep ------------------------------------------------------------------------------------------


def _due(now: datetime) -> models.QuerySet[Notification]:
    return Notification.objects.filter(
        due_at__lte=now, sent_at__isnull=True, cancelled_at__isnull=True, attempts__lt=MAX_ATTEMPTS
    )


def sweep(*, limit: int = 500, now: datetime | None = None) -> int:
    """Send up to `limit` due notifications; returns how many were sent.

    Rows are claimed, sent and marked in short transactions of up to SWEEP_BATCH rows (see `_send_batch`).
    """
    return _sweep(limit=limit, now=now)[0]


def sweep_all(*, limit: int = 500, budget_seconds: float = SWEEP_TIME_BUDGET_SECONDS) -> int:
    """Sweep batch after batch until nothing is due or the time budget is spent; returns how many sent."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    while True:
        sent, handled = _sweep(limit=limit, now=None, deadline=deadline)
        total += sent
        if handled < limit or time.monotonic() >= deadline:
            return total


def _sweep(*, limit: int, now: datetime | None, deadline: float | None = None) -> tuple[int, int]:
    """Returns (sent, handled): handled counts cancelled and failed rows too."""
    sent = handled = 0
    email_connection = mailers.default  # one SMTP session for the whole sweep, opened on first send
    try:
        while handled < limit and (deadline is None or time.monotonic() < deadline):
            outcomes = _send_batch(now or timezone.now(), email_connection, min(SWEEP_BATCH, limit - handled))
            handled += len(outcomes)
            sent += sum(outcomes)
            if not outcomes:
                break
    finally:
        email_connection.close()
    return sent, handled


def _send_batch(now: datetime, email_connection, size: int) -> list[bool]:
    """Claim up to `size` due rows, send them, mark them: one outcome per row (True sent), [] if none due.

    The claim (SELECT ... FOR UPDATE SKIP LOCKED), the emails and `sent_at` share one transaction per
    batch: another worker skips the locked rows, so two workers never send one; if this process dies
    before COMMIT, the locks go with its connection and the rows are due again, so nothing is lost. The
    one gap is a crash after the mail server accepted messages but before COMMIT: those rows, at most one
    batch, are sent again. Exactly-once would need the mail server to take part in our transaction, so we
    choose at-least-once (a duplicate reminder over a missing one) and keep the window to SWEEP_BATCH rows;
    the Message-ID is derived from the row, so mail clients that de-duplicate will show the repeat once.
    Celery's soft time limit commits what was already sent before stopping the task.
    (SQLite has no row locks: with the embedded default, two sweeps running at the same moment could
    both send a row. Fine for development; deployments run PostgreSQL.)
    """
    interrupted: SoftTimeLimitExceeded | None = None
    outcomes: list[bool] = []
    with transaction.atomic():
        rows = list(
            _due(now)
            .select_related("recipient")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("due_at", "pk")[:size]
        )
        sent: list[int] = []
        cancelled: dict[str, list[int]] = {}
        for row in rows:
            try:
                outcome = _deliver(row, now, email_connection)
            except SoftTimeLimitExceeded as exc:
                interrupted = exc  # this row stays due; the ones before it are committed below
                break
            if outcome is True:
                sent.append(row.pk)
            elif outcome is not False:
                cancelled.setdefault(outcome, []).append(row.pk)
            outcomes.append(outcome is True)
        # One UPDATE per outcome rather than one per row: the batch costs a handful of round trips.
        if sent:
            Notification.objects.filter(pk__in=sent).update(
                sent_at=now, attempts=models.F("attempts") + 1, last_error=""
            )
        for reason, pks in cancelled.items():
            Notification.objects.filter(pk__in=pks).update(cancelled_at=now, last_error=reason)
    if interrupted is not None:
        raise interrupted
    return outcomes


def _deliver(row: Notification, now: datetime, email_connection) -> bool | str:
    """Send one claimed row: True sent, False failed (recorded), or the reason to cancel it ("" if none)."""
    recipient = row.recipient
    if not recipient.email or not (recipient.is_active or row.kind in _to_inactive_ok):
        return "recipient inactive or without email"
    render = _renderers.get(row.kind)
    try:
        # A savepoint, so a renderer whose query fails leaves the batch's transaction usable.
        with transaction.atomic():
            if render is None:
                raise LookupError(f"no renderer registered for kind {row.kind!r}")
            message = render(row)
            if message is not None:
                if email_connection.send_messages([email_message(row, message)]) != 1:
                    raise RuntimeError("the mail backend accepted nothing")
    except SoftTimeLimitExceeded:
        raise  # Celery is stopping this task: this row stays due
    except Exception as exc:
        # A renderer bug or a refused send: count it, back off, keep the row for a later sweep.
        _record_failure(row, now, exc)
        return False
    if message is None:
        return ""  # no longer relevant: cancelled
    return True


def _mark(row: Notification, **fields: Any) -> None:
    Notification.objects.filter(pk=row.pk).update(**fields)


def _record_failure(row: Notification, now: datetime, exc: Exception) -> None:
    attempts = row.attempts + 1
    backoff = min(timedelta(minutes=2 ** (attempts - 1)), RETRY_BACKOFF_CAP)
    # due_at is "when the sweep may next try"; due_on (the unique key) keeps the original date.
    _mark(row, attempts=attempts, last_error=f"{type(exc).__name__}: {exc}"[:2000], due_at=now + backoff)
    log = logger.error if attempts >= MAX_ATTEMPTS else logger.warning
    log("Notification %s failed (attempt %s of %s): %s", row.pk, attempts, MAX_ATTEMPTS, exc)


# --- building the email ---------------------------------------------------------------------------------


def clean_header(value: str, *, max_length: int = SUBJECT_MAX_LENGTH) -> str:
    """One line, no CR/LF or other control characters: user text in a subject cannot add headers."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(value)).split())
    return text if len(text) <= max_length else text[: max_length - 1].rstrip() + "…"


# Enough for a readable email; no scripts, forms, images from elsewhere or inline styles an attacker
# could use to dress a phishing link up as one of ours.
_EMAIL_TAGS = {
    "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "li", "ol", "p",
    "pre", "small", "span", "strong", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_EMAIL_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"}}


def clean_html(html: str) -> str:
    """Sanitise an HTML body with nh3 (defence in depth: renderers should already autoescape)."""
    return nh3.clean(
        html,
        tags=_EMAIL_TAGS,
        attributes=_EMAIL_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer",
    )


def email_message(row: Notification, message: Message) -> EmailMultiAlternatives:
    host = urlsplit(settings.SITE_URL).hostname or "taskforce.local"
    email = EmailMultiAlternatives(
        subject=clean_header(message.subject),
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient.email],
        headers={
            # Stable per row: a resend after a crash (see _send_batch) carries the same Message-ID.
            "Message-ID": f"<notification-{row.pk}@{host}>",
            "X-Taskforce-Notification": str(row.pk),
            "X-Taskforce-Kind": row.kind,
            "Auto-Submitted": "auto-generated",
        },
    )
    if message.html:
        email.attach_alternative(clean_html(message.html), "text/html")
    for filename, content, mimetype in message.attachments:
        email.attach(clean_header(filename, max_length=100), content, mimetype)
    return email


def render_message(*, subject: str, template: str, context: dict) -> Message:
    """Render `<template>.txt` (and `<template>.html` if it exists) into a Message.

    The text template extends emails/base.txt, which turns autoescaping off (it is plain text); the
    HTML template autoescapes as usual.
    """
    context = {"site_url": settings.SITE_URL, **context}
    body = render_to_string(f"{template}.txt", context)
    try:
        get_template(f"{template}.html")
    except TemplateDoesNotExist:
        html = None
    else:
        html = render_to_string(f"{template}.html", context)
    return Message(subject=subject, body=body, html=html)


def _render_notice(row: Notification) -> Message | None:
    subject = row.context.get("subject")
    body = row.context.get("body")
    if not subject or not body:
        return None
    return render_message(
        subject=subject,
        template="emails/base",
        context={"recipient": row.recipient, "body": body, "sender": row.context.get("sender", "")},
    )


register(NOTICE_KIND, _render_notice)
