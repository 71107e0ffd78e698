"""Names vulture cannot see used: read by a framework, the database or a later change.

Each entry says why. `make lint` runs vulture with this file (see pyproject.toml).
"""

# ruff: noqa: B018
_ = object()

# Model fields and choices: stored and filtered through the ORM and the API.
_.archived, _.custom_fields, _.search_vector, _.due_before
_.IN_PROGRESS, _.CANCELLED, _.LOW, _.HIGH, _.URGENT, _.PRO, _.ENTERPRISE
# Serializer fields declared on the class (DRF reads them from the class body).
_.project_key, _.assignee_detail, _.comment_count, _.download_url, _.overdue, _.unassigned, _.checked
_.replica_lag_seconds, _.tenant_count, _.algorithm
# MigrationExecutor reads progress_callback from the executor's loader stand-in.
_.progress_callback
# Permission hooks that DRF calls by name.
_.has_permission
# lru_cache key parts: `modules` keys the cache even though the body reads settings.
_.modules
# routers: the tenant cache key pattern is used by the cache-per-incarnation work (issue 11).
_.tenant_key_pattern
# routers.py: `model_name` is part of Django's allow_migrate signature.
_.model_name
# Data mobility foundation: the clone job kind, the retired row's drop time and the CLI actor are
# read by the move, backup and restore services.
_.CLONE
_.drop_after
_.actor_of_cli
_.MAINTENANCE
_.BACKUP
# Backups: a serializer field DRF reads from the class body.
_.in_place
# Audit and usage: Meta and admin options Django reads by name, a filter declared on the FilterSet class.
_.default_permissions
_.date_hierarchy
_.since
# Called by migrations (tenants 0007, projects 0006), which vulture does not read.
_.append_only
# Metrics: collectors and the per-process gauge refresher are named by dotted path in
# METRICS_COLLECTORS / METRICS_PROCESS_GAUGES (core/settings/metrics.py).
_.CeleryQueueCollector, _.PoolerCollector, _.ReplicaCollector, _.FleetMigrationCollector
_.ControlPlaneCollector, _.refresh_process_gauges
# Plan limits read by name (getattr) in the throttles and the quota checks (core.plans).
_.user_rate
_.max_users
# Management commands: Django reads `requires_system_checks` by name.
_.requires_system_checks
