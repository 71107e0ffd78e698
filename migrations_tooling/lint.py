"""Lint what a run would apply, before anything is applied, with django-migration-linter's rules.

Backward-incompatible or locking operations are refused unless
`--allow-unsafe`: NOT NULL columns without a default, column drops and
renames, type changes, table drops and renames (the linter's errors), and
non-concurrent index creation (its CREATE_INDEX warnings, promoted to errors
here because tenant tables take traffic while they migrate).

The SQL analysed is the SQL the run would execute (collected once per
distinct database state by `plans`), not a second `sqlmigrate` per
migration. Results are cached per migration fingerprint (its source and its
SQL), so a long-lived worker lints a migration once.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.migrations import RunPython, RunSQL
from django_migration_linter.sql_analyser.analyser import analyse_sql_statements
from django_migration_linter.sql_analyser.postgresql import PostgresqlAnalyser

from migrations_tooling.executor import project_loader
from migrations_tooling.planning import Plan

PROMOTED_WARNINGS = {"CREATE_INDEX", "CREATE_INDEX_EXCLUSIVE", "REINDEX"}
_cache: dict[str, tuple[Finding, ...]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Finding:
    migration: str
    code: str
    message: str
    blocking: bool

    def as_dict(self) -> dict[str, object]:
        return {"migration": self.migration, "code": self.code, "message": self.message,
                "blocking": self.blocking}


def lint(plans: list[Plan]) -> list[Finding]:
    """Return the findings of every migration in `plans`, each migration once."""
    findings: dict[tuple[str, str, str], Finding] = {}
    for plan in plans:
        for key, sql in zip(plan.migrations, plan.sql, strict=True):
            for finding in lint_migration(key, sql):
                findings.setdefault((finding.migration, finding.code, finding.message), finding)
    return list(findings.values())


def lint_migration(key: str, sql: tuple[str, ...]) -> tuple[Finding, ...]:
    """Return the findings of migration `key` ("app.name") whose SQL is `sql` (cached)."""
    migration = project_loader().graph.nodes[tuple(key.split(".", 1))]
    fingerprint = _fingerprint(key, migration, sql)
    with _cache_lock:
        cached = _cache.get(fingerprint)
    if cached is not None:
        return cached
    lines = [line for statement in sql for line in statement.splitlines()]
    errors, _ignored, warnings = analyse_sql_statements(PostgresqlAnalyser, lines, [])
    data_errors, data_warnings = _data_migration_issues(migration)
    result = tuple(
        [Finding(key, issue.code, issue.message, True) for issue in [*errors, *data_errors]]
        + [Finding(key, issue.code, issue.message, issue.code in PROMOTED_WARNINGS)
           for issue in [*warnings, *data_warnings]])
    with _cache_lock:
        _cache[fingerprint] = result
    return result


def _fingerprint(key: str, migration: Any, sql: tuple[str, ...]) -> str:
    try:
        source = inspect.getsource(inspect.getmodule(migration) or type(migration))
    except (OSError, TypeError):
        source = ""
    return hashlib.sha256("\0".join([key, source, *sql]).encode()).hexdigest()


def _data_migration_issues(migration: Any) -> tuple[list[Any], list[Any]]:
    """Return (errors, warnings) of RunPython / RunSQL operations (the linter's own checks)."""
    if not any(isinstance(op, (RunPython, RunSQL)) for op in migration.operations):
        return [], []
    errors, _ignored, warnings = _linter().analyse_data_migration(migration)
    return errors, warnings


@lru_cache(maxsize=1)
def _linter() -> Any:
    from django_migration_linter import MigrationLinter

    return MigrationLinter(no_cache=True, no_output=True, ignore_sqlmigrate_errors=True)
