"""The audit table is append-only on PostgreSQL, for the application's role too (migration taskforce/0005).

Rows can be inserted; no UPDATE, DELETE or (but for a superuser, see the migration) TRUNCATE gets through, so
nothing the application does can shorten the CJIS retention of at least 365 days. Deleting a user or a task
force that has audit rows still works and leaves the rows as they were.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, models, transaction

from members.models import User
from taskforce import audit
from taskforce.models import AuditEvent
from taskforce.services import taskforce_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TABLE = AuditEvent._meta.db_table
APP_DIRS = ("taskforce", "members", "mous", "meetings", "cases")


def refused(sql: str, params: tuple = ()) -> None:
    """The statement fails with the trigger's refusal; the savepoint keeps the test's transaction usable."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def event(cast) -> AuditEvent:
    return audit.record("test.event", actor=cast.coordinator, obj=cast.taskforce, note="original")


def test_rows_can_be_added_but_not_changed_or_removed_by_the_app_connection(cast, event):
    assert connection.vendor == "postgresql"
    # Inserting is what the application does all day.
    second = audit.record("test.second", actor=cast.liaison_a, obj=cast.taskforce)
    assert AuditEvent.objects.filter(pk__in=[event.pk, second.pk]).count() == 2

    # Through the ORM, the way application code would.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="test.rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.detail = {"note": "rewritten"}
        event.save()
    # And in SQL.
    refused(f"UPDATE {TABLE} SET actor_label = %s WHERE id = %s", ("someone else", event.pk))  # noqa: S608
    refused(f"DELETE FROM {TABLE} WHERE id = %s", (event.pk,))  # noqa: S608

    kept = AuditEvent.objects.get(pk=event.pk)
    assert (kept.action, kept.actor_id, kept.detail) == ("test.event", cast.coordinator.pk, {"note": "original"})


def test_a_non_superuser_role_with_every_table_privilege_is_refused_too(event):
    """Production-like: the app's role is no superuser, and may even own every privilege on the table."""
    role = f"taskforce_audit_probe_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        # Roles are transactional in PostgreSQL: this one vanishes with the test's rolled-back transaction.
        cursor.execute(f"CREATE ROLE {role} NOSUPERUSER")
        cursor.execute(f"GRANT ALL ON {TABLE} TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")
        try:
            refused(f"UPDATE {TABLE} SET action = 'x' WHERE id = %s", (event.pk,))  # noqa: S608
            refused(f"DELETE FROM {TABLE} WHERE id = %s", (event.pk,))  # noqa: S608
            refused(f"TRUNCATE {TABLE}")
            cursor.execute(f"SELECT count(*) FROM {TABLE} WHERE id = %s", (event.pk,))  # noqa: S608
            assert cursor.fetchone() == (1,)
        finally:
            cursor.execute("RESET ROLE")


def test_deleting_a_user_with_audit_rows_keeps_the_rows(cast, event, client_for):
    user = User.objects.create_user("leaver@example.org", "correct horse battery", full_name="Lee Leaver")
    theirs = [audit.record("test.by_leaver", actor=user, obj=cast.taskforce) for _ in range(3)]
    before = list(AuditEvent.objects.filter(pk__in=[e.pk for e in theirs]).values())
    user_pk = user.pk

    user.delete()  # the old SET_NULL would UPDATE these rows, which the trigger refuses

    assert not User.objects.filter(pk=user_pk).exists()
    after = list(AuditEvent.objects.filter(pk__in=[e.pk for e in theirs]).values())
    assert after == before
    assert {row["actor_id"] for row in after} == {user_pk}
    assert {row["actor_label"] for row in after} == {"leaver@example.org"}
    # The audit log still renders them, with the name the row kept.
    response = client_for(cast.admin).get("/audit/", {"q": "leaver@example.org"})
    assert response.status_code == 200
    assert response.content.decode().count("leaver@example.org") >= 3


def test_deleting_a_task_force_with_audit_rows_keeps_the_rows(cast):
    doomed = taskforce_create(actor=cast.admin, name="Short-lived")  # audits its own creation
    rows = [audit.record("test.about_tf", actor=cast.admin, obj=doomed) for _ in range(2)]
    rows += list(AuditEvent.objects.filter(taskforce=doomed).exclude(pk__in=[r.pk for r in rows]))
    doomed_pk = doomed.pk

    doomed.delete()

    assert sorted(AuditEvent.objects.filter(taskforce_id=doomed_pk).values_list("pk", flat=True)) == sorted(
        r.pk for r in rows
    )


def test_nothing_in_the_application_removes_or_rewrites_audit_rows():
    """The trigger refuses it at run time; this keeps code that would try from being written at all."""
    # No deletion anywhere cascades into, or nulls, an audit row.
    for field in AuditEvent._meta.get_fields():
        if field.is_relation and field.many_to_one:
            assert field.remote_field.on_delete is models.DO_NOTHING, field
            assert field.db_constraint is False, field
    # Nothing points at an audit row (a cascade from it would delete the row it points from, not ours, but a
    # reference would tempt someone into "cleaning up").
    assert not [f for f in AuditEvent._meta.get_fields() if f.auto_created and not f.concrete]

    offenders = []
    pattern = re.compile(
        r"AuditEvent\b[^\n]*\.(delete|update|bulk_update|update_or_create|save)\(|"
        r"(DELETE\s+FROM|UPDATE|TRUNCATE)\s+\"?taskforce_auditevent",
        re.IGNORECASE,
    )
    for app_dir in APP_DIRS:
        for path in (Path(settings.BASE_DIR) / app_dir).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path}:{number}: {line.strip()}")
    assert offenders == []
