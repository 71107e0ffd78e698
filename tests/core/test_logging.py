"""Log lines carry the request id and the tenant slug."""

from __future__ import annotations

import json
import logging

import pytest

from core.logging import ContextFilter, JsonFormatter, TextFormatter, request_id_var, tenant_slug_var

pytestmark = pytest.mark.unit


def _record() -> logging.LogRecord:
    record = logging.LogRecord("tessera.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    ContextFilter().filter(record)
    return record


def test_text_lines_show_dash_when_no_request_or_tenant() -> None:
    line = TextFormatter().format(_record())
    assert "[req=- tenant=-] hello world" in line


def test_json_lines_carry_request_id_and_tenant_from_context() -> None:
    rid, tenant = request_id_var.set("r-1"), tenant_slug_var.set("acme")
    try:
        payload = json.loads(JsonFormatter().format(_record()))
    finally:
        request_id_var.reset(rid)
        tenant_slug_var.reset(tenant)
    assert payload["request_id"] == "r-1"
    assert payload["tenant"] == "acme"
    assert payload["message"] == "hello world"
