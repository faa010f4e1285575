"""The settings file under real environments: each case starts a fresh process, as a deployment would."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

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
