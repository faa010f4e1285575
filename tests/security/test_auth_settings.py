"""The numbers CJIS and ASVS set, as a production process reads them from its settings.

The behaviour tests (test_auth.py, test_sessions.py, test_auth_mfa.py) pin these values in their fixtures
so they can travel in time; this test is what fails if someone loosens the configured values themselves.
"""

from __future__ import annotations

import json

from tests.security.test_deployment import production_env, run

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from allauth.account import app_settings as account
from allauth.mfa import app_settings as mfa
print(json.dumps({
    "require_mfa": s.REQUIRE_MFA,
    "lockout_attempts": s.LOGIN_LOCKOUT_ATTEMPTS,
    "lockout_minutes": s.LOGIN_LOCKOUT_MINUTES,
    "login_failed_rate": account.RATE_LIMITS["login_failed"],
    "idle_minutes": s.SESSION_IDLE_TIMEOUT.total_seconds() / 60,
    "absolute_hours": s.SESSION_ABSOLUTE_TIMEOUT.total_seconds() / 3600,
    "cookie_age_hours": s.SESSION_COOKIE_AGE / 3600,
    "expire_at_browser_close": s.SESSION_EXPIRE_AT_BROWSER_CLOSE,
    "remember_me": account.SESSION_REMEMBER,
    "login_on_password_reset": account.LOGIN_ON_PASSWORD_RESET,
    "login_by_code": account.LOGIN_BY_CODE_ENABLED,
    "prevent_enumeration": account.PREVENT_ENUMERATION,
    "reauthentication_required": account.REAUTHENTICATION_REQUIRED,
    "mfa_reauthentication_required": mfa.REAUTHENTICATION_REQUIRED,
    "reauthentication_methods": sorted(account.REAUTHENTICATION_METHODS),
    "reauthentication_seconds": account.REAUTHENTICATION_TIMEOUT,
    "csrf_middleware": "django.middleware.csrf.CsrfViewMiddleware" in s.MIDDLEWARE,
}))
"""


def test_production_settings_keep_the_authentication_and_session_limits():
    result = run("-c", PROBE, env=production_env())

    assert result.returncode == 0, result.stderr
    configured = json.loads(result.stdout.strip().splitlines()[-1])
    assert configured == {
        "require_mfa": True,
        "lockout_attempts": 5,  # CJIS 5.5.3: at most 5 consecutive invalid attempts
        "lockout_minutes": 10,  # ... then locked at least 10 minutes
        "login_failed_rate": "20/m/ip,5/10m/key",
        "idle_minutes": 30,  # CJIS 5.5.5: session lock after at most 30 minutes of inactivity
        "absolute_hours": 12,
        "cookie_age_hours": 12,
        "expire_at_browser_close": True,
        "remember_me": False,
        "login_on_password_reset": False,
        "login_by_code": False,  # sign-in is the password, then the second factor; no mailed codes
        "prevent_enumeration": True,
        "reauthentication_required": True,
        "mfa_reauthentication_required": True,
        "reauthentication_methods": ["mfa", "password"],
        "reauthentication_seconds": 300,
        "csrf_middleware": True,
    }
