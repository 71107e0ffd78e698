"""Stamps: a run remembers which databases are current, so the next one need not connect to them."""

from __future__ import annotations

from collections.abc import Callable

from django.test import override_settings

from migrations_tooling import selectors, stamps
from migrations_tooling.planning import plan_fleet
from migrations_tooling.targets import TargetKind, fleet_targets
from tenants.models import Tenant
from tenants.templates import fingerprint
from tests.migrations_tooling.conftest import V2, has_color, run, sql, statuses


def stamp(slug: str) -> str | None:
    tenant = Tenant.objects.get(slug=slug)
    return stamps.server_stamps(tenant.server_id).get(tenant.database)


def tenant_states() -> dict[str, bool]:
    """Return slug -> whether planning found the database current by its stamp alone."""
    fleet = plan_fleet(fleet_targets(), control=False)
    return {s.target.label: s.stamped for s in fleet.states if s.target.kind == TargetKind.TENANT}


def test_a_run_stamps_the_databases_it_read_current_and_the_next_plan_reads_none(
        make_fleet: Callable[[int], list[str]]) -> None:
    slugs = make_fleet(2)
    assert [stamp(slug) for slug in slugs] == [None, None]  # clones do not inherit a stamp
    assert tenant_states() == dict.fromkeys(slugs, False)
    result = run()
    assert result.status == "done" and {statuses(result)[s] for s in slugs} == {"skipped"}
    assert [stamp(slug) for slug in slugs] == [fingerprint()] * 2
    assert tenant_states() == dict.fromkeys(slugs, True)


def test_a_replayed_migration_restamps_the_database_in_its_transaction(
        make_fleet: Callable[[int], list[str]]) -> None:
    slugs = make_fleet(2)
    assert run().status == "done"
    with override_settings(MIGRATION_MODULES=V2):
        result = run()
        assert result.status == "done" and {statuses(result)[s] for s in slugs} == {"done"}
        assert [stamp(slug) for slug in slugs] == [fingerprint()] * 2 and all(has_color(s) for s in slugs)
        assert tenant_states() == dict.fromkeys(slugs, True)
        assert {statuses(run())[s] for s in slugs} == {"skipped"}


def test_django_s_executor_clears_the_stamp_so_the_next_run_reads_the_database(
        make_fleet: Callable[[int], list[str]]) -> None:
    slug, = make_fleet(1)
    with override_settings(MIGRATION_MODULES=V2):
        assert run().status == "done" and stamp(slug) == fingerprint()
        assert run(target=["fleetapp", "0001_initial"]).status == "done"  # backwards, through the executor
        assert stamp(slug) is None and not has_color(slug)
        result = run()
        assert statuses(result)[slug] == "done" and has_color(slug) and stamp(slug) == fingerprint()


def test_the_drift_check_reads_every_database_whatever_its_stamp(make_fleet: Callable[[int], list[str]]) -> None:
    slug, = make_fleet(1)
    assert run().status == "done"
    sql(slug, "DELETE FROM django_migrations WHERE app = 'fleetapp'")  # by hand: the stamp cannot know
    assert tenant_states() == {slug: True}
    report = selectors.drift_report()
    assert [d["database_label"] for d in report["databases"]] == [slug]
    assert report["databases"][0]["missing"] == ["fleetapp.0001_initial"]
