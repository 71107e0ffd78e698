"""Plan a run before anything is applied: states, one plan per distinct state, control plane.

    fleet = plan_fleet(targets, control=True)
    lint(fleet.plans())          # everything that would run, linted first
    fleet.book                   # what the workers replay

The SQL of each distinct (server, applied set) is generated once, on one
sample database of that group (in a transaction that is never committed:
generating SQL applies nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connections

from migrations_tooling.apply import direct_alias
from migrations_tooling.control import control_plan, control_state
from migrations_tooling.plans import FleetExecutor, Plan, PlanBook, migration_key, tenant_leaves
from migrations_tooling.state import DatabaseState, Target, TargetKind, fleet_state


@dataclass(frozen=True)
class Mismatch:
    """Where the databases and the code disagree beyond pending migrations."""

    unknown: list[str]  # databases (control plane, tenants) holding migrations the code does not know
    rebuild: list[str]  # templates that will be rebuilt from scratch (missing, or unknown migrations)

    def as_dict(self) -> dict[str, list[str]]:
        return {"unknown": self.unknown, "rebuild": self.rebuild}


@dataclass
class FleetPlan:
    states: list[DatabaseState]
    book: PlanBook
    control: Plan = field(default_factory=Plan)
    control_state: DatabaseState | None = None

    def mismatch(self) -> Mismatch:
        """Return the databases with migrations unknown to the code and the templates to rebuild."""
        states = [self.control_state] if self.control_state else []
        states += self.states
        unknown = [s.target.label for s in states if s.unknown and s.target.kind != TargetKind.TEMPLATE]
        rebuild = [s.target.label for s in states if s.target.kind == TargetKind.TEMPLATE and (s.rebuild or s.unknown)]
        return Mismatch(unknown, rebuild)

    def mismatch_notes(self) -> list[dict[str, object]]:
        """Return the mismatches as non-blocking findings for the run's ledger (`MigrationRun.lint`)."""
        states = [self.control_state] if self.control_state else []
        notes: list[dict[str, object]] = []
        for state in [*states, *self.states]:
            label = state.target.label
            if state.target.kind == TargetKind.TEMPLATE and (state.rebuild or state.unknown):
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
               collect: bool = True) -> FleetPlan:
    """Read every target's state and plan each distinct one; plan the control plane when asked.

    With `to` (a target migration, forwards or backwards), each database's
    pending list is the executor's plan to it; nothing is replayed. Without
    `collect`, only the states are read (a preview: no SQL is generated).
    """
    states = fleet_state(targets)
    book = PlanBook()
    if to is not None:
        states = [_towards(state, to) for state in states]
    for state in _samples(states) if collect and not to else []:
        with direct_alias(state.target) as alias:
            executor = FleetExecutor(connections[alias])
            book.add(state.target.server, executor.applied_key(),
                     executor.collect(executor.plan_to(tenant_leaves(executor.loader))))
    return FleetPlan(states, book, control_plan(to) if control else Plan(), control_state() if control else None)


def _towards(state: DatabaseState, to: tuple[str, str]) -> DatabaseState:
    """Return `state` with the migrations to apply or unapply to reach `to` as its pending list."""
    if state.error:
        return state
    plan = FleetExecutor.offline(state.applied).plan_to([to])
    pending = tuple(migration_key(migration, backwards=backwards) for migration, backwards in plan)
    return dataclasses.replace(state, pending=pending, rebuild=False, stale=False)


def _samples(states: Iterable[DatabaseState]) -> list[DatabaseState]:
    """Return one state per (server, applied set) that has something pending."""
    seen: dict[tuple[str, frozenset[tuple[str, str]]], DatabaseState] = {}
    for state in states:
        if state.pending and not state.error and not state.rebuild:
            seen.setdefault((state.target.server, state.applied), state)
    return list(seen.values())
