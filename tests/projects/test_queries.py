"""List endpoints run a constant number of queries whatever the page size."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from projects.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory, UserFactory
from routers import tenant_context
from tests.projects.conftest import TenantWorld, as_user


def _queries(world: TenantWorld, path: str) -> int:
    spec = world.spec
    aliases = [spec.alias, spec.replica_alias(0)] if spec.server == "a" else [spec.alias]
    client = as_user(world, "member")
    client.get(path)  # warm: connections, tenant cache, replica status
    contexts = [CaptureQueriesContext(connections[alias]) for alias in aliases]
    for ctx in contexts:
        ctx.__enter__()
    try:
        response = client.get(path)
    finally:
        for ctx in contexts:
            ctx.__exit__(None, None, None)
    assert response.status_code == 200, response.content
    return sum(len(ctx.captured_queries) for ctx in contexts)


@pytest.fixture
def crowded(product: dict[str, TenantWorld]) -> TenantWorld:
    alpha = product["alpha"]
    with tenant_context(alpha.spec):
        people = UserFactory.create_batch(5)
        for i in range(110):
            task = TaskFactory(project=alpha.project, assignee=alpha.users["member"], reporter=people[i % 5])
            CommentFactory(task=task, author=people[i % 5])
        for i in range(110):
            MembershipFactory(project=ProjectFactory(key=f"Q{i}"), user=alpha.users["member"])
    return alpha


# path template -> expected query count (auth token + the page [+ count-free extras])
LISTS = {
    "/api/tasks/?page_size={n}": 2,
    "/api/projects/?page_size={n}": 2,
    "/api/users/?page_size={n}": 2,
    "/api/tasks/?page_size={n}&search=fix": 2,
}


@pytest.mark.parametrize("template,expected", LISTS.items())
def test_list_query_count_does_not_grow_with_page_size(crowded: TenantWorld, template: str,
                                                       expected: int) -> None:
    one = _queries(crowded, template.format(n=1))
    hundred = _queries(crowded, template.format(n=100))
    assert one == hundred == expected


def test_comment_list_query_count_is_constant(crowded: TenantWorld) -> None:
    with tenant_context(crowded.spec):
        task = crowded.project.tasks.first()
        CommentFactory.create_batch(120, task=task)
    one = _queries(crowded, f"/api/tasks/{task.pk}/comments/?page_size=1")
    hundred = _queries(crowded, f"/api/tasks/{task.pk}/comments/?page_size=100")
    assert one == hundred == 3  # token, the task (with role), the page
