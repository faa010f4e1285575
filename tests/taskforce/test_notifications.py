"""The notification rows, the sweep that sends them, and the ways it must not send."""

from __future__ import annotations

import copy
import logging
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from taskforce import notifications
from taskforce.models import Notification

pytestmark = pytest.mark.django_db


def use_mailer(settings, backend: str, **options) -> None:
    """Django 6.1's MAILERS, which wins over the deprecated EMAIL_* settings whichever the project uses."""
    settings.MAILERS = {"default": {"BACKEND": f"django.core.mail.backends.{backend}.EmailBackend", "OPTIONS": options}}


def closed_smtp(settings, port: int) -> None:
    use_mailer(settings, "smtp", host="127.0.0.1", port=port, use_tls=False, timeout=2)


def test_it_sends_a_due_notification_once_and_marks_it_sent(ping_kind, recipient_user, topic, past, mailoutbox):
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)

    assert notifications.sweep() == 1
    assert notifications.sweep() == 0

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["person1@example.org"] or email.to == [recipient_user.email]
    assert email.subject == "Ping"
    assert email.body == "Ping for Alice Agent"
    assert email.extra_headers["X-Taskforce-Notification"] == str(row.pk)
    assert email.extra_headers["Message-ID"].startswith(f"<notification-{row.pk}@")
    row.refresh_from_db()
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.last_error == ""


def test_it_does_not_send_before_the_due_time(ping_kind, recipient_user, topic, mailoutbox):
    later = timezone.now() + timedelta(hours=2)
    notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=later)

    assert notifications.sweep() == 0
    assert notifications.sweep(now=later) == 1
    assert len(mailoutbox) == 1


def test_scheduling_twice_is_a_noop(ping_kind, recipient_user, topic, past):
    first = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    with transaction.atomic():
        # Inside the caller's transaction the conflict must not poison it (a savepoint absorbs it).
        again = notifications.schedule(
            kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past + timedelta(minutes=1)
        )
        assert Notification.objects.count() == 1

    assert isinstance(first, Notification)
    assert again is None
    assert Notification.objects.get().due_at == past


def test_another_due_date_is_another_notification(ping_kind, recipient_user, topic, past):
    notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    tomorrow = notifications.schedule(
        kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past + timedelta(days=1)
    )

    assert tomorrow is not None
    assert Notification.objects.count() == 2


def test_due_on_is_the_utc_date(ping_kind, recipient_user, topic):
    import zoneinfo
    from datetime import date, datetime

    # 22:30 in New York on 1 March is 03:30 UTC on 2 March.
    ny = datetime(2026, 3, 1, 22, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=ny)

    assert row.due_on == date(2026, 3, 2)
    assert row.subject_type == "members.user"
    assert row.subject_id == str(topic.pk)


def test_it_refuses_unknown_kinds_and_naive_datetimes(recipient_user, topic, past, ping_kind):
    with pytest.raises(LookupError):
        notifications.schedule(kind="tests.typo", subject=topic, recipient=recipient_user, due_at=past)
    with pytest.raises(ValueError, match="aware"):
        notifications.schedule(
            kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past.replace(tzinfo=None)
        )


def test_a_kind_cannot_be_claimed_twice(ping_kind):
    notifications.register(ping_kind.kind, ping_kind)  # same renderer again: fine (ready() may run twice)
    with pytest.raises(ValueError, match="already registered"):
        notifications.register(ping_kind.kind, lambda row: None)


def test_cancelled_rows_are_not_sent(ping_kind, recipient_user, make_recipient, topic, past, mailoutbox):
    bob = make_recipient(full_name="Bob")
    notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=bob, due_at=past)

    assert notifications.cancel(kind="tests.other", subject=topic) == 0
    assert notifications.cancel(kind=ping_kind.kind, subject=topic, recipient=bob) == 1
    assert notifications.sweep() == 1
    assert notifications.cancel(subject=topic) == 0  # Alice's was sent: nothing left to cancel

    assert [m.to for m in mailoutbox] == [[recipient_user.email]]
    assert Notification.objects.get(recipient=bob).cancelled_at is not None


def test_a_renderer_returning_none_cancels_the_row(ping_kind, recipient_user, topic, past, mailoutbox):
    ping_kind.cancel = True
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)

    assert notifications.sweep() == 0
    assert notifications.sweep() == 0

    row.refresh_from_db()
    assert row.cancelled_at is not None
    assert row.sent_at is None
    assert ping_kind.rendered == [row.pk]  # rendered once, then never looked at again
    assert mailoutbox == []


def test_inactive_recipients_are_not_sent_to(ping_kind, make_recipient, topic, past, mailoutbox):
    gone = make_recipient(is_active=False)
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=gone, due_at=past)

    assert notifications.sweep() == 0

    row.refresh_from_db()
    assert row.cancelled_at is not None
    assert "inactive" in row.last_error
    assert ping_kind.rendered == []
    assert mailoutbox == []


def test_a_kind_may_be_meant_for_inactive_people(ping_kind, make_recipient, topic, past, mailoutbox, monkeypatch):
    monkeypatch.setattr(notifications, "_to_inactive_ok", set())
    monkeypatch.setitem(notifications._renderers, "tests.reinvite", ping_kind)  # removed after the test
    notifications.register("tests.reinvite", ping_kind, to_inactive=True)
    returning = make_recipient(is_active=False)
    notifications.schedule(kind="tests.reinvite", subject=topic, recipient=returning, due_at=past)
    notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=returning, due_at=past)

    assert notifications.sweep() == 1

    assert Notification.objects.get(kind="tests.reinvite").sent_at is not None
    assert Notification.objects.get(kind=ping_kind.kind).cancelled_at is not None
    assert [m.to for m in mailoutbox] == [[returning.email]]


def test_a_failed_send_is_retried_with_backoff_then_given_up(
    ping_kind, recipient_user, topic, past, settings, unused_tcp_port_closed, caplog
):
    closed_smtp(settings, unused_tcp_port_closed)  # a real SMTP connection that is refused
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    now = timezone.now()

    assert notifications.sweep(now=now) == 0
    row.refresh_from_db()
    assert row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error
    assert row.sent_at is None and row.cancelled_at is None
    assert row.due_at == now + timedelta(minutes=1)
    assert notifications.sweep(now=now) == 0  # backing off: not retried in the same minute
    assert Notification.objects.get().attempts == 1

    while row.attempts < notifications.MAX_ATTEMPTS:
        now = row.due_at
        notifications.sweep(now=now)
        row.refresh_from_db()
    assert row.due_at - now == notifications.RETRY_BACKOFF_CAP

    # Given up: even with mail working again and the clock far ahead, the sweep leaves it alone.
    use_mailer(settings, "locmem")
    assert notifications.sweep(now=now + timedelta(days=2)) == 0
    row.refresh_from_db()
    assert row.attempts == notifications.MAX_ATTEMPTS
    assert row.sent_at is None
    assert any("attempt 8 of 8" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def test_a_row_that_failed_is_sent_when_mail_works_again(
    ping_kind, recipient_user, topic, past, settings, unused_tcp_port_closed
):
    closed_smtp(settings, unused_tcp_port_closed)
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    now = timezone.now()
    assert notifications.sweep(now=now) == 0

    use_mailer(settings, "locmem")
    mail.outbox = []
    assert notifications.sweep(now=now + timedelta(minutes=1)) == 1

    row.refresh_from_db()
    assert row.attempts == 2
    assert row.last_error == ""
    assert len(mail.outbox) == 1


def test_a_renderer_that_raises_counts_as_a_failed_attempt(ping_kind, recipient_user, topic, past, mailoutbox):
    ping_kind.fail_with = RuntimeError("template bug")
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)

    assert notifications.sweep() == 0

    row.refresh_from_db()
    assert row.attempts == 1
    assert row.last_error == "RuntimeError: template bug"
    assert mailoutbox == []


def test_rows_of_an_unregistered_kind_are_failed_not_sent(recipient_user, topic, past, mailoutbox):
    row = Notification.objects.create(
        kind="tests.removed", subject_type="members.user", subject_id=str(topic.pk), recipient=recipient_user,
        due_on=past.date(), due_at=past,
    )  # fmt: skip

    assert notifications.sweep() == 0

    row.refresh_from_db()
    assert row.attempts == 1
    assert "no renderer" in row.last_error


def test_user_text_cannot_add_email_headers(ping_kind, recipient_user, topic, past, mailoutbox):
    notifications.schedule(
        kind=ping_kind.kind,
        subject=topic,
        recipient=recipient_user,
        due_at=past,
        context={"title": "Agenda\r\nBcc: everyone@example.org\nX-Evil: 1", "html": None},
    )

    assert notifications.sweep() == 1

    message = mailoutbox[0].message()
    assert message["Subject"] == "Ping Agenda Bcc: everyone@example.org X-Evil: 1"
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert mailoutbox[0].recipients() == [recipient_user.email]


def test_html_bodies_are_sanitised(ping_kind, recipient_user, topic, past, mailoutbox):
    html = '<p onclick="steal()">Hi <a href="javascript:alert(1)">x</a></p><script>alert(1)</script><img src="https://evil.example/t.gif"><a href="https://ok.example/">ok</a>'
    notifications.schedule(
        kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past, context={"html": html}
    )

    assert notifications.sweep() == 1

    (body, mimetype) = mailoutbox[0].alternatives[0]
    assert mimetype == "text/html"
    assert "<script" not in body and "onclick" not in body and "<img" not in body and "javascript:" not in body
    assert '<a href="https://ok.example/" rel="noopener noreferrer">ok</a>' in body


def test_the_notice_kind_renders_the_shared_email_layout(make_recipient, recipient_user, topic, past, mailoutbox):
    tom = make_recipient(full_name="Tom <b>& Jerry</b>")
    notifications.schedule(
        kind=notifications.NOTICE_KIND,
        subject=topic,
        recipient=tom,
        due_at=past,
        context={"subject": "Room change", "body": "Meet in room 2 <today> & bring IDs"},
    )

    assert notifications.sweep() == 1

    email = mailoutbox[0]
    assert email.subject == "Room change"
    # Plain text is not HTML-escaped ...
    assert email.body.startswith("Hello Tom <b>& Jerry</b>,\n\nMeet in room 2 <today> & bring IDs\n")
    # ... and the HTML part is.
    html = email.alternatives[0][0]
    assert "Tom &lt;b&gt;&amp; Jerry&lt;/b&gt;" in html
    assert "Meet in room 2 &lt;today&gt; &amp; bring IDs" in html


def test_a_notice_without_words_is_cancelled(recipient_user, topic, past, mailoutbox):
    row = notifications.schedule(
        kind=notifications.NOTICE_KIND, subject=topic, recipient=recipient_user, due_at=past, context={"subject": "x"}
    )

    assert notifications.sweep() == 0
    row.refresh_from_db()
    assert row.cancelled_at is not None


def test_sweep_respects_its_limit_and_sweep_all_loops(ping_kind, make_recipient, topic, past, mailoutbox):
    for _ in range(5):
        notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=make_recipient(), due_at=past)

    assert notifications.sweep(limit=2) == 2
    assert notifications.sweep_all(limit=2) == 3
    assert len(mailoutbox) == 5


def test_sweep_all_stops_when_its_time_budget_is_spent(ping_kind, recipient_user, topic, past, mailoutbox):
    notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)

    assert notifications.sweep_all(budget_seconds=0) == 0
    assert notifications.sweep_all() == 1


def test_get_subject_finds_the_object_or_none(ping_kind, recipient_user, topic, past):
    # Any saved model can be a subject; another notification is one whose deletion cascades nowhere.
    other = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    row = notifications.schedule(kind=ping_kind.kind, subject=other, recipient=recipient_user, due_at=past)

    assert notifications.get_subject(row) == other
    other.delete()
    assert notifications.get_subject(row) is None


# --- the lease, the batch and the mail session -----------------------------------------------------------


def test_a_claimed_row_waits_out_its_lease_before_another_sweep_sends_it(
    ping_kind, recipient_user, topic, past, mailoutbox
):
    """A worker that died holding a claim: nobody sends its rows until the lease runs out, then one does."""
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    now = timezone.now()
    assert [claimed.pk for claimed in notifications._claim(now, 10)] == [row.pk]  # ... and the worker dies

    assert notifications.sweep(now=now) == 0
    assert notifications.sweep(now=now + notifications.SWEEP_LEASE - timedelta(seconds=1)) == 0
    assert notifications.sweep(now=now + notifications.SWEEP_LEASE) == 1

    row.refresh_from_db()
    assert len(mailoutbox) == 1
    assert row.attempts == 2  # the dead worker's claim counts: a row that kills workers is given up on
    assert row.due_at == now + notifications.SWEEP_LEASE  # when the second claim found it due


def test_a_sent_or_cancelled_row_keeps_its_due_time(ping_kind, recipient_user, make_recipient, topic, past):
    sent = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    gone = make_recipient(is_active=False)
    cancelled = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=gone, due_at=past)

    assert notifications.sweep() == 1

    sent.refresh_from_db()
    cancelled.refresh_from_db()
    assert (sent.due_at, sent.attempts) == (past, 1)
    assert (cancelled.due_at, cancelled.attempts) == (past, 0)  # cancelling is not an attempt
    assert cancelled.cancelled_at is not None


def test_celerys_soft_time_limit_hands_the_unsent_rest_of_the_batch_back(
    ping_kind, make_recipient, topic, past, mailoutbox
):
    from celery.exceptions import SoftTimeLimitExceeded

    rows = [
        notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=make_recipient(), due_at=past)
        for _ in range(3)
    ]
    ping_kind.fail_with = SoftTimeLimitExceeded()
    now = timezone.now()

    with pytest.raises(SoftTimeLimitExceeded):
        notifications.sweep(now=now)

    # Due again at once (not after the lease), and the interrupted claim is not counted as an attempt.
    assert [(r.due_at, r.attempts, r.last_error) for r in Notification.objects.order_by("pk")] == [(now, 0, "")] * 3
    ping_kind.fail_with = None
    assert notifications.sweep() == 3
    assert sorted(m.to[0] for m in mailoutbox) == sorted(r.recipient.email for r in rows)


class CountingBackend(locmem.EmailBackend):
    """The test outbox, counting the sessions it is asked to open."""

    opened = 0

    def open(self):
        type(self).opened += 1
        return super().open()


def test_one_sweep_sends_everything_over_one_mail_session(ping_kind, make_recipient, topic, past, settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.CountingBackend", "OPTIONS": {}}}
    CountingBackend.opened = 0
    mail.outbox = []
    for _ in range(3):
        notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=make_recipient(), due_at=past)

    assert notifications.sweep() == 3

    assert len(mail.outbox) == 3
    assert CountingBackend.opened == 3  # asked before each send: the first opens, the others find it open


def test_the_notification_email_is_djangos_email_faster(recipient_user):
    """NotificationEmail writes what EmailMultiAlternatives writes, non-ASCII and long headers included."""
    from email import message_from_bytes
    from email.policy import SMTP, default

    from django.core.mail import EmailMultiAlternatives

    row = Notification(pk=41, kind="tests.ping", recipient=recipient_user)
    long_subject = "Réunion du groupe de travail " + "sur la traite des êtres humains " * 4
    for subject in ("Agenda for Tuesday", long_subject):
        ours = notifications.email_message(
            row, notifications.Message(subject=subject, body="Voilà: 5 € & <b>", html="<p>Voilà</p>")
        )
        theirs = copy.copy(ours)
        theirs.__class__ = EmailMultiAlternatives

        wire = ours.message(policy=SMTP).as_bytes()
        assert max(len(line) for line in wire.split(b"\r\n")) <= 78
        assert wire.split(b"\r\n\r\n", 1)[0].isascii()  # the headers: RFC 2047 for the non-ASCII subject
        read, expected = (message_from_bytes(m.message(policy=SMTP).as_bytes(), policy=default) for m in (ours, theirs))
        assert read["Subject"] == notifications.clean_header(subject)
        assert [(k, str(v)) for k, v in read.items() if k != "Content-Type"] == [
            (k, str(v)) for k, v in expected.items() if k != "Content-Type"
        ]
        assert read.get_content_type() == expected.get_content_type() == "multipart/alternative"
        assert [(p.get_content_type(), p.get_content()) for p in read.iter_parts()] == [
            (p.get_content_type(), p.get_content()) for p in expected.iter_parts()
        ]


# --- queue_sweep ------------------------------------------------------------------------------------------


def test_queue_sweep_with_eager_celery_sends_in_process_after_commit(
    eager_celery, ping_kind, recipient_user, topic, past, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
            notifications.queue_sweep()
            notifications.queue_sweep()  # once per transaction is enough
            assert mailoutbox == []  # nothing is sent before the commit

    assert len(callbacks) == 1
    assert len(mailoutbox) == 1


# --- schedulers and the command -----------------------------------------------------------------------


def test_schedulers_run_in_their_own_transactions(ping_kind, recipient_user, topic, past, monkeypatch, caplog):
    seen = []

    def broken(now):
        notifications.schedule(kind=ping_kind.kind, subject=recipient_user, recipient=recipient_user, due_at=past)
        raise RuntimeError("scheduler bug")

    def working(now):
        seen.append(now)
        notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=now)

    monkeypatch.setattr(notifications, "_schedulers", [])
    notifications.register_scheduler(broken)
    notifications.register_scheduler(working)
    notifications.register_scheduler(working)  # registering twice does not run it twice

    assert notifications.run_schedulers(past) == 1

    assert seen == [past]
    assert Notification.objects.get().due_at == past  # the broken scheduler's row was rolled back
    assert "scheduler bug" in caplog.text


def test_the_command_runs_schedulers_then_sends(
    ping_kind, recipient_user, topic, past, monkeypatch, mailoutbox, capsys
):
    monkeypatch.setattr(notifications, "_schedulers", [])
    notifications.register_scheduler(
        lambda now: notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    )

    call_command("send_due_notifications")
    assert capsys.readouterr().out.strip() == "Sent 1 notification."
    call_command("send_due_notifications")
    assert capsys.readouterr().out.strip() == "Sent 0 notifications."

    assert len(mailoutbox) == 1


def test_the_celery_tasks_are_named_for_the_beat_schedule(settings):
    from taskforce import tasks

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert names == {
        tasks.send_due_notifications.name,
        tasks.schedule_notifications.name,
        tasks.warm_health_dashboards.name,
    }


# --- row locking (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_another_sweep_is_skipped_not_waited_for(ping_kind, recipient_user, topic, past, mailoutbox):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    row = notifications.schedule(kind=ping_kind.kind, subject=topic, recipient=recipient_user, due_at=past)
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=row.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        assert notifications.sweep() == 0
        assert time.monotonic() - started < 2  # SKIP LOCKED: no waiting on the other transaction
    finally:
        release.set()
        thread.join()

    assert notifications.sweep() == 1
    assert len(mailoutbox) == 1
