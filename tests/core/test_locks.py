"""One registry of advisory-lock keys: distinct first keys, used by every lock taker."""

from __future__ import annotations

import re

from core.locks import LockPurpose, lock_key
from migrations_tooling.locks import DATABASE_LOCK, RUN_LOCK, fleet_lock
from tenants import provisioning, templates
from tests.conftest import ROOT

PACKAGES = ("core", "routers", "tenants", "migrations_tooling", "projects")
TAKES_A_LOCK = re.compile(r"pg_(try_)?advisory_(xact_)?lock")


def test_every_purpose_has_its_own_first_key() -> None:
    firsts = [purpose.value for purpose in LockPurpose]
    assert len(firsts) == len(set(firsts))
    keys = {RUN_LOCK, DATABASE_LOCK, templates.LOCK_KEY, lock_key(LockPurpose.PROVISIONING_JOB, 1)}
    assert len({key[0] for key in keys}) == len(keys) == 4


def test_every_module_that_takes_an_advisory_lock_gets_its_key_from_the_registry() -> None:
    registry = ROOT / "core" / "locks.py"
    takers = [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
              if path != registry and TAKES_A_LOCK.search(path.read_text())]
    assert takers, "no advisory lock found: the scan is broken"
    for path in takers:
        text = path.read_text()
        assert "core.locks" in text or "migrations_tooling.locks import" in text, path
        assert not re.search(r"advisory_\w*lock\(\s*\d", text), f"{path}: a literal lock key"


def test_the_fleet_run_lock_and_provisioning_job_1_do_not_collide(control_db: None) -> None:
    with fleet_lock(), provisioning.job_lock(1) as mine:
        assert mine  # both were (0x7E5, 1) on the control database
