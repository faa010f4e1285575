"""Backup and restore, exactly as SECURITY.md tells a deployer to do them, against a real PostgreSQL.

The shell blocks marked `sh backup-test:<step>` in SECURITY.md are extracted and run as written, so the
document cannot drift from what works. The live database is built the deployed way (schema, then
`manage.py migrate`, then data through the services in a separate process), dumped, dropped (the disaster),
restored into a fresh database, verified, and served by gunicorn: a restored person signs in and reads a
case narrative, which only decrypts with the key kept beside the backup, and downloads a document whose file
came back from the separate archive of uploads.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.cases.world import SUMMARY_SECRET
from tests.cast import PASSWORD
from tests.reliability.conftest import (
    BASE_DIR,
    AppServer,
    PostgresCluster,
    WebClient,
    clone_test_schema,
    run_django,
    service_env,
)

pytestmark = pytest.mark.postgres

SECURITY_MD = BASE_DIR / "SECURITY.md"

# A library document's bytes: a file in PRIVATE_MEDIA_ROOT, which the database dump does not hold.
DOCUMENT = "Harbor County response protocol, version 3: call the on-call CAC advocate first.\n"

# `manage.py migrate`, then the deployed data, built through the real services: the test cast, a case whose
# narrative is encrypted, the audit rows those services write, and an uploaded document. One process (Django
# starts in seconds, not milliseconds). Prints what the test needs to find it all again after the restore.
SEED = f"""
import json
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from members import comms
from taskforce.models import AuditEvent
from tests.cases.world import make_case
from tests.cast import build_cast

call_command("migrate", "--noinput", verbosity=0)  # as the web container runs it before it serves
cast = build_cast()
case = make_case(cast)
document = comms.document_create(
    taskforce=cast.taskforce, actor=cast.coordinator, title="Response protocol", description="",
    kind="protocol", tier="all", upload=SimpleUploadedFile("protocol.txt", {DOCUMENT!r}.encode()),
)
slug = cast.taskforce.slug
print(json.dumps({{
    "email": cast.liaison_b.email,
    "case_id": str(case.pk),
    "case_url": reverse("cases:detail", kwargs={{"slug": slug, "pk": case.pk}}),
    "case_audit": AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).count(),
    "document_url": reverse("members:document_download", kwargs={{"slug": slug, "pk": document.pk}}),
}}))
"""


def documented_step(name: str) -> str:
    """The body of the one ```sh backup-test:<name>``` block in SECURITY.md."""
    blocks = re.findall(r"^```sh backup-test:(\S+)\n(.*?)^```$", SECURITY_MD.read_text(), flags=re.M | re.S)
    bodies = [body for step, body in blocks if step == name]
    assert len(bodies) == 1, f"SECURITY.md must have exactly one `sh backup-test:{name}` block, found {len(bodies)}"
    return bodies[0]


def run_documented(name: str, env: dict[str, str]) -> None:
    # bash -e: every line of the block must succeed, as a deployer pasting it would notice.
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", documented_step(name)],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"SECURITY.md step {name} failed:\n{result.stdout}\n{result.stderr}"


def audit_count(cluster: PostgresCluster, database: str, object_id: str = "") -> int:
    where = f" WHERE object_type = 'cases.case' AND object_id = '{object_id}'" if object_id else ""
    return int(cluster.psql(f"SELECT count(*) FROM taskforce_auditevent{where}", dbname=database))  # noqa: S608 (our ids)


def test_the_documented_backup_restores_into_a_fresh_database_that_the_app_serves(
    private_postgres: PostgresCluster, tmp_path: Path, db
) -> None:
    cluster = private_postgres
    key = Fernet.generate_key().decode()
    app_settings = {"FIELD_ENCRYPTION_KEYS": key, "SECRET_KEY": secrets.token_urlsafe(45), "DEBUG": "1"}

    # The live database: the test database's schema and migration history, then `migrate` as a deployment
    # runs it (here only content types and permissions; migrating from nothing takes most of a minute).
    live_url = clone_test_schema(cluster, "taskforce_live")
    live_media, restored_media = tmp_path / "live-media", tmp_path / "restored-media"
    live_env = service_env(
        database_url=live_url, redis_url="", mail_dir=tmp_path / "mail", **app_settings,
        PRIVATE_MEDIA_ROOT=str(live_media), EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )  # fmt: skip
    seeded = json.loads(run_django(SEED, env=live_env).strip().splitlines()[-1])
    assert seeded["case_audit"] > 0
    audit_rows = audit_count(cluster, "taskforce_live")

    # libpq's environment names the server, as SECURITY.md says; `python` is this venv's.
    shell_env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(cluster.port),
        "PGUSER": "postgres",
        "TASKFORCE_DB": "taskforce_live",
        "BACKUP_FILE": str(tmp_path / "taskforce.dump"),
        "RESTORE_DB": "taskforce_restored",
        "PRIVATE_MEDIA_ROOT": str(live_media),
        "MEDIA_BACKUP_FILE": str(tmp_path / "media.tar.gz"),
    }
    run_documented("dump", shell_env)
    run_documented("media-dump", shell_env)

    # The dump carries the narrative only as ciphertext: without the key kept apart, it reveals nothing.
    as_sql = subprocess.run(
        ["pg_restore", "--file=-", shell_env["BACKUP_FILE"]], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "fernet:" in as_sql
    assert SUMMARY_SECRET not in as_sql and "bus station" not in as_sql

    # The disaster: the live database and files are gone, so whatever the app serves next came from the backup.
    cluster.psql('DROP DATABASE "taskforce_live"')
    shutil.rmtree(live_media)
    run_documented("restore", shell_env)
    run_documented("media-restore", {**shell_env, "PRIVATE_MEDIA_ROOT": str(restored_media)})
    restored_url = cluster.url("taskforce_restored")
    assert audit_count(cluster, "taskforce_restored") == audit_rows
    # The audit trail's append-only trigger came back with the schema (taskforce migration 0005).
    with pytest.raises(subprocess.CalledProcessError) as refused:
        cluster.psql("UPDATE taskforce_auditevent SET action = 'edited'", dbname="taskforce_restored")
    assert "append-only" in refused.value.stderr

    run_documented("verify", {**shell_env, **app_settings, "DATABASE_URL": restored_url})

    app = AppServer(
        tmp_path, database_url=restored_url, redis_url="", PRIVATE_MEDIA_ROOT=str(restored_media), **app_settings
    )
    try:
        client = WebClient(app.base_url)
        client.sign_in(seeded["email"], PASSWORD)  # the password hash came back with the data
        status, body, _ = client.get(seeded["case_url"])
        assert status == 200, app.output()
        assert SUMMARY_SECRET in body  # decrypted with the key kept beside the backup
        status, body, _ = client.get(seeded["document_url"])
        assert (status, body) == (200, DOCUMENT), app.output()
    finally:
        app.stop()
    # The restored database takes new writes (its sequences came back too): the read was audited.
    assert audit_count(cluster, "taskforce_restored", seeded["case_id"]) > seeded["case_audit"]
