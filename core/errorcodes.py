"""The error codes every plane can answer (a module with no imports: `core.tokens` needs it while DRF loads)."""

from __future__ import annotations

from enum import StrEnum


class CoreErrorCode(StrEnum):
    """Error codes every plane can answer; each app adds its own enum (`tenants.errors`, ...).

    A `StrEnum`, so a member is its code wherever a string is expected (JSON bodies included).
    `tests/core/test_error_codes.py` fails on an error code spelled as a string literal.
    """

    BAD_REQUEST = "bad_request"
    VALIDATION_ERROR = "validation_error"
    AUTHENTICATION_FAILED = "authentication_failed"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 (an error code, not a secret)
    PERMISSION_DENIED = "permission_denied"
    CSRF_FAILED = "csrf_failed"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    REQUEST_TOO_LARGE = "request_too_large"
    INVALID_CURSOR = "invalid_cursor"
    SIGNIN_THROTTLED = "signin_throttled"
    SIGNIN_BUSY = "signin_busy"
    SERVER_ERROR = "server_error"
    DATABASE_UNAVAILABLE = "database_unavailable"
    STATEMENT_TIMEOUT = "statement_timeout"  # the tenant plan's statement_timeout cancelled a query
    METRICS_FORBIDDEN = "metrics_forbidden"
    QUEUE_UNAVAILABLE = "queue_unavailable"
