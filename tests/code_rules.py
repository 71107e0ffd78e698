"""Read the packages' sources for the rules the architecture tests check (no Django needed)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "routers", "tenants", "migrations_tooling", "projects")


def package_modules() -> Iterator[tuple[str, ast.Module]]:
    """Yield (path relative to the repository, parsed module) of every package module but migrations."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative:
                yield relative, ast.parse(path.read_text(), relative)
