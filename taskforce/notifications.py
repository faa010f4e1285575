"""Notifications: rows in the database, a registry of renderers, and the sweep that sends them.

The row is the truth; Redis only wakes the sweep up early. An app registers a renderer per kind in its
AppConfig.ready, schedules rows from its services, and (optionally) registers a scheduler that the hourly
beat task runs to create rows for things that become due ("the MOU expires in 30 days"):

    notifications.register("meetings.reminder", render_meeting_reminder)
    notifications.register_scheduler(schedule_meeting_reminders)
    notifications.schedule(kind="meetings.reminder", subject=meeting, recipient=user, due_at=when)
    notifications.queue_sweep()  # only if it should go out before the next minute's sweep

Delivery is at-least-once, never knowingly twice. The sweep (two workers must manage 1,000 a second, issue
#8) leases a batch of due rows in one short transaction (`_claim`: due_at moves a lease ahead, so other
workers skip them and a dead worker's rows come back by themselves), then sends and marks each row on its
own (`_send_claimed`), the marks committed asynchronously (`_asynchronous_commit`): a killed worker resends
at most the one row in flight and loses none, without a transaction and an fsync per row. The MIME message
is built by `NotificationEmail`, which skips most of the email package's per-header parsing.
Exactly-once is not on offer: see `_send_claimed`.
"""

from __future__ import annotations

import email.message
import email.policy
import functools
import logging
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.headerregistry import AddressHeader, HeaderRegistry
from email.policy import EmailPolicy, Policy
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import nh3
from celery.exceptions import SoftTimeLimitExceeded
from django.apps import apps
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import DatabaseError, IntegrityError, models, transaction
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
# Rows claimed per short transaction (see `_claim`). The batch only amortises the claim: each row is marked
# on its own right after its send, so a killed worker resends at most one row whatever this is
# (tests/reliability/test_worker_killed.py). A bigger batch saves little more and leaves more rows waiting
# out the lease when a worker dies.
SWEEP_BATCH = 100
# How long a claim keeps a row from the other workers. A killed worker's unsent rows are due again after
# this, so it is the longest such a row waits; it must also outlast the sending of a whole batch, which
# `_send_claimed` guarantees by stopping at half of it (the other half absorbs clock skew between workers).
SWEEP_LEASE = timedelta(minutes=5)

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

    Rows are claimed SWEEP_BATCH at a time (`_claim`), then sent and marked one by one (`_send_claimed`).
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
    email_connection = mailers.default  # one session for the whole sweep, opened by the first send (_deliver)
    try:
        with _asynchronous_commit():
            while handled < limit and (deadline is None or time.monotonic() < deadline):
                claimed_at = now or timezone.now()
                # Stop sending a batch at half its lease (see SWEEP_LEASE) or at the sweep's deadline.
                stop_at = time.monotonic() + SWEEP_LEASE.total_seconds() / 2
                if deadline is not None:
                    stop_at = min(stop_at, deadline)
                rows = _claim(claimed_at, min(SWEEP_BATCH, limit - handled))
                if not rows:
                    break
                outcomes = _send_claimed(rows, claimed_at, email_connection, stop_at)
                handled += len(outcomes)
                sent += sum(outcomes)
                if len(outcomes) < len(rows):
                    break  # out of time: the rest were released
    finally:
        email_connection.close()
    return sent, handled


@contextmanager
def _asynchronous_commit() -> Iterator[None]:
    """Commit the sweep's claims and marks without waiting for the WAL to reach disk.

    Each row is marked in its own tiny transaction (see `_send_claimed`), and an fsync per row (several
    milliseconds) would cost more than everything else the row needs. A killed worker loses nothing by
    this: its committed transactions are in PostgreSQL's hands, and PostgreSQL writes them out within
    about 200 ms (wal_writer_delay; at worst three times that). Only a crash of PostgreSQL itself (or of
    its machine) can lose those last marks or claims, and then those rows are due again: resent, never
    lost, as the at-least-once contract allows. At full speed that is the last fraction of a second's
    rows, some hundreds at most; a crash of the database is rare enough, and visible enough, to accept it.
    Session-wide (and reset afterwards) because the marks run in autocommit.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        # A connection that broke mid-sweep cannot be reset, and Django discards it rather than reuse it.
        with suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _claim(now: datetime, size: int) -> list[Notification]:
    """Lease up to `size` due rows to this worker in one short transaction; [] if none are due.

    The rows are taken with SELECT ... FOR UPDATE SKIP LOCKED (two workers claiming at the same moment
    split the rows instead of waiting), then their due_at moves SWEEP_LEASE ahead and attempts counts the
    claim, and the transaction commits at once: the other workers see rows that are not due, so two
    workers never send one, and no transaction stays open while mail goes out. If this worker dies, the
    rows it had not sent become due again when the lease runs out: nothing is lost. The returned rows
    keep their values from before the claim (due_at, attempts), which the marks restore or build on.
    (SQLite has no row locks: with the embedded default, two sweeps claiming at the same moment could
    both take a row. Fine for development; deployments run PostgreSQL.)
    """
    with transaction.atomic():
        rows = list(
            _due(now)
            .select_related("recipient")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("due_at", "pk")[:size]
        )
        if rows:
            Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
                due_at=now + SWEEP_LEASE, attempts=models.F("attempts") + 1
            )
    return rows


def _send_claimed(rows: list[Notification], now: datetime, email_connection, stop_at: float) -> list[bool]:
    """Send the claimed rows one by one, marking each right after its send: one outcome per row handled.

    The mark is its own transaction, so the only row a crash can leave mailed but unmarked is the one in
    flight: a killed worker resends at most one email (after the lease), whatever the batch size.
    Exactly-once would need the mail server to take part in our transaction, so we choose at-least-once
    (a duplicate reminder over a missing one); the Message-ID is derived from the row, so mail clients
    that de-duplicate will show the repeat once. A row cancelled by `cancel()` after the claim is still
    sent: the same as cancelling just after the send.

    Rows not reached by `stop_at` (time.monotonic()), or when Celery's soft time limit interrupts, are
    released (due again at once) rather than left to wait out the lease.
    """
    outcomes: list[bool] = []
    settled = 0  # rows past _deliver: never released, as they may have been mailed
    try:
        for row in rows:
            if time.monotonic() >= stop_at:
                break
            outcome = _deliver(row, now, email_connection)  # SoftTimeLimitExceeded: this row stays due
            settled += 1
            # The row's claim-time due_at comes back, so a sent or cancelled row shows when it was due.
            if outcome is True:
                _mark(row, sent_at=now, last_error="", due_at=row.due_at)
            elif outcome is not False:  # cancelled; the claim did not count as an attempt
                _mark(row, cancelled_at=now, last_error=outcome, due_at=row.due_at, attempts=row.attempts)
            outcomes.append(outcome is True)
    finally:
        _release(rows[settled:], now)
    return outcomes


def _release(rows: list[Notification], now: datetime) -> None:
    """Hand back claimed rows this worker will not send: due now, the claim not counted as an attempt."""
    if not rows:
        return
    try:
        # due_at still the lease's: only rows nobody has marked (or claimed again) since our claim.
        Notification.objects.filter(pk__in=[row.pk for row in rows], due_at=now + SWEEP_LEASE).update(
            due_at=now, attempts=models.F("attempts") - 1
        )
    except DatabaseError:
        # The database is gone (or going): the lease hands the rows back when it runs out.
        logger.warning("Could not release %s claimed notifications; due again after the lease", len(rows))


def _deliver(row: Notification, now: datetime, email_connection) -> bool | str:
    """Send one claimed row: True sent, False failed (recorded), or the reason to cancel it ("" if none)."""
    recipient = row.recipient
    if not recipient.email or not (recipient.is_active or row.kind in _to_inactive_ok):
        return "recipient inactive or without email"
    render = _renderers.get(row.kind)
    try:
        if render is None:
            raise LookupError(f"no renderer registered for kind {row.kind!r}")
        message = render(row)
        if message is not None:
            # One session (SMTP connection) for the whole sweep: a backend's send_messages otherwise
            # opens and closes one per call. Opened here, by the first send; _sweep closes it.
            email_connection.open()
            if email_connection.send_messages([email_message(row, message)]) != 1:
                raise RuntimeError("the mail backend accepted nothing")
    except SoftTimeLimitExceeded:
        raise  # Celery is stopping this task: this row stays due
    except Exception as exc:
        # A renderer bug or a refused send: count it, back off, keep the row for a later sweep.
        _record_failure(row, now, exc)
        # The next send starts a new session, so a dropped connection does not fail the rest of the sweep.
        with suppress(Exception):
            email_connection.close()
        return False
    if message is None:
        return ""  # no longer relevant: cancelled
    return True


def _mark(row: Notification, **fields: Any) -> None:
    """UPDATE one row by primary key: what filter(pk=...).update(...) does, without building a query.

    The sweep marks every row on its own (see `_send_claimed`), and the ORM's query building cost four
    times the statement itself (0.4 against 0.1 ms of CPU). Values go through each field's
    get_db_prep_save, as in update(), so every database gets them in its own format.
    """
    db = transaction.get_connection()
    meta = Notification._meta
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{db.ops.quote_name(field.column)} = %s" for field in columns)
    params = [field.get_db_prep_save(value, db) for field, value in zip(columns, fields.values(), strict=True)]
    table, pk = db.ops.quote_name(meta.db_table), db.ops.quote_name(meta.pk.column)
    with db.cursor() as cursor:
        # Names from the model, values bound: nothing from outside reaches the SQL text.
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", [*params, row.pk])  # noqa: S608


def _record_failure(row: Notification, now: datetime, exc: Exception) -> None:
    attempts = row.attempts + 1  # as the claim already counted it in the database
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


# Configured once: nh3.clean() would convert these sets into a new cleaner for every message.
_EMAIL_CLEANER = nh3.Cleaner(
    tags=_EMAIL_TAGS,
    attributes=_EMAIL_ATTRIBUTES,
    url_schemes={"https", "http", "mailto"},
    link_rel="noopener noreferrer",
)


def clean_html(html: str) -> str:
    """Sanitise an HTML body with nh3 (defence in depth: renderers should already autoescape)."""
    return _EMAIL_CLEANER.clean(html)


class _MemoHeaderRegistry(HeaderRegistry):
    """The stdlib's header registry without two costs it pays on every header of every message.

    HeaderRegistry.__getitem__ builds a new class on every call (several calls per header), and the same
    few values (content types, From, MIME-Version) are parsed again for each message. A header object is
    immutable once parsed, so one parse can serve every message; the memo is bounded, as most values
    (subjects, recipients) are seen once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._header_class = functools.cache(super().__getitem__)
        self._parse = functools.lru_cache(maxsize=1024)(super().__call__)

    def __getitem__(self, name: str) -> type:
        return self._header_class(name)

    def __call__(self, name: str, value: Any) -> Any:
        # Only text is memoised: Django also stores datetimes and lists of Address objects.
        return self._parse(name, value) if isinstance(value, str) else super().__call__(name, value)


class _NotificationPolicy(EmailPolicy):
    """The email policy the mail backend asks for, storing plain header values as text instead of parsing.

    Python's email package parses each header value into a tree when it is set and folds that tree back
    into text when the message is written: about 1.5 ms of a notification's CPU, more than the rest of its
    sending. A value of printable ASCII (no CR/LF: no header injection) that fits on its line folds to
    itself, so it is stored as that text, as a message read from the wire stores its headers, and written
    out unchanged; reading it back (msg["Subject"]) parses it then. Anything else takes EmailPolicy's own
    path: non-ASCII (RFC 2047 encoding), long values (folding), CR/LF (refused), and address headers,
    which keep their parsing and checks.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()
            and len(name) + 2 + len(value) <= (self.max_line_length or sys.maxsize)
            and not issubclass(self.header_factory[name], AddressHeader)
        ):
            return name, value
        return super().header_store_parse(name, value)


@functools.cache
def _notification_policy(policy: EmailPolicy) -> _NotificationPolicy:
    """`policy` (the backend's: SMTP, or Django's default) with the two changes above; one per policy."""
    return _NotificationPolicy(**{**policy.__dict__, "header_factory": _MemoHeaderRegistry()})


class NotificationEmail(EmailMultiAlternatives):
    """What the sweep sends: Django's email, made into a MIME message several times faster (see above)."""

    def message(self, *, policy: Policy = email.policy.default) -> email.message.EmailMessage:
        if type(policy) is not EmailPolicy:  # a policy of its own class may fold differently: leave it alone
            return super().message(policy=policy)
        msg = super().message(policy=_notification_policy(policy))
        if msg.is_multipart():
            # The generator would otherwise pick a boundary and compile a regular expression to check that
            # no body line contains it, per message; 96 random bits cannot occur in a body by chance, and
            # the header stays short enough to be stored as text.
            msg.replace_header("Content-Type", f'{msg.get_content_type()}; boundary="{secrets.token_hex(12)}"')
        return msg

    def _idna_encode_address_header_domains(self, msg: email.message.EmailMessage) -> None:
        # Django reads (so parses) every header to find address headers with non-ASCII domains; an
        # ASCII-only set of addresses has none, so there is nothing to look for.
        addresses = (self.from_email, *self.to, *self.cc, *self.reply_to, *self.extra_headers.values())
        if not all(str(value).isascii() for value in addresses):
            super()._idna_encode_address_header_domains(msg)


def email_message(row: Notification, message: Message) -> NotificationEmail:
    host = urlsplit(settings.SITE_URL).hostname or "taskforce.local"
    mail = NotificationEmail(
        subject=clean_header(message.subject),
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.recipient.email],
        headers={
            # As Django would add it (UTC), but as text, which is stored as is (see _NotificationPolicy).
            "Date": format_datetime(timezone.now()),
            # Stable per row: a resend after a crash (see _send_claimed) carries the same Message-ID.
            "Message-ID": f"<notification-{row.pk}@{host}>",
            "X-Taskforce-Notification": str(row.pk),
            "X-Taskforce-Kind": row.kind,
            "Auto-Submitted": "auto-generated",
        },
    )
    if message.html:
        mail.attach_alternative(clean_html(message.html), "text/html")
    for filename, content, mimetype in message.attachments:
        mail.attach(clean_header(filename, max_length=100), content, mimetype)
    return mail


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
