"""One error shape for the whole API: `{"code": "<snake_case>", "detail": "<text>"}`.

DRF views go through `api_exception_handler`; everything outside DRF (404s for
unknown URLs, CSRF failures, errors in middleware) through the `handler*` views
wired in `core.urls` and `core.middleware.JsonErrorMiddleware`.
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errorcodes import CoreErrorCode

logger = logging.getLogger("tessera.errors")


class ApiError(Exception):
    """An error with a stable code that the API reports as-is."""

    status_code = 400
    code: StrEnum = CoreErrorCode.BAD_REQUEST
    detail = "Bad request."

    def __init__(self, detail: str | None = None, *, code: StrEnum | None = None,
                 status_code: int | None = None, headers: dict[str, str] | None = None,
                 fields: dict[str, list[str]] | None = None) -> None:
        self.detail = detail or self.detail
        self.code = code or self.code
        self.status_code = status_code or self.status_code
        self.headers = headers or {}
        self.fields = fields
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.fields:
            body["fields"] = self.fields
        return body


class Conflict(ApiError):
    status_code = 409
    code = CoreErrorCode.CONFLICT
    detail = "The resource already exists."


class NotFound(ApiError):
    status_code = 404
    code = CoreErrorCode.NOT_FOUND
    detail = "Not found."


class InvalidInput(ApiError):
    status_code = 400
    code = CoreErrorCode.VALIDATION_ERROR
    detail = "Invalid input."


class AuthenticationFailed(ApiError):
    status_code = 401
    code = CoreErrorCode.AUTHENTICATION_FAILED
    detail = "Wrong username or password."


DATABASE_RETRY_AFTER_SECONDS = 5
# SQLSTATE classes of a database that is not there: connection exceptions (08),
# shutdown or crash (57P), out of connections or memory (53). No SQLSTATE: the socket died.
UNAVAILABLE_SQLSTATES = ("08", "57P", "53")
# A statement cancelled by `statement_timeout` (the tenant plan's limit) or by an operator.
QUERY_CANCELED_SQLSTATE = "57014"


def json_error(status: int, code: StrEnum, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, **extra}, status=status)


def database_unavailable(exc: BaseException | None) -> bool:
    """Return True when `exc` says a database or its pooler cannot be reached (not a bad query)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    pgcode = getattr(exc.__cause__, "pgcode", None)
    return pgcode is None or pgcode.startswith(UNAVAILABLE_SQLSTATES)


def statement_timed_out(exc: BaseException | None) -> bool:
    """Return True when `exc` is a statement PostgreSQL cancelled (its time limit ran out)."""
    return (isinstance(exc, OperationalError)
            and getattr(exc.__cause__, "pgcode", None) == QUERY_CANCELED_SQLSTATE)


def known_error_response(exc: BaseException | None) -> JsonResponse | None:
    """Render the exceptions that have a contract answer outside DRF; None for a real bug."""
    if isinstance(exc, ApiError):
        response = JsonResponse(exc.body(), status=exc.status_code)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    if isinstance(exc, RequestDataTooBig):
        return json_error(413, CoreErrorCode.REQUEST_TOO_LARGE, "The request body is larger than this API accepts.")
    if statement_timed_out(exc):
        logger.warning("statement cancelled: %s", str(exc).strip()[:200])
        return json_error(504, CoreErrorCode.STATEMENT_TIMEOUT, "The request ran longer than the tenant's plan "
                          "allows a database statement to run.", limit="statement_timeout_ms")
    if database_unavailable(exc):
        logger.warning("database unavailable: %s", str(exc).strip()[:200])
        response = json_error(503, CoreErrorCode.DATABASE_UNAVAILABLE, "A database is unavailable; try again soon.")
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render DRF and Tessera exceptions in the contract's error shape."""
    if isinstance(exc, ApiError):
        set_rollback()
        return Response(exc.body(), status=exc.status_code, headers=exc.headers)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if not isinstance(exc, drf_exceptions.APIException):
        return None  # unexpected: JsonErrorMiddleware logs it and answers 500
    set_rollback()
    headers = _auth_headers(exc, context)
    return Response(_body(exc), status=exc.status_code, headers=headers)


def _body(exc: drf_exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, drf_exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            message = _first_message(detail) or "Invalid input."
            return {"code": CoreErrorCode.VALIDATION_ERROR, "detail": message, "fields": detail}
        return {"code": CoreErrorCode.VALIDATION_ERROR, "detail": _first_message(detail) or "Invalid input."}
    code = getattr(exc.detail, "code", None) or exc.default_code
    return {"code": str(code), "detail": str(exc.detail)}


def _first_message(detail: Any) -> str | None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            if inner:
                return inner if key == "non_field_errors" else f"{key}: {inner}"
        return None
    if isinstance(detail, list):
        return next((m for m in (_first_message(v) for v in detail) if m), None)
    return str(detail)


def _auth_headers(exc: drf_exceptions.APIException, context: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    return headers


# --- Views for errors raised outside DRF --------------------------------------
# JSON everywhere but the Django admin, whose users are people in a browser.

ADMIN_PREFIX = "/admin/"


def _in_admin(request: HttpRequest) -> bool:
    return request.path.startswith(ADMIN_PREFIX)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return known_error_response(exception) or json_error(400, CoreErrorCode.BAD_REQUEST,
                                                        "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _in_admin(request):
        return defaults.permission_denied(request, exception or DjangoPermissionDenied())
    return json_error(403, CoreErrorCode.PERMISSION_DENIED, "You do not have permission to do this.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _in_admin(request):
        return defaults.page_not_found(request, exception or Http404())
    return json_error(404, CoreErrorCode.NOT_FOUND, "Not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    # Django calls this while handling the exception (raised in a middleware, say).
    return known_error_response(sys.exc_info()[1]) or json_error(500, CoreErrorCode.SERVER_ERROR,
                                                                "An internal error occurred.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _in_admin(request):
        return csrf.csrf_failure(request, reason)
    return json_error(403, CoreErrorCode.CSRF_FAILED, "CSRF verification failed.")
