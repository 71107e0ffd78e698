"""Read the packages' sources for the rules the architecture tests check (no Django needed)."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "routers", "tenants", "migrations_tooling", "projects")


@functools.cache  # parsed once per test session: every rule test reads the same sources
def package_modules() -> tuple[tuple[str, ast.Module], ...]:
    """Return (path relative to the repository, parsed module) of every package module but migrations."""
    paths = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    relative = [path.relative_to(ROOT).as_posix() for path in paths]
    return tuple((name, ast.parse(path.read_text(), name))
                 for name, path in zip(relative, paths, strict=True) if "/migrations/" not in name)
