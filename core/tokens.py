"""API tokens that expire, and die with the password they were issued for.

One token per user (DRF's `authtoken`), in the database of the user's plane:
the control database for platform admins, the tenant's database for tenant
users. A token is refused once it is older than `TOKEN_TTL_SECONDS` (401
`token_expired`); signing in again issues a fresh one. Changing a user's
password deletes their tokens: Django calls every configured password
validator's `password_changed()` after it saves a new password (never on a
mere hash upgrade at sign-in), and `RevokeTokensOnPasswordChange` is one
(`AUTH_PASSWORD_VALIDATORS`), so every path that sets a password (API, admin,
`changepassword`) revokes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from core.errorcodes import CoreErrorCode


def token_expired(token: Token) -> bool:
    """Return True when `token` is older than TOKEN_TTL_SECONDS."""
    return bool(token.created < timezone.now() - timedelta(seconds=settings.TOKEN_TTL_SECONDS))


def token_issue(*, user: Any, using: str | None = None) -> Token:
    """Return the user's token, replacing it with a fresh one when it has expired."""
    tokens = Token.objects.using(using) if using else Token.objects
    token, created = tokens.get_or_create(user=user)
    if not created and token_expired(token):
        tokens.filter(pk=token.pk).delete()
        token = tokens.create(user=user)
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF token authentication that refuses tokens older than TOKEN_TTL_SECONDS."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise exceptions.AuthenticationFailed("Token expired; sign in again.", code=CoreErrorCode.TOKEN_EXPIRED)
        return user, token


class RevokeTokensOnPasswordChange:
    """A password "validator" that validates nothing and deletes a user's tokens when the password changes."""

    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and user.pk is not None:
            Token.objects.using(user._state.db).filter(user_id=user.pk).delete()

    def get_help_text(self) -> str:
        return ""
