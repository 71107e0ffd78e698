"""Error codes of fleet migration runs."""

from __future__ import annotations

from enum import StrEnum


class MigrationErrorCode(StrEnum):
    """Error codes the platform API answers for migration runs."""

    MIGRATION_RUN_IN_PROGRESS = "migration_run_in_progress"
    INVALID_STATE = "invalid_state"
    UNKNOWN_TENANTS = "unknown_tenants"
