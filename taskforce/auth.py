"""Sign-in glue around django-allauth: the account adapter and the login audit receivers."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from taskforce import audit


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Nobody signs up: people join through an invitation from their task force.
        return False


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs) -> None:
    audit.record("auth.login", actor=user, request=request)


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record("auth.logout", actor=user, request=request)


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    audit.record("auth.login_failed", request=request, actor_label=str(credentials.get("email", ""))[:254])
