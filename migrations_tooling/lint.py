"""Lint pending migrations before they run, with django-migration-linter.

Backward-incompatible or locking operations are refused unless
`--allow-unsafe`: NOT NULL columns without a default, column drops and
renames, type changes, table drops and renames (the linter's errors), and
non-concurrent index creation on tenant tables (its CREATE_INDEX warnings,
promoted to errors here because tenant tables take traffic while they migrate).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from django.db.migrations.loader import MigrationLoader
from django_migration_linter import MigrationLinter
from django_migration_linter.sql_analyser.analyser import analyse_sql_statements

PROMOTED_WARNINGS = {"CREATE_INDEX", "CREATE_INDEX_EXCLUSIVE", "REINDEX"}


@dataclass(frozen=True)
class Finding:
    migration: str
    code: str
    message: str
    blocking: bool

    def as_dict(self) -> dict[str, object]:
        return {"migration": self.migration, "code": self.code, "message": self.message,
                "blocking": self.blocking}


def lint(migrations: list[str], *, database: str) -> list[Finding]:
    """Return findings for `app.name` migrations, generating their SQL on `database`."""
    if not migrations:
        return []
    linter = MigrationLinter(database=database, no_cache=True, no_output=True, ignore_sqlmigrate_errors=True)
    loader = MigrationLoader(None, ignore_no_migrations=True)
    findings: list[Finding] = []
    for key in migrations:
        app, name = key.split(".", 1)
        migration = loader.disk_migrations[(app, name)]
        with contextlib.redirect_stdout(io.StringIO()):
            sql = linter.get_sql(app, name)
            errors, _ignored, warnings = analyse_sql_statements(linter.sql_analyser_class, sql,
                                                                linter.exclude_migration_tests)
            data_errors, _, data_warnings = linter.analyse_data_migration(migration)
        for issue in [*errors, *data_errors]:
            findings.append(Finding(key, issue.code, issue.message, True))
        for issue in [*warnings, *data_warnings]:
            findings.append(Finding(key, issue.code, issue.message, issue.code in PROMOTED_WARNINGS))
    return findings
