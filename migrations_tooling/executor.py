"""Django's migration executor, shared across a fleet: one graph, one rendered state per applied set.

Django's executor, run once per database, loads the migration files, builds
the graph and renders the project state again for each database. Across a
fleet all of that is the same wherever the applied migrations are the same,
so `FleetExecutor` builds the graph once per process (`project_loader`) and
renders each distinct starting state once; each database gets a clone.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import CreateModel, DeleteModel
from django.db.migrations.recorder import MigrationRecorder

from routers import Plane, plane_of

TENANT_PLANES = (Plane.TENANT, Plane.BOTH)
MAX_CACHED_STATES = 8
MODEL_OPERATIONS = (CreateModel, DeleteModel)  # content types and permissions follow them
UNAPPLIED = " (unapplied)"

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


def migration_key(migration: Any, *, backwards: bool = False) -> str:
    """Return how plans and the ledger name a migration applied ("app.name") or unapplied."""
    return f"{migration.app_label}.{migration.name}" + (UNAPPLIED if backwards else "")


class FleetExecutor(MigrationExecutor):
    """A MigrationExecutor that reuses, across databases, what does not depend on the database.

    Only the applied set is read per database. Safe to use from several
    threads, each with its own connection.
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
                state = self.render_applied()
                state.apps  # noqa: B018 - render once (the expensive part)
                if len(_states) >= MAX_CACHED_STATES:
                    _states.pop(next(iter(_states)))
                _states[key] = state
            return state.clone()

    def render_applied(self) -> Any:
        """Return the project state after the applied migrations (Django's own, private, method)."""
        return self._create_project_state(with_applied_migrations=True)  # type: ignore[attr-defined]
