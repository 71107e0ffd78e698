"""The control plane's alias names are written in one place (core.aliases)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

PACKAGES = ("core", "routers", "tenants", "migrations_tooling", "projects")
# routers/routers.py keeps CONTROL_PRIMARY until the routing runtime rework.
ALLOWED = {"core/aliases.py", "routers/routers.py"}


@pytest.mark.unit
def test_no_module_spells_the_control_alias_itself() -> None:
    spelled = sorted(
        f"{path.relative_to(ROOT)}:{match.group(0)}"
        for package in PACKAGES for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in ALLOWED and "/migrations/" not in str(path)
        for match in re.finditer(r'(^\w+ = |using[(=]|connections\[)"default(_replica)?"', path.read_text(), re.M)
    )
    assert spelled == []
