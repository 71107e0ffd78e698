"""Fleet runs at scale: many tenants, flat memory, replayed SQL identical to Django's, data migrations."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from migrations_tooling.locks import DATABASE_LOCK
from migrations_tooling.planning import plan_fleet
from migrations_tooling.replay import BUSY, CHANGED, guard_sql
from migrations_tooling.state import applied_migrations
from migrations_tooling.targets import Target
from routers.runtime import runtime
from routers.spec import TenantSpec
from tenants.models import Tenant
from tests.migrations_tooling.conftest import DATA, V2, connect, has_color, run, sql, statuses, tenant_records

RICH = {"fleetapp": "tests.fleetapp.migrations_rich"}
CATALOG = [
    "SELECT table_name, column_name, data_type, is_nullable, column_default, character_maximum_length "
    "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    "SELECT app, name FROM django_migrations ORDER BY 1, 2",
]


def traced_after(slugs: list[str]) -> int:
    """Migrate `slugs`; return the Python memory still allocated afterwards."""
    assert run(tenants=slugs, parallel=4).status == "done"
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_a_fleet_of_24_tenants_migrates_in_parallel_and_memory_stays_flat(
        make_fleet: Callable[[int], list[str]]) -> None:
    slugs = make_fleet(24)
    aliases_before, registered_before = set(connections.settings), runtime.registry.count()
    with override_settings(MIGRATION_MODULES=V2):
        tracemalloc.start()
        try:
            traced_after(slugs[:2])  # warm-up: graph, rendered state, lint cache
            after_n = traced_after(slugs[2:8])
            after_2n = traced_after(slugs[8:20])
        finally:
            tracemalloc.stop()
        # Twice the databases, no more memory kept: nothing accumulates per database.
        assert after_2n - after_n < 64 * 1024, (after_n, after_2n)
        result = run(parallel=4)  # the whole fleet: the last four migrate, the others are current
        found = statuses(result)
        assert [found[s] for s in slugs[20:]] == ["done"] * 4 and [found[s] for s in slugs[:20]] == ["skipped"] * 20
    assert all(has_color(slug) for slug in slugs)
    assert set(connections.settings) == aliases_before and runtime.registry.count() == registered_before
    assert sql(slugs[0], "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tessera-migrate'") \
        == [(0,)]


def test_replayed_sql_leaves_the_same_schema_as_django_migrate(make_fleet: Callable[[int], list[str]]) -> None:
    replayed, migrated = make_fleet(3)[0::2]  # both on server a
    with override_settings(MIGRATION_MODULES=RICH):
        fleet = plan_fleet([Target(replayed, "a", Tenant.objects.get(slug=replayed).database)], control=False)
        assert [p.replayable for p in fleet.book.plans()] == [True]
        result = run(tenants=[replayed], allow_unsafe=True)  # adds a non-concurrent index: refused otherwise
        assert result.status == "done", result.error
        tenant = Tenant.objects.get(slug=migrated)
        spec = TenantSpec(tenant.slug, tenant.server_id, tenant.database)
        runtime.registry.ensure(spec)
        try:
            call_command("migrate", database=spec.direct_alias, verbosity=0, interactive=False)
        finally:
            runtime.registry.unregister(spec.slug)
    for query in CATALOG:
        assert sql(replayed, query) == sql(migrated, query), query


def test_data_migrations_run_through_djangos_executor_in_each_database(fleet: list[str]) -> None:
    for slug in fleet:
        sql(slug, "INSERT INTO fleetapp_widget (name) VALUES ('a'), ('b')")
    with override_settings(MIGRATION_MODULES=DATA):
        target = Target(fleet[0], "a", Tenant.objects.get(slug=fleet[0]).database)
        assert [p.replayable for p in plan_fleet([target], control=False).book.plans()] == [False]
        result = run(parallel=3)
    assert result.status == "done", result.error
    assert {tuple(r.applied) for r in tenant_records(result)} == {
        ("fleetapp.0002_widget_color", "fleetapp.0003_paint_widgets")}
    assert all(sql(slug, "SELECT DISTINCT color FROM fleetapp_widget") == [("red",)] for slug in fleet)


def test_the_one_round_trip_guard_takes_the_lock_and_detects_a_changed_database(fleet: list[str]) -> None:
    target = Target(fleet[0], "a", Tenant.objects.get(slug=fleet[0]).database)
    applied = applied_migrations(target)
    assert sql(fleet[0], guard_sql(applied)) == []  # the applied set read at planning: passes
    with pytest.raises(psycopg2.Error) as changed:
        sql(fleet[0], guard_sql(applied - {("fleetapp", "0001_initial")}))
    assert changed.value.pgcode == CHANGED
    holder = connect(fleet[0])
    holder.cursor().execute("SELECT pg_advisory_lock(%s, %s)", DATABASE_LOCK)
    try:
        with pytest.raises(psycopg2.Error) as busy:
            sql(fleet[0], guard_sql(applied))
        assert busy.value.pgcode == BUSY
    finally:
        holder.close()
