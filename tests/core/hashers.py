"""A password hasher for tests that counts how often it hashes (a real hasher, counted)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast) that counts every encode and verify: the work a sign-in pays."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password: str, salt: str) -> str:
        type(self).calls += 1
        return super().encode(password, salt).replace("md5$", "counting_md5$", 1)

    def verify(self, password: str, encoded: str) -> bool:
        type(self).calls += 1
        return super().verify(password, encoded.replace("counting_md5$", "md5$", 1))

    def decode(self, encoded: str) -> dict[str, Any]:
        return super().decode(encoded.replace("counting_md5$", "md5$", 1))
