"""Plan a run before anything is applied: states, one plan per distinct state, control plane.

    fleet = plan_fleet(targets, control=True)
    lint(fleet.plans())          # everything that would run, linted first
    fleet.book                   # what the workers replay

The SQL of each distinct (server, applied set) is generated once, on one
sample database of that group (in a transaction that is never committed:
generating SQL applies nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connections

from migrations_tooling.control import control_plan
from migrations_tooling.plans import FleetExecutor, Plan, PlanBook, tenant_leaves
from migrations_tooling.state import DatabaseState, Target, fleet_state
from migrations_tooling.worker import direct_alias


@dataclass
class FleetPlan:
    states: list[DatabaseState]
    book: PlanBook
    control: Plan = field(default_factory=Plan)

    def plans(self) -> list[Plan]:
        """Return every distinct plan of the run (the control plane's first)."""
        return [self.control, *self.book.plans()]

    def pending(self) -> list[str]:
        """Return every migration that would run somewhere, each once."""
        return list(dict.fromkeys(key for plan in self.plans() for key in plan.migrations))


def plan_fleet(targets: list[Target], *, control: bool) -> FleetPlan:
    """Read every target's state and plan each distinct one; plan the control plane when asked."""
    states = fleet_state(targets)
    book = PlanBook()
    for state in _samples(states):
        with direct_alias(state.target) as alias:
            executor = FleetExecutor(connections[alias])
            book.add(state.target.server, executor.applied_key(),
                     executor.collect(executor.plan_to(tenant_leaves(executor.loader))))
    return FleetPlan(states, book, control_plan() if control else Plan())


def _samples(states: Iterable[DatabaseState]) -> list[DatabaseState]:
    """Return one state per (server, applied set) that has something pending."""
    seen: dict[tuple[str, frozenset[tuple[str, str]]], DatabaseState] = {}
    for state in states:
        if state.pending and not state.error and not state.rebuild:
            seen.setdefault((state.target.server, state.applied), state)
    return list(seen.values())
