"""Deployment: the settings under real environments (each case a fresh process, as a deployment would start
one), the key rotation procedures of SECURITY.md, and the checks CI must keep running.

Backup and restore as SECURITY.md documents them is tests/reliability/test_backup_restore.py.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.urls import reverse

from cases.management.commands.rotate_encryption_keys import encrypted_models
from tests.cases.world import build_world
from tests.cast import Cast

ROOT = Path(__file__).resolve().parents[2]
# Only what the interpreter needs: the point is to see which settings come from the environment.
KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_VERSION")


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "ALLOWED_HOSTS": "taskforce.example.org",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **overrides,
    }
    return {key: value for key, value in env.items() if value is not None}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {key: os.environ[key] for key in KEEP if key in os.environ}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "taskforce.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off() -> None:
    env = production_env()
    del env["SECRET_KEY"]

    result = run("manage.py", "check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_it_refuses_a_short_secret_key_in_production() -> None:
    result = run("manage.py", "check", env=production_env(SECRET_KEY="too-short"))

    assert result.returncode != 0
    assert "SECRET_KEY must be a random string of at least 50 characters." in result.stderr


def test_the_production_environment_passes_the_deployment_checklist() -> None:
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_collectstatic_succeeds_under_production_storage(tmp_path: Path) -> None:
    # The web container runs collectstatic on start; the manifest storage fails on any dangling reference.
    result = run("manage.py", "collectstatic", "--noinput", env=production_env(STATIC_ROOT=str(tmp_path)))

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "staticfiles.json").is_file()


def test_the_embedded_default_needs_no_services() -> None:
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'], "
        "'eager': s.CELERY_TASK_ALWAYS_EAGER, 'email': s.MAILERS['default']['BACKEND'], 'mfa': s.REQUIRE_MFA}))"
    )

    result = run("-c", probe, env={})

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "debug": True,
        "engine": "django.db.backends.sqlite3",
        "eager": True,
        "email": "django.core.mail.backends.console.EmailBackend",
        "mfa": False,
    }


def test_the_old_secret_key_can_be_kept_as_a_fallback_from_the_environment() -> None:
    old = secrets.token_urlsafe(45)
    probe = "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(s.SECRET_KEY_FALLBACKS))"

    result = run("-c", probe, env=production_env(SECRET_KEY_FALLBACKS=old))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [old]


# --- the CI steps: cheap insurance that nobody drops or softens them ---------------------------------------


def ci_commands() -> list[str]:
    """The commands of .ci/run, continuation lines joined, comments dropped."""
    text = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_ci_runs_the_deployment_checklist_and_the_dependency_audit() -> None:
    commands = ci_commands()
    assert "set -euo pipefail" in commands  # a failing step fails the run

    deploy = [c for c in commands if "manage.py check --deploy" in c]
    assert len(deploy) == 1 and "--fail-level WARNING" in deploy[0] and "DEBUG=0" in deploy[0]

    audit = [c for c in commands if c == ".venv/bin/python .ci/audit_dependencies.py"]
    assert len(audit) == 1
    for command in (*deploy, *audit):
        assert "|| true" not in command and "|| :" not in command


# --- key rotation, as SECURITY.md documents it -------------------------------------------------------------


def every_model_with_encrypted_fields() -> dict[str, tuple[type[models.Model], list[str], list[str]]]:
    """label -> (model, encrypted attnames, the other concrete attnames)."""
    return {
        model._meta.label: (
            model,
            [f.attname for f in fields],
            [f.attname for f in model._meta.concrete_fields if f not in fields],
        )
        for model, fields in encrypted_models()
    }


def snapshot(which: int) -> dict[str, list[dict]]:
    """Every row of every model with encrypted fields: their decrypted values (1) or the other columns (2)."""
    return {
        label: list(model._base_manager.order_by("pk").values("pk", *columns[which - 1]))
        for label, (model, *columns) in every_model_with_encrypted_fields().items()
    }


def check_keys() -> str:
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--check", stdout=out)
    return out.getvalue()


def test_rotating_the_field_key_keeps_every_value_readable_and_frees_the_old_key(cast: Cast, settings) -> None:
    # Supersedes tests/cases/test_records.py::test_keys_rotate (one field of one case) with every encrypted
    # column of every model, the --check step, and the rows' other columns left alone.
    build_world(cast)  # a case with its history, a review and a follow-up: every model with encrypted fields
    plaintext, other_columns = snapshot(1), snapshot(2)
    for label, (_, encrypted, _) in every_model_with_encrypted_fields().items():
        assert any(row[name] for row in plaintext[label] for name in encrypted), f"no encrypted value in {label}"
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()

    # Step 1: the new key in front. Everything still reads, but --check says the old key is still needed.
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]
    assert snapshot(1) == plaintext
    with pytest.raises(CommandError, match="still under an older key"):
        check_keys()

    # Steps 2 and 3: re-encrypt, then --check passes.
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    assert "Every stored value is under the newest key." in check_keys()

    # Step 4: the old key removed. Every value reads the same; nothing else about the rows changed.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert snapshot(1) == plaintext
    assert snapshot(2) == other_columns
    # And the old key alone opens none of it any more.
    settings.FIELD_ENCRYPTION_KEYS = old_keys
    with pytest.raises(CommandError, match="cannot be decrypted"):
        check_keys()


def test_rotating_the_secret_key_with_a_fallback_keeps_people_signed_in(cast: Cast, settings, client_for) -> None:
    home = reverse("taskforce:dashboard", kwargs={"slug": cast.taskforce.slug})
    used_during_rotation, idle_during_rotation = client_for(cast.liaison_a), client_for(cast.liaison_a)
    old_key = settings.SECRET_KEY

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = secrets.token_urlsafe(45), [old_key]
    assert used_during_rotation.get(home).status_code == 200  # verified by the fallback, re-signed with the new key

    settings.SECRET_KEY_FALLBACKS = []
    assert used_during_rotation.get(home).status_code == 200
    # A session untouched while the fallback was there ends when it goes (as it must when the old key leaked).
    response = idle_during_rotation.get(home)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
