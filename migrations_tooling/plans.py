"""Plan a fleet migration once per distinct database state, then replay it.

Django's executor, run once per database, loads the migration files, builds
the graph, renders the project state and generates every operation's SQL
again for each database. Across a fleet all of that is the same wherever the
applied migrations are the same, so it is done once per (server, applied set):
a `Plan` holds the pending migrations in order and the SQL of each, collected
the way `sqlmigrate` collects it.

A plan is *replayable* when every migration is atomic, every operation reduces
to SQL, there are no squashed migrations, and generating the SQL ran no query
(an operation that introspects the database, such as altering a column that
has constraints, could generate different SQL elsewhere). Workers replay such
a plan in one transaction per database; any other plan goes through Django's
executor (`FleetExecutor`), which still reuses the graph and rendered states.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import CreateModel, DeleteModel
from django.db.migrations.recorder import MigrationRecorder

from routers import Plane, plane_of

TENANT_PLANES = (Plane.TENANT, Plane.BOTH)
NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")  # app labels and migration module names are identifiers
MAX_CACHED_STATES = 8
MODEL_OPERATIONS = (CreateModel, DeleteModel)  # content types and permissions follow them

_lock = threading.RLock()
_loader: tuple[object, MigrationLoader] | None = None
_states: dict[tuple[object, frozenset[tuple[str, str]]], Any] = {}


def project_loader() -> MigrationLoader:
    """Return the migration graph of the code, built once per set of migration modules."""
    global _loader
    key = (tuple(sorted(settings.MIGRATION_MODULES.items())), tuple(settings.INSTALLED_APPS))
    with _lock:
        if _loader is None or _loader[0] != key:
            _loader = (key, MigrationLoader(None, ignore_no_migrations=True))
            _states.clear()
        return _loader[1]


def tenant_leaves(loader: MigrationLoader) -> list[tuple[str, str]]:
    """Return the leaf migrations of the apps that have tables in tenant databases."""
    return [key for key in loader.graph.leaf_nodes() if plane_of(key[0]) in TENANT_PLANES]


UNAPPLIED = " (unapplied)"


def migration_key(migration: Any, *, backwards: bool = False) -> str:
    """Return how plans and the ledger name a migration applied ("app.name") or unapplied."""
    return f"{migration.app_label}.{migration.name}" + (UNAPPLIED if backwards else "")


@dataclass(frozen=True)
class Plan:
    """The pending migrations of one database state, with their SQL."""

    migrations: tuple[str, ...] = ()  # "app.name", in dependency order
    sql: tuple[tuple[str, ...], ...] = ()  # per migration, the statements it runs
    replayable: bool = False
    changes_models: bool = False  # creates or deletes models: content types and permissions follow

    def script(self) -> str:
        """Return the SQL that applies and records every migration (one round trip)."""
        rows = []
        for key in self.migrations:
            app, name = key.split(".", 1)
            if not (NAME_RE.match(app) and NAME_RE.match(name)):
                raise ValueError(f"unexpected migration name {key!r}")
            rows.append(f"('{app}', '{name}', now())")
        statements = [s for per_migration in self.sql for s in per_migration if not s.startswith("--")]
        record = "INSERT INTO django_migrations (app, name, applied) VALUES " + ", ".join(rows) + ";"
        return "\n".join([*statements, record])


class FleetExecutor(MigrationExecutor):
    """A MigrationExecutor that reuses, across databases, what does not depend on the database.

    The graph is built once per process (`project_loader`) and the starting
    state is rendered once per distinct set of applied migrations; each
    database gets a clone. Only the applied set is read per database. Safe to
    use from several threads, each with its own connection.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.recorder = MigrationRecorder(connection)
        self.progress_callback = None
        self.loader = copy.copy(project_loader())
        self.loader.connection = connection
        # django-stubs types the loader's dict with graph nodes; Django stores the recorder's rows.
        self.loader.applied_migrations = self.recorder.applied_migrations()  # type: ignore[assignment]

    @classmethod
    def offline(cls, applied: Iterable[tuple[str, str]]) -> FleetExecutor:
        """Return an executor that plans from `applied` without a connection (it cannot migrate)."""
        executor = cls.__new__(cls)
        executor.connection = None  # type: ignore[assignment]
        executor.recorder = None  # type: ignore[assignment]
        executor.progress_callback = None
        executor.loader = copy.copy(project_loader())
        executor.loader.applied_migrations = dict.fromkeys(applied)  # type: ignore[assignment]
        return executor

    def applied_key(self) -> frozenset[tuple[str, str]]:
        return frozenset(self.loader.applied_migrations)

    def plan_to(self, targets: list[tuple[str, str]]) -> list[tuple[Any, bool]]:
        """Return the forward plan to `targets` (the leaves of the apps this database holds)."""
        return self.migration_plan(targets)

    def starting_state(self) -> Any:
        """Return the project state after this database's applied migrations (a clone of a cached render)."""
        if self.loader.replacements:
            return None  # squashed migrations: let Django work it out per database
        with _lock:
            key = (_loader[0] if _loader else None, self.applied_key())
            state = _states.get(key)
            if state is None:
                state = self._render_applied()
                state.apps  # noqa: B018 - render once (the expensive part)
                if len(_states) >= MAX_CACHED_STATES:
                    _states.pop(next(iter(_states)))
                _states[key] = state
            return state.clone()

    def _render_applied(self) -> Any:
        """Return the project state after the applied migrations (Django's own, private, method)."""
        return self._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]

    def collect(self, plan: list[tuple[Any, bool]]) -> Plan:
        """Return `plan` with its SQL, generated on this connection without running it."""
        if not plan:
            return Plan(replayable=True)
        state = self.starting_state()
        if state is None:
            state = self._render_applied()
        queries: list[str] = []
        sql: list[tuple[str, ...]] = []
        self.connection.ensure_connection()
        with self.connection.execute_wrapper(_counting(queries)):
            for migration, _ in plan:
                with self.connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                    state = migration.apply(state, editor, collect_sql=True)
                sql.append(tuple(editor.collected_sql))
        migrations = [migration for migration, _ in plan]
        operations = [op for migration in migrations for op in migration.operations]
        replayable = (not queries and not self.loader.replacements
                      and all(m.atomic for m in migrations) and all(op.reduces_to_sql for op in operations))
        return Plan(migrations=tuple(f"{m.app_label}.{m.name}" for m in migrations), sql=tuple(sql),
                    replayable=replayable,
                    changes_models=any(isinstance(op, MODEL_OPERATIONS) for op in operations))


def _counting(queries: list[str]) -> Any:
    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)  # generating SQL that needed a query: not replayable elsewhere
        return execute(sql, params, many, context)

    return wrapper


class PlanBook:
    """The plans of one run, keyed by server and applied set (shared by worker threads)."""

    def __init__(self) -> None:
        self._plans: dict[tuple[str, frozenset[tuple[str, str]]], Plan] = {}
        self._lock = threading.Lock()

    def add(self, server: str, applied: Iterable[tuple[str, str]], plan: Plan) -> None:
        with self._lock:
            self._plans[(server, frozenset(applied))] = plan

    def get(self, server: str, applied: Iterable[tuple[str, str]]) -> Plan | None:
        with self._lock:
            return self._plans.get((server, frozenset(applied)))

    def __contains__(self, key: tuple[str, frozenset[tuple[str, str]]]) -> bool:
        with self._lock:
            return key in self._plans

    def plans(self) -> list[Plan]:
        with self._lock:
            return list(self._plans.values())
