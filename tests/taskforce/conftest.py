"""Fixtures for the notification, Celery worker and PDF tests."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from taskforce import notifications
from taskforce.celery import app as celery_app

_emails = itertools.count(1)


@pytest.fixture
def make_recipient(db):
    from members.models import User

    def make(**extra):
        n = next(_emails)
        extra.setdefault("full_name", f"Person {n}")
        return User.objects.create_user(f"person{n}@example.org", "correct horse battery", **extra)

    return make


@pytest.fixture
def recipient_user(make_recipient):
    return make_recipient(full_name="Alice Agent")


@pytest.fixture
def topic(recipient_user):
    """Anything saved can be a notification's subject; a user is the one model we always have."""
    return recipient_user


@pytest.fixture
def ping_kind(monkeypatch):
    """A kind whose renderer can be told to fail or to call it off; restored after the test."""

    class Ping:
        kind = "tests.ping"
        fail_with: Exception | None = None
        cancel = False
        rendered: list[int] = []

        def __call__(self, row):
            self.rendered.append(row.pk)
            if self.fail_with is not None:
                raise self.fail_with
            if self.cancel:
                return None
            return notifications.Message(
                subject=f"Ping {row.context.get('title', '')}",
                body=f"Ping for {row.recipient.full_name}",
                html=row.context.get("html"),
            )

    ping = Ping()
    ping.rendered = []
    monkeypatch.setitem(notifications._renderers, ping.kind, ping)
    return ping


@pytest.fixture
def past():
    return timezone.now() - timedelta(minutes=5)


@pytest.fixture
def broker_down(unused_tcp_port_closed):
    """Point the real Celery app at a port nobody listens on, not eager: what a Redis outage looks like."""
    conf = celery_app.conf
    saved = {key: conf[key] for key in ("broker_url", "task_always_eager", "broker_transport_options")}
    conf.update(
        broker_url=f"redis://127.0.0.1:{unused_tcp_port_closed}/0",
        task_always_eager=False,
        broker_transport_options={"socket_connect_timeout": 1, "socket_timeout": 1},
    )
    _drop_broker_pool()
    yield
    conf.update(saved)
    _drop_broker_pool()


@pytest.fixture
def eager_celery():
    conf = celery_app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = True
    yield
    conf.task_always_eager = saved


def _drop_broker_pool() -> None:
    # Celery caches its producer pool per broker URL; forget it so the next publish uses the new URL.
    celery_app._after_fork()


@pytest.fixture
def unused_tcp_port_closed() -> int:
    """A port that refuses connections: bound by us a moment ago, then released without listening."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
