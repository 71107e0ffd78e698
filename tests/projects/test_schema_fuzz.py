"""Schemathesis against the live OpenAPI schema: no operation answers a server error.

The schema is read from `/api/schema/` through Django's WSGI application, and
every generated request goes through the whole stack (middleware, tenant
resolution, real databases, Redis) as alpha's tenant admin, or as a platform
admin for the platform API. Valid and invalid data are both generated; half
of the cases get real ids (path `id`, body `project`/`assignee`/`user`), so
requests reach the writes instead of stopping at a 404. Deletes run last.
Examples are derandomized so a run is repeatable, and few per operation so
the file stays under a minute.

Platform operations that provision, drop or migrate databases (tenant
create/delete/retry, domains, migration runs) are left out: fuzzing them
would create real databases. Their reads, sign-in and the tenant PATCH
(name and plan only) are fuzzed.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from projects.models import Export
from tests.factories import CommentFactory, TaskFactory
from tests.projects.conftest import TenantWorld, seeded

MAX_EXAMPLES = 10  # per operation and generation mode
SAFE_PLATFORM = {"GET", "POST /api/platform/auth/token/", "PATCH /api/platform/tenants/{slug}/"}
NO_INPUT = {"GET /api/platform/"}  # takes nothing (anyone may read it): no invalid request to generate
BODY_IDS = {"project": "projects", "assignee": "users", "user": "users"}
NO_THROTTLE = {"tenant": "1000000/min", "tenant_user": "1000000/min"}


@pytest.fixture
def api_schema(product: dict[str, TenantWorld]) -> Any:
    return schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


@pytest.fixture
def real_ids(product: dict[str, TenantWorld]) -> dict[str, list[int]]:
    """Ids of alpha's objects, by the API resource that addresses them."""
    alpha = product["alpha"]
    with seeded(alpha.spec):
        tasks = [TaskFactory(project=alpha.project), TaskFactory(project=alpha.hidden)]
        CommentFactory(task=tasks[0])
        export = Export.objects.create(requested_by=alpha.users["admin"], status="done", content="id\n1\n")
    return {"projects": [alpha.project.pk, alpha.hidden.pk], "tasks": [t.pk for t in tasks],
            "exports": [export.pk], "users": [u.pk for u in alpha.users.values()]}


def _operations(schema: Any, *, platform: bool) -> list[Any]:
    chosen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        method = operation.method.upper()
        if operation.path.startswith("/api/platform/") != platform:
            continue
        if platform and not {method, f"{method} {operation.path}"} & SAFE_PLATFORM:
            continue
        chosen.append(operation)
    return sorted(chosen, key=lambda op: op.method.upper() == "DELETE")


def _strategy(operation: Any, mode: GenerationMode, ids: dict[str, list[int]]) -> Any:
    """Generate cases of `operation`; about half of them carry real ids of the tenant."""
    resource = operation.path.split("/")[2]  # "/api/tasks/{id}/comments/" -> "tasks"

    def with_ids(drawn: tuple[Any, bool, int]) -> Any:
        case, real, pick = drawn
        if real and case.path_parameters and "id" in case.path_parameters and ids.get(resource):
            case.path_parameters["id"] = ids[resource][pick % len(ids[resource])]
        if real and isinstance(case.body, dict):
            for key in BODY_IDS.keys() & case.body.keys():
                case.body[key] = ids[BODY_IDS[key]][pick % len(ids[BODY_IDS[key]])]
        return case

    return st.tuples(operation.as_strategy(generation_mode=mode), st.booleans(), st.integers(0, 7)).map(with_ids)


def _fuzz(operations: list[Any], headers: dict[str, str], ids: dict[str, list[int]]) -> None:
    """Send generated requests (schema examples first) to every operation; fail on any 5xx."""
    for operation in operations:
        takes_input = f"{operation.method.upper()} {operation.path}" not in NO_INPUT
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if takes_input else (GenerationMode.POSITIVE,):

            @given(case=_strategy(operation, mode, ids))
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                response = case.call(headers=headers)
                case.validate_response(response, checks=[not_a_server_error], headers=headers)

            run()


@override_settings(TENANT_THROTTLE_RATES=NO_THROTTLE)
def test_no_tenant_operation_answers_a_server_error(product: dict[str, TenantWorld], api_schema: Any,
                                                    real_ids: dict[str, list[int]]) -> None:
    alpha = product["alpha"]
    headers = {"Authorization": f"Token {alpha.tokens['admin']}", "X-Tenant": alpha.spec.slug}
    operations = _operations(api_schema, platform=False)
    assert len(operations) >= 27  # every tenant operation of the API contract (docs/api.md)
    _fuzz(operations, headers, real_ids)


def test_no_platform_read_answers_a_server_error(product: dict[str, TenantWorld], api_schema: Any) -> None:
    admin = User.objects.create_user("fuzz-platform-admin", password="platform-pw", is_staff=True,
                                     is_superuser=True)
    headers = {"Authorization": f"Token {Token.objects.create(user=admin).key}"}
    operations = _operations(api_schema, platform=True)
    assert len(operations) >= 6
    _fuzz(operations, headers, {})
