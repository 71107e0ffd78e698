"""Rules of the application layer, read from the sources: views read through selectors."""

from __future__ import annotations

import ast

import pytest

from tests.code_rules import package_modules

pytestmark = pytest.mark.unit


def _model_reads(tree: ast.Module) -> list[int]:
    """Return the lines that use a model manager (`X.objects`) directly."""
    return sorted(node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == "objects")


def test_api_views_read_through_selectors_never_a_model_manager() -> None:
    found = [f"{path}:{line}" for path, tree in package_modules() if path.endswith("/api/views.py")
             for line in _model_reads(tree)]
    assert found == [], "move the read into the app's selectors.py"


def test_the_check_sees_a_manager_read() -> None:
    assert _model_reads(ast.parse("rows = Task.objects.filter(done=True)\n")) == [1]


# path -> why its imports inside functions stay there. Anything else imports at the top of the file:
# an import hidden in a function hides a cycle between two modules.
INNER_IMPORTS_ALLOWED = {
    "core/apps.py": "AppConfig.ready(): Django's place for imports that need the app registry",
    "tenants/apps.py": "AppConfig.ready(): Django's place for imports that need the app registry",
    "migrations_tooling/apps.py": "AppConfig.ready(): Django's place for imports that need the app registry",
    "routers/apps.py": "AppConfig.ready(): Django's place for imports that need the app registry",
    "tenants/devtools.py": "debug_toolbar is an optional (dev) dependency",
    "migrations_tooling/lint.py": "django_migration_linter loads only when a lint runs (slow import, CLI only)",
    "projects/apps.py": "AppConfig.ready(): Django's place for imports that need the app registry",
}


def _inner_imports(tree: ast.Module) -> list[int]:
    """Return the lines of imports inside functions and classes (`if TYPE_CHECKING:` blocks are fine)."""
    scopes = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef
                                                                 | ast.ClassDef)]
    return sorted({inner.lineno for scope in scopes for inner in ast.walk(scope)
                   if isinstance(inner, ast.Import | ast.ImportFrom)})


def test_imports_are_at_the_top_of_the_file_outside_the_allowed_list() -> None:
    found = [f"{path}:{line}" for path, tree in package_modules() if path not in INNER_IMPORTS_ALLOWED
             for line in _inner_imports(tree)]
    assert found == [], "import at the top; break a cycle instead of hiding it in a function"


def test_every_allowed_file_still_needs_its_exception() -> None:
    needed = {path for path, tree in package_modules() if _inner_imports(tree)}
    assert set(INNER_IMPORTS_ALLOWED) <= needed, "drop the entries that no longer have an inner import"


def test_the_check_sees_an_import_in_a_function_but_not_under_type_checking() -> None:
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import os\n"
              "def f():\n    from projects.tasks import run_export\n")
    assert _inner_imports(ast.parse(source)) == [5]


URLCONFS = {"core/urls.py", "core/urls_tenant.py", "core/urls_local.py", "core/urls_local_tenant.py"}
# Text for people, not routing: the OpenAPI schema's sample bodies, and the demo's "how to call it" summary.
EXAMPLES = {"projects/api/examples.py", "tenants/management/commands/bootstrap_demo.py"}


def _api_paths(tree: ast.Module) -> list[int]:
    """Return the lines of string literals that spell an API path (`/api/...` or `api/...`)."""
    return sorted(node.lineno for node in ast.walk(tree) if isinstance(node, ast.Constant)
                  and isinstance(node.value, str) and node.value.startswith(("/api/", "api/")))


def test_only_the_planes_urlconfs_spell_api_paths() -> None:
    found = [f"{path}:{line}" for path, tree in package_modules() if path not in URLCONFS | EXAMPLES
             for line in _api_paths(tree)]
    assert found == [], "ask core.urlconfs which plane a path is in, and reverse() a URL"


def _connect_calls(tree: ast.Module) -> list[int]:
    """Return the lines that call `psycopg2.connect` (the one place allowed is core.pgconnect)."""
    return sorted(node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and isinstance(node.func, ast.Attribute) and node.func.attr == "connect"
                  and isinstance(node.func.value, ast.Name) and node.func.value.id == "psycopg2")


def test_direct_connections_are_opened_in_one_place() -> None:
    found = [f"{path}:{line}" for path, tree in package_modules() if path != "core/pgconnect.py"
             for line in _connect_calls(tree)]
    assert found == [], "open direct connections with core.pgconnect (ServerConfig.connect, connect_alias)"
