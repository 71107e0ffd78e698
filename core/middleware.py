"""Request id and last-resort JSON error middleware."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed

from core.clients import client_ip
from core.errors import CoreErrorCode, json_error, known_error_response
from core.logging import client_ip_var, request_id_var

logger = logging.getLogger("tessera.request")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Take `X-Request-ID` from the client (when sane) or make one, and echo it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # Not reset here: Django logs the response (e.g. "Not Found") after the
        # middleware chain returns; `request_finished` clears it (core.apps).
        request_id_var.set(request_id)
        client_ip_var.set(client_ip(request))
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class JsonErrorMiddleware:
    """Turn any exception that escapes a view into JSON: its contract answer, else a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed):  # Django's is an empty text/html body
            allowed = response["Allow"]
            response = json_error(405, CoreErrorCode.METHOD_NOT_ALLOWED, f"Method {request.method} not allowed.")
            response["Allow"] = allowed
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404 | PermissionDenied):
            return None  # Django's handlers (ours, in core.urls) answer these
        known = known_error_response(exception)  # 413, 429, 503 database_unavailable, ...
        if known is not None:
            return known
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, CoreErrorCode.SERVER_ERROR, "An internal error occurred.")
