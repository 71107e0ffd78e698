"""Query counts per endpoint: lists cost the same for 1 row and 100; docs/api.md quotes these numbers.

Counted on beta, whose server has no replica, so every tenant query lands on
one alias; the control plane must see none at all once the tenant is cached.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from projects.models import Comment, Export, Project, ProjectMembership, Task
from tests.factories import ProjectFactory, TaskFactory, UserFactory
from tests.projects.conftest import TenantWorld, as_user, seeded

AssertNumQueries = Callable[..., Any]


@pytest.fixture
def crowded(product: dict[str, TenantWorld]) -> tuple[TenantWorld, dict[str, int]]:
    """beta with 110+ of everything a list shows, all visible to its member (bulk-inserted: fast)."""
    beta = product["beta"]
    member, n = beta.users["member"], 110
    with seeded(beta.spec):
        people = get_user_model().objects.bulk_create(UserFactory.build_batch(n))
        tasks = Task.objects.bulk_create(
            TaskFactory.build(project=beta.project, assignee=member, reporter=people[i % 5], title=f"Fix thing {i}",
                              due_date=None if i % 3 else datetime.date(2030, 1, 1),
                              status="todo" if i % 2 else "done")
            for i in range(n))
        projects = Project.objects.bulk_create(ProjectFactory.build(key=f"Q{i}") for i in range(n))
        ProjectMembership.objects.bulk_create(
            [*(ProjectMembership(project=p, user=member) for p in projects),
             *(ProjectMembership(project=beta.project, user=u) for u in people)])
        busy = tasks[0]
        Comment.objects.bulk_create([*(Comment(task=t, author=people[0], body="x") for t in tasks),
                                     *(Comment(task=busy, author=people[1], body="y") for _ in range(n))])
        Export.objects.bulk_create(Export(requested_by=member) for _ in range(n))
        export = Export.objects.create(requested_by=member, status="done", content="id\n1\n")
    return beta, {"task": busy.pk, "project": beta.project.pk, "export": export.pk, "user": member.pk}


def _count(world: TenantWorld, path: str, expected: int, assert_num_queries: AssertNumQueries) -> Any:
    """GET `path` as the member, warmed, asserting `expected` tenant queries and no control query."""
    client = as_user(world, "member")
    # Check the tenant cache generation on every request (not once a second), so the warm-up
    # settles it: the first request may find it moved and refill, the second fills the host cache.
    with override_settings(TENANT_CACHE_CHECK_SECONDS=0):
        for _ in range(2):
            client.get("/api/me/")
        with assert_num_queries(expected, using=world.spec.alias), assert_num_queries(0, using="default"):
            response = client.get(path)
    assert response.status_code == 200, response.content
    return response


# path -> tenant queries. docs/api.md has the same table: keep them in step.
LISTS = {
    "/api/tasks/?page_size={n}": 2,                        # token, page
    "/api/tasks/?page_size={n}&search=thing": 2,           # token, ranked page
    "/api/tasks/?page_size={n}&ordering=due_date": 2,      # token, page
    "/api/tasks/?page_size={n}&status=todo&status=done&assignee={user}": 2,
    "/api/projects/?page_size={n}": 2,                     # token, page (role as a subquery)
    "/api/users/?page_size={n}": 2,                        # token, page
    "/api/exports/?page_size={n}": 2,                      # token, page
    "/api/tasks/{task}/comments/?page_size={n}": 3,        # token, task (with role), page
}


@pytest.mark.parametrize("template,expected", LISTS.items())
def test_list_query_count_is_the_same_for_1_and_100_rows(crowded: tuple[TenantWorld, dict[str, int]],
                                                        django_assert_num_queries: AssertNumQueries,
                                                        template: str, expected: int) -> None:
    world, ids = crowded
    for n in (1, 100):
        body = _count(world, template.format(n=n, **ids), expected, django_assert_num_queries).json()
        assert len(body["results"]) == n and body["next"]


def test_members_list_is_one_query_for_111_members(crowded: tuple[TenantWorld, dict[str, int]],
                                                    django_assert_num_queries: AssertNumQueries) -> None:
    world, ids = crowded
    rows = _count(world, f"/api/projects/{ids['project']}/members/", 3, django_assert_num_queries).json()
    assert len(rows) == 112  # token, project (with role), members


DETAILS = {
    "/api/me/": 1,                                         # token
    "/api/users/{user}/": 2,                               # token, user
    "/api/projects/{project}/": 2,                         # token, project (with role)
    "/api/tasks/{task}/": 2,                               # token, task (with role, comment count)
    "/api/exports/{export}/": 2,                           # token, export (without the file)
    "/api/exports/{export}/download/": 3,                  # token, export, file content
}


@pytest.mark.parametrize("template,expected", DETAILS.items())
def test_detail_query_counts(crowded: tuple[TenantWorld, dict[str, int]],
                             django_assert_num_queries: AssertNumQueries, template: str, expected: int) -> None:
    world, ids = crowded
    _count(world, template.format(**ids), expected, django_assert_num_queries)


def test_stats_cost_five_queries_cold_and_two_cached(crowded: tuple[TenantWorld, dict[str, int]],
                                                     django_assert_num_queries: AssertNumQueries) -> None:
    world, ids = crowded
    path = f"/api/projects/{ids['project']}/stats/"
    # token, project; then by status, aggregates, members (cold only)
    assert _count(world, path, 5, django_assert_num_queries).json()["cached"] is False
    assert _count(world, path, 2, django_assert_num_queries).json()["cached"] is True
