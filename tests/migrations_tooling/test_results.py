"""Typed results and planning logic: pure functions, no service needed."""

from __future__ import annotations

import pytest

from migrations_tooling.planning import FleetPlan, Plan, PlanBook, samples
from migrations_tooling.replay import _after
from migrations_tooling.results import MAX_ERROR, Attempt, DatabaseResult, Outcome
from migrations_tooling.state import DatabaseState, compare
from migrations_tooling.targets import CONTROL, Target, TargetKind

pytestmark = pytest.mark.unit

A, B = Target("a-1", "a", "t_a_1"), Target("b-1", "b", "t_b_1")
TEMPLATE = Target("template:a", "a", "tpl", TargetKind.TEMPLATE)


def test_an_attempt_that_finishes_is_done_with_what_it_applied() -> None:
    with Attempt("a-1") as attempt:
        attempt.applied = ["fleetapp.0002_color"]
        attempt.attempts = 2
    result = attempt.result()
    assert (result.outcome, result.applied, result.attempts, result.error) == (
        Outcome.DONE, ("fleetapp.0002_color",), 2, "")
    assert result.ok and result.duration_ms >= 0


def test_an_attempt_that_raises_is_a_failed_result_that_applied_nothing() -> None:
    with Attempt("a-1") as attempt:
        attempt.applied = ["fleetapp.0002_color"]
        raise ValueError("x" * (2 * MAX_ERROR))
    result = attempt.result()
    assert result.outcome == Outcome.FAILED and not result.ok and result.applied == ()
    assert result.error.startswith("ValueError: x") and len(result.error) == MAX_ERROR


def test_an_interrupt_is_not_swallowed_as_a_database_failure() -> None:
    with pytest.raises(KeyboardInterrupt), Attempt("a-1"):
        raise KeyboardInterrupt


def test_a_result_is_asked_for_only_after_its_block() -> None:
    with pytest.raises(RuntimeError):
        Attempt("a-1").result()


def test_a_result_is_frozen_and_its_event_carries_the_outcome_as_text() -> None:
    result = DatabaseResult("a-1", Outcome.FAILED, error="boom")
    with pytest.raises(AttributeError):
        result.outcome = Outcome.DONE  # type: ignore[misc]
    assert result.as_event() == {"label": "a-1", "status": "failed", "applied": [], "attempts": 1,
                                 "duration_ms": 0, "error": "boom"}


@pytest.mark.parametrize(("label", "kind"), [(CONTROL, TargetKind.CONTROL), ("template:b", TargetKind.TEMPLATE),
                                             ("acme", TargetKind.TENANT), ("templates-inc", TargetKind.TENANT)])
def test_a_ledger_label_names_its_kind(label: str, kind: TargetKind) -> None:
    assert TargetKind.of_label(label) == kind


def test_compare_finds_pending_in_order_and_unknown_only_in_the_apps_it_covers() -> None:
    order = [("auth", "0001"), ("fleetapp", "0001"), ("fleetapp", "0002")]
    applied = frozenset({("auth", "0001"), ("fleetapp", "0009"), ("tenants", "0001")})
    state = compare(A, applied, order)
    assert state.pending == ("fleetapp.0001", "fleetapp.0002") and state.unknown == ("fleetapp.0009",)
    assert state.needs_work


def test_one_sample_is_planned_per_server_and_applied_set_with_work() -> None:
    one = frozenset({("fleetapp", "0001")})
    states = [DatabaseState(A, ("fleetapp.0002",), (), applied=one),
              DatabaseState(Target("a-2", "a", "t_a_2"), ("fleetapp.0002",), (), applied=one),
              DatabaseState(B, ("fleetapp.0002",), (), applied=one),
              DatabaseState(Target("a-3", "a", "t_a_3"), (), (), applied=one | {("fleetapp", "0002")}),
              DatabaseState(Target("a-4", "a", "t_a_4"), ("fleetapp.0002",), (), error="unreachable"),
              DatabaseState(TEMPLATE, ("fleetapp.0001",), (), rebuild=True)]
    assert [s.target.label for s in samples(states)] == ["a-1", "b-1"]


def test_a_fleet_plan_names_unknown_databases_and_templates_to_rebuild() -> None:
    states = [DatabaseState(A, (), ("fleetapp.0009",)), DatabaseState(TEMPLATE, (), ("fleetapp.0009",)),
              DatabaseState(Target("template:b", "b", "tpl", TargetKind.TEMPLATE), ("x.1",), (), rebuild=True)]
    control = DatabaseState(Target(CONTROL, CONTROL, "ctl", TargetKind.CONTROL), (), ("auth.0099",))
    fleet = FleetPlan(states, PlanBook(), Plan(migrations=("auth.0013",)), control)
    mismatch = fleet.mismatch()
    assert mismatch.unknown == [CONTROL, "a-1"] and mismatch.rebuild == ["template:a", "template:b"]
    assert [n["code"] for n in fleet.mismatch_notes()] == ["UNKNOWN_MIGRATIONS", "UNKNOWN_MIGRATIONS",
                                                          "TEMPLATE_REBUILD", "TEMPLATE_REBUILD"]
    assert fleet.pending() == ["auth.0013"]


def test_a_plan_script_records_its_migrations_and_refuses_odd_names() -> None:
    plan = Plan(migrations=("fleetapp.0002_color",), sql=(("-- comment", "ALTER TABLE w ADD c int;"),))
    script = plan.script()
    assert "ALTER TABLE w ADD c int;" in script and "-- comment" not in script
    assert script.endswith("VALUES ('fleetapp', '0002_color', now());")
    with pytest.raises(ValueError):
        Plan(migrations=("fleetapp.0002'; DROP",)).script()


def test_after_a_plan_its_migrations_join_the_applied_set() -> None:
    plan = Plan(migrations=("fleetapp.0002_color", "auth.0013_x"))
    assert _after(plan, {("fleetapp", "0001_initial")}) == {
        ("fleetapp", "0001_initial"), ("fleetapp", "0002_color"), ("auth", "0013_x")}


def test_a_stamp_covers_the_tenant_apps_only() -> None:
    from migrations_tooling import stamps
    from tenants import templates

    expected = templates.expected_migrations()
    assert stamps.stamp_of(expected | {("tenants", "0001_initial")}) == stamps.stamp_of(expected)
    assert stamps.stamp_of(expected) == templates.fingerprint()
    assert stamps.stamp_of(set(list(expected)[1:])) != templates.fingerprint()
