"""The audit table is append-only on PostgreSQL (issue #9; CJIS 5.4: audit records kept at least 365 days).

A trigger refuses UPDATE and DELETE of any row, whoever asks, the application's own role included. TRUNCATE
is refused too, except for a superuser: a superuser can drop the trigger anyway, so refusing it protects
nothing, while the test suite's flush between transactional tests (TRUNCATE, as the postgres superuser)
needs it. The application's role in production is not a superuser (SECURITY.md), so it can do none of the
three. The two foreign keys lose their database constraint and become DO_NOTHING, so deleting a user or a
task force leaves the rows alone instead of nulling them (which the trigger would refuse).

SQLite (the embedded demo) has no such protection: a no-op there.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


FUNCTION = """
CREATE OR REPLACE FUNCTION taskforce_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'taskforce_auditevent is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$$;
"""
TRIGGERS = """
CREATE TRIGGER taskforce_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON taskforce_auditevent
    FOR EACH ROW EXECUTE FUNCTION taskforce_auditevent_append_only();
CREATE TRIGGER taskforce_auditevent_no_truncate
    BEFORE TRUNCATE ON taskforce_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION taskforce_auditevent_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS taskforce_auditevent_no_truncate ON taskforce_auditevent;
DROP TRIGGER IF EXISTS taskforce_auditevent_no_update_delete ON taskforce_auditevent;
DROP FUNCTION IF EXISTS taskforce_auditevent_append_only();
"""


def protect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(TRIGGERS)


def unprotect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('taskforce', '0004_health_snapshots'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='actor',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='taskforce',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='taskforce.taskforce'),
        ),
        migrations.RunPython(protect, unprotect),
    ]
