"""The tenant context: scoping, nesting, threads, asyncio."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async

from core.logging import tenant_slug_var
from projects.models import Project
from routers import (
    TenantContextMissing,
    TenantSpec,
    current_alias,
    current_tenant,
    current_tenant_or_none,
    tenant_context,
)
from routers.exceptions import InvalidTenantSpec
from tests.routers.helpers import wait_replica_caught_up


@pytest.mark.unit
def test_no_tenant_means_an_exception_never_a_fallback() -> None:
    assert current_tenant_or_none() is None
    with pytest.raises(TenantContextMissing):
        current_tenant()
    with pytest.raises(TenantContextMissing):
        current_alias()


@pytest.mark.unit
def test_tenant_model_query_without_context_raises() -> None:
    with pytest.raises(TenantContextMissing, match=r"projects\.Project"):
        Project.objects.count()
    with pytest.raises(TenantContextMissing):
        Project(name="x", key="XX").save()


def test_context_nests_and_restores(tenants: dict[str, TenantSpec]) -> None:
    alpha, beta = tenants["alpha"], tenants["beta"]
    with tenant_context(alpha):
        assert current_alias() == "tenant:alpha"
        assert tenant_slug_var.get() == "alpha"
        with tenant_context(beta):
            assert current_tenant() is beta
        assert current_tenant() is alpha
    assert current_tenant_or_none() is None
    assert tenant_slug_var.get() == "-"


@pytest.mark.unit
@pytest.mark.parametrize("slug,database", [("A-bad", "t_x"), ("ok-slug", "x;drop"), ("ab", "t_ab")])
def test_specs_are_validated(slug: str, database: str) -> None:
    with pytest.raises(InvalidTenantSpec):
        TenantSpec(slug, "a", database)


def test_threads_serving_different_tenants_never_see_each_others_data(
    tenants: dict[str, TenantSpec],
) -> None:
    barrier = threading.Barrier(8)
    errors: list[str] = []

    def serve(worker: int) -> None:
        spec = tenants["alpha"] if worker % 2 else tenants["beta"]
        barrier.wait()
        for i in range(25):
            with tenant_context(spec):
                Project.objects.create(name=spec.slug, key=f"K{worker}X{i}")
                names = set(Project.objects.values_list("name", flat=True))
                if names != {spec.slug} or current_tenant() is not spec:
                    errors.append(f"worker {worker} in {spec.slug} saw {names}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(serve, range(8)))
    assert errors == []
    wait_replica_caught_up()  # a new unit of work with no read-after token may read a replica
    for slug, spec in tenants.items():
        with tenant_context(spec):
            assert set(Project.objects.values_list("name", flat=True)) == {slug}
            assert Project.objects.count() == 4 * 25


def test_asyncio_tasks_keep_their_own_tenant(tenants: dict[str, TenantSpec]) -> None:
    @sync_to_async
    def count_and_name() -> tuple[str, int]:
        return current_tenant().slug, Project.objects.count()

    async def work(spec: TenantSpec, delay: float) -> tuple[str, int]:
        with tenant_context(spec):
            await asyncio.sleep(delay)
            return await count_and_name()

    async def main() -> list[tuple[str, int]]:
        return await asyncio.gather(work(tenants["alpha"], 0.02), work(tenants["beta"], 0.0))

    with tenant_context(tenants["alpha"]):
        Project.objects.create(name="only-alpha", key="AA")
    assert asyncio.run(main()) == [("alpha", 1), ("beta", 0)]
