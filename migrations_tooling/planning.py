"""Plan a run before anything is applied: states, one plan per distinct state, the control plane.

    fleet = plan_fleet(targets, control=True)
    lint(fleet.plans())          # everything that would run, linted first
    fleet.book                   # what the workers replay
    fleet.control                # what the control plane applies (planned here, once)

A `Plan` holds the pending migrations of one database state in order and the
SQL of each, collected the way `sqlmigrate` collects it. The SQL of each
distinct (server, applied set) is generated once, on one sample database of
that group (in a transaction that is never committed: generating SQL applies
nothing).

A plan is *replayable* when every migration is atomic, every operation reduces
to SQL, there are no squashed migrations, and generating the SQL ran no query
(an operation that introspects the database, such as altering a column that
has constraints, could generate different SQL elsewhere). Workers replay such
a plan in one transaction per database; any other plan goes through Django's
executor (`FleetExecutor`), which still reuses the graph and rendered states.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from core.aliases import CONTROL_ALIAS
from migrations_tooling.aliases import direct_alias
from migrations_tooling.executor import MODEL_OPERATIONS, FleetExecutor, migration_key, project_loader, tenant_leaves
from migrations_tooling.state import DatabaseState, compare, fleet_state
from migrations_tooling.targets import Target, TargetKind, control_target
from tenants import templates

NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")  # app labels and migration module names are identifiers
Applied = frozenset[tuple[str, str]]


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


class PlanBook:
    """The plans of one run, keyed by server and applied set (shared by worker threads)."""

    def __init__(self) -> None:
        self._plans: dict[tuple[str, Applied], Plan] = {}
        self._lock = threading.Lock()

    def add(self, server: str, applied: Iterable[tuple[str, str]], plan: Plan) -> None:
        with self._lock:
            self._plans[(server, frozenset(applied))] = plan

    def get(self, server: str, applied: Iterable[tuple[str, str]]) -> Plan | None:
        with self._lock:
            return self._plans.get((server, frozenset(applied)))

    def plans(self) -> list[Plan]:
        with self._lock:
            return list(self._plans.values())


def collect(executor: FleetExecutor, plan: list[tuple[Any, bool]]) -> Plan:
    """Return `plan` with its SQL, generated on the executor's connection without running it."""
    if not plan:
        return Plan(replayable=True)
    state = executor.starting_state()
    if state is None:
        state = executor.render_applied()
    queries: list[str] = []
    sql: list[tuple[str, ...]] = []
    executor.connection.ensure_connection()
    with executor.connection.execute_wrapper(_counting(queries)):
        for migration, _ in plan:
            with executor.connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                state = migration.apply(state, editor, collect_sql=True)
            sql.append(tuple(editor.collected_sql))
    migrations = [migration for migration, _ in plan]
    operations = [op for migration in migrations for op in migration.operations]
    replayable = (not queries and not executor.loader.replacements
                  and all(m.atomic for m in migrations) and all(op.reduces_to_sql for op in operations))
    return Plan(migrations=tuple(migration_key(m) for m in migrations), sql=tuple(sql), replayable=replayable,
                changes_models=any(isinstance(op, MODEL_OPERATIONS) for op in operations))


def _counting(queries: list[str]) -> Any:
    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)  # generating SQL that needed a query: not replayable elsewhere
        return execute(sql, params, many, context)

    return wrapper


def ordered_expected() -> list[tuple[str, str]]:
    """Return the expected tenant migrations in an order that respects dependencies."""
    return _ordered(project_loader(), templates.expected_migrations())


@functools.lru_cache(maxsize=4)
def _ordered(loader: Any, expected: Applied) -> list[tuple[str, str]]:
    order: dict[tuple[str, str], None] = {}
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key in expected:
                order.setdefault(key, None)
    return list(order)


def control_plan(to: tuple[str, str] | None = None) -> Plan:
    """Return the control plane's pending migrations with their SQL (nothing is applied).

    To a target migration: the migrations to apply or unapply, without SQL
    (the executor generates it when it runs).
    """
    executor = FleetExecutor(connections[CONTROL_ALIAS])
    if to is not None:
        return Plan(migrations=tuple(migration_key(m, backwards=b) for m, b in executor.plan_to([to])))
    return collect(executor, executor.plan_to(executor.loader.graph.leaf_nodes()))


def control_state() -> DatabaseState:
    """Compare the control plane's applied migrations with every migration of the code.

    `migrate --database default` records every app's migrations there (the
    router skips the operations of tenant-only apps), so all are expected.
    """
    executor = FleetExecutor(connections[CONTROL_ALIAS])
    graph = executor.loader.graph
    order = list(dict.fromkeys(key for leaf in sorted(graph.leaf_nodes()) for key in graph.forwards_plan(leaf)))
    return compare(control_target(), executor.applied_key(), order)


@dataclass(frozen=True)
class Mismatch:
    """Where the databases and the code disagree beyond pending migrations."""

    unknown: list[str]  # databases (control plane, tenants) holding migrations the code does not know
    rebuild: list[str]  # templates that will be rebuilt from scratch (missing, or unknown migrations)

    def as_dict(self) -> dict[str, list[str]]:
        return {"unknown": self.unknown, "rebuild": self.rebuild}


def _rebuilds(state: DatabaseState) -> bool:
    return state.target.kind == TargetKind.TEMPLATE and bool(state.rebuild or state.unknown)


@dataclass(frozen=True)
class FleetPlan:
    """Everything a run will do, read and planned before anything is applied."""

    states: list[DatabaseState]
    book: PlanBook
    control: Plan = field(default_factory=Plan)
    control_state: DatabaseState | None = None

    def _all_states(self) -> list[DatabaseState]:
        return [self.control_state, *self.states] if self.control_state else list(self.states)

    def mismatch(self) -> Mismatch:
        """Return the databases with migrations unknown to the code and the templates to rebuild."""
        states = self._all_states()
        unknown = [s.target.label for s in states if s.unknown and s.target.kind != TargetKind.TEMPLATE]
        return Mismatch(unknown, [s.target.label for s in states if _rebuilds(s)])

    def mismatch_notes(self) -> list[dict[str, object]]:
        """Return the mismatches as non-blocking findings for the run's ledger (`MigrationRun.lint`)."""
        notes: list[dict[str, object]] = []
        for state in self._all_states():
            label = state.target.label
            if _rebuilds(state):
                notes.append({"migration": "", "code": "TEMPLATE_REBUILD", "blocking": False, "database": label,
                              "message": f"{label} is rebuilt from scratch (missing or holding unknown migrations)"})
            elif state.unknown:
                notes.append({"migration": ", ".join(state.unknown), "code": "UNKNOWN_MIGRATIONS", "blocking": False,
                              "database": label, "message": f"{label} holds migrations this code does not know"})
        return notes

    def plans(self) -> list[Plan]:
        """Return every distinct plan of the run (the control plane's first)."""
        return [self.control, *self.book.plans()]

    def pending(self) -> list[str]:
        """Return every migration that would run somewhere, each once."""
        return list(dict.fromkeys(key for plan in self.plans() for key in plan.migrations))


def plan_fleet(targets: list[Target], *, control: bool, to: tuple[str, str] | None = None,
               collect_sql: bool = True) -> FleetPlan:
    """Read every target's state and plan each distinct one; plan the control plane when asked.

    With `to` (a target migration, forwards or backwards), each database's
    pending list is the executor's plan to it; nothing is replayed. Without
    `collect_sql`, only the states are read (a preview: no SQL is generated).
    """
    states = fleet_state(targets, ordered_expected(), trust_stamps=to is None)
    book = PlanBook()
    if to is not None:
        states = [_towards(state, to) for state in states]
    for state in samples(states) if collect_sql and not to else []:
        with direct_alias(state.target) as alias:
            executor = FleetExecutor(connections[alias])
            book.add(state.target.server, executor.applied_key(),
                     collect(executor, executor.plan_to(tenant_leaves(executor.loader))))
    return FleetPlan(states, book, control_plan(to) if control else Plan(), control_state() if control else None)


def _towards(state: DatabaseState, to: tuple[str, str]) -> DatabaseState:
    """Return `state` with the migrations to apply or unapply to reach `to` as its pending list."""
    if state.error:
        return state
    plan = FleetExecutor.offline(state.applied).plan_to([to])
    pending = tuple(migration_key(migration, backwards=backwards) for migration, backwards in plan)
    return dataclasses.replace(state, pending=pending, rebuild=False, stale=False)


def samples(states: Iterable[DatabaseState]) -> list[DatabaseState]:
    """Return one state per (server, applied set) that has something pending (where its SQL is generated)."""
    seen: dict[tuple[str, Applied], DatabaseState] = {}
    for state in states:
        if state.pending and not state.error and not state.rebuild:
            seen.setdefault((state.target.server, state.applied), state)
    return list(seen.values())
