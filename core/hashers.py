"""Password hashers: Argon2id with parameters sized for small API hosts.

Django's own Argon2 defaults (100 MiB, 8 lanes) take about 0.3 s of CPU per
check on a 2-core host; PBKDF2 (1,000,000 iterations) about 1.8 s. Both turn
sign-in into a denial-of-service lever. OWASP's first recommended Argon2id
setting (19 MiB, 2 passes, 1 lane) costs about 30 ms here and still makes an
offline guess cost 19 MiB of memory. Hashes made with other parameters (or by
PBKDF2) verify and are rewritten with these on the next successful sign-in.
"""

from __future__ import annotations

from django.contrib.auth import hashers


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    """Django's Argon2id hasher with `time_cost=2`, `memory_cost=19 MiB`, `parallelism=1`."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
