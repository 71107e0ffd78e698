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
