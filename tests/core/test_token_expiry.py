"""Token expiry: a pure comparison with TOKEN_TTL_SECONDS, no database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.tokens import token_expired

pytestmark = pytest.mark.unit


@override_settings(TOKEN_TTL_SECONDS=3600)
def test_a_token_expires_once_older_than_its_ttl() -> None:
    now = timezone.now()
    assert not token_expired(Token(created=now - timedelta(seconds=3500)))
    assert token_expired(Token(created=now - timedelta(seconds=3700)))
