"""Error codes are members of per-domain enums, never string literals in views and services."""

from __future__ import annotations

import ast

import pytest

from core.errors import ApiError, CoreErrorCode, json_error
from migrations_tooling.errors import MigrationErrorCode
from projects.errors import ProductErrorCode
from tenants.errors import TenantErrorCode
from tests.code_rules import package_modules

pytestmark = pytest.mark.unit
ENUMS = (CoreErrorCode, TenantErrorCode, MigrationErrorCode, ProductErrorCode)


def _literal(node: ast.expr | None) -> bool:
    """Say whether `node` is a snake_case string literal (an API error code's shape; lint codes are capitals)."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value == node.value.lower()


def _spells_a_code(node: ast.AST) -> bool:
    """Say whether `node` names an error code with a string literal, in one of the four ways code does."""
    if isinstance(node, ast.keyword):  # ApiError(..., code="x")
        return node.arg == "code" and _literal(node.value)
    if isinstance(node, ast.Assign):  # class X(ApiError): code = "x"
        return _literal(node.value) and any(getattr(target, "id", None) == "code" for target in node.targets)
    if isinstance(node, ast.Call):  # json_error(status, "x", detail)
        return getattr(node.func, "id", None) == "json_error" and len(node.args) > 1 and _literal(node.args[1])
    if isinstance(node, ast.Dict):  # {"code": "x", ...}
        return any(isinstance(key, ast.Constant) and key.value == "code" and _literal(value)
                   for key, value in zip(node.keys, node.values, strict=True))
    return False


def _code_literals(tree: ast.Module) -> list[int]:
    """Return the lines where an error code is spelled as a string literal."""
    return sorted(getattr(node, "lineno", 0) or node.value.lineno  # type: ignore[attr-defined]
                  for node in ast.walk(tree) if _spells_a_code(node))


def test_no_package_spells_an_error_code_as_a_string_literal() -> None:
    found = [f"{path}:{line}" for path, tree in package_modules() for line in _code_literals(tree)]
    assert found == [], "use the app's error code enum (core.errors.CoreErrorCode, tenants.errors, ...)"


def test_the_check_sees_each_way_of_spelling_a_code() -> None:
    source = ('raise ApiError("x", code="a")\nclass E:\n    code = "b"\n'
              'json_error(400, "c", "d")\nbody = {"code": "e", "detail": ""}\n')
    assert _code_literals(ast.parse(source)) == [1, 3, 4, 5]


def test_no_two_domains_give_one_code_two_meanings_by_accident() -> None:
    values = [member.value for enum in ENUMS for member in enum]
    shared = {value for value in values if values.count(value) > 1}
    assert shared == {"invalid_state"}  # the same conflict (wrong state) in tenants and in migration runs


def test_an_error_renders_its_enum_member_as_the_plain_code() -> None:
    assert ApiError(code=TenantErrorCode.NO_CAPACITY).body() == {"code": "no_capacity", "detail": "Bad request."}
    assert json_error(409, ProductErrorCode.EXPORT_NOT_READY, "x").content == (
        b'{"code": "export_not_ready", "detail": "x"}')
