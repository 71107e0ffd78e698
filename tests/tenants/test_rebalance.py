"""Rebalance planning: moves that even servers out, never ones that only swap which is heavier."""

from __future__ import annotations

import pytest

from tenants.rebalance import Balance, Move, TenantLoad, plan_moves

MB = 1_000_000


def _tenants(prefix: str, *sizes: int) -> list[TenantLoad]:
    return [TenantLoad(f"{prefix}{n}", size * MB) for n, size in enumerate(sizes)]


@pytest.mark.unit
def test_by_count_moves_the_smallest_tenants_from_the_fullest_server_until_counts_differ_by_one() -> None:
    moves = plan_moves({"a": _tenants("a", 5, 1, 3, 2), "b": []}, by=Balance.COUNT)
    assert moves == [Move("a1", "a", "b", 1 * MB), Move("a3", "a", "b", 2 * MB)]


@pytest.mark.unit
def test_by_count_a_balanced_fleet_needs_no_move() -> None:
    assert plan_moves({"a": _tenants("a", 1, 2), "b": _tenants("b", 9)}, by=Balance.COUNT) == []


@pytest.mark.unit
def test_by_size_moves_the_tenant_nearest_half_the_gap() -> None:
    moves = plan_moves({"a": _tenants("a", 100, 40, 10), "b": _tenants("b", 20)}, by=Balance.SIZE)
    assert moves[0] == Move("a1", "a", "b", 40 * MB)  # gap 130: 40 leaves 50, 100 would leave 70 the other way


@pytest.mark.unit
def test_by_size_never_moves_a_tenant_as_big_as_the_gap() -> None:
    assert plan_moves({"a": _tenants("a", 100), "b": _tenants("b", 10)}, by=Balance.SIZE) == []


@pytest.mark.unit
def test_only_open_servers_receive_tenants() -> None:
    moves = plan_moves({"a": _tenants("a", 1, 1, 1, 1), "b": [], "c": []}, targets={"a", "c"})
    assert {move.target for move in moves} == {"c"}


@pytest.mark.unit
def test_the_plan_stops_at_max_moves() -> None:
    assert len(plan_moves({"a": _tenants("a", *[1] * 10), "b": []}, max_moves=2)) == 2


@pytest.mark.unit
def test_three_servers_end_within_one_tenant_of_each_other() -> None:
    servers = {"a": _tenants("a", *[1] * 9), "b": _tenants("b", 1), "c": []}
    moves = plan_moves(servers, by=Balance.COUNT)
    counts = {"a": 9, "b": 1, "c": 0}
    for move in moves:
        counts[move.source] -= 1
        counts[move.target] += 1
    assert max(counts.values()) - min(counts.values()) <= 1
