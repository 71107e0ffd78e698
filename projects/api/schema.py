"""OpenAPI additions the views cannot state one by one: tenant addressing and the error shape.

`tenant_contract` is a drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS):
- declares the `X-Tenant` header as an API-key security scheme that every
  tenant operation requires alongside its token, so Swagger UI's "Authorize"
  sends it on every "try it out" request;
- adds the contract's error responses (`{"code", "detail", "fields"?}`) to
  every operation under `/api/`, with the codes each one can answer.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse

from core.errors import CoreErrorCode
from core.urlconfs import is_tenant_path

TENANT_SCHEME = "tenantHeader"
ERROR_REF = {"$ref": "#/components/schemas/Error"}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "detail"],
    "properties": {
        "code": {"type": "string", "description": "Stable snake_case code.", "example": "validation_error"},
        "detail": {"type": "string", "description": "Human-readable message."},
        "fields": {"type": "object", "description": "Validation errors by field.",
                   "additionalProperties": {}},
    },
}

# status -> (description, codes it carries)
# Documentation only: DRF's codes and the tenant resolution's (tenants.errors; the product cannot import
# tenants) are named as text here.
ERRORS: dict[str, tuple[str, list[str]]] = {
    "400": ("Invalid input.", ["validation_error", "invalid_cursor", "bad_request"]),
    "401": ("Missing, wrong or foreign token.", ["not_authenticated", "authentication_failed"]),
    "403": ("Not allowed, or the tenant is suspended.", ["permission_denied", "tenant_suspended"]),
    "404": ("No such object (another tenant's ids included), or no such tenant.",
            ["not_found", "tenant_not_found"]),
    "429": ("Rate limit reached (tenant, user or sign-in attempts); see Retry-After.", ["throttled"]),
    "503": ("The tenant is still provisioning, or the task queue is down; see Retry-After.",
            ["tenant_unavailable", "queue_unavailable"]),
}


def tenant_contract(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Add the X-Tenant security scheme and the error responses to the generated schema."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components.setdefault("securitySchemes", {})[TENANT_SCHEME] = {
        "type": "apiKey", "in": "header", "name": "X-Tenant",
        "description": "Tenant slug (or call the API on the tenant's own host, `<slug>.<base domain>`).",
    }
    for path, operations in result.get("paths", {}).items():
        tenant = is_tenant_path(path)
        for operation in operations.values():
            if tenant:
                operation["security"] = [{**req, TENANT_SCHEME: []} for req in operation.get("security") or [{}]]
            signs_in = ["401", "429"] if path.endswith(SIGN_IN_SUFFIX) else []  # wrong password, guessing
            for status in _error_statuses(operation, tenant=tenant) + signs_in:
                operation["responses"].setdefault(status, _response(status))
    return result


def _error_statuses(operation: dict[str, Any], *, tenant: bool) -> list[str]:
    authenticated = any("tokenAuth" in req for req in operation.get("security") or [])
    takes_input = "requestBody" in operation or any(p.get("in") == "query" for p in operation.get("parameters", []))
    statuses = ["400"] if takes_input else []
    statuses += ["401", "403"] if authenticated else []
    if tenant or any(p.get("in") == "path" for p in operation.get("parameters", [])):
        statuses.append("404")
    return statuses + (["429", "503"] if tenant else [])


VALIDATION_EXAMPLE = {"code": CoreErrorCode.VALIDATION_ERROR, "detail": "name: This field is required.",
                      "fields": {"name": ["This field is required."]}}
SIGN_IN_SUFFIX = "/auth/token/"


def _response(status: str) -> dict[str, Any]:
    description, codes = ERRORS[status]
    examples: dict[str, dict[str, Any]] = {code: {"value": {"code": code, "detail": "..."}} for code in codes}
    if "validation_error" in examples:
        examples["validation_error"] = {"value": VALIDATION_EXAMPLE}
    return {"description": description, "content": {"application/json": {"schema": ERROR_REF, "examples": examples}}}


def conflict(description: str) -> OpenApiResponse:
    """Return a 409 response in the error shape, for `extend_schema(responses=...)`."""
    return OpenApiResponse(ERROR_REF, description=description)
