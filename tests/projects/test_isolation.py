"""Two tenants, every endpoint: foreign tokens are 401, foreign ids are 404, nothing leaks."""

from __future__ import annotations

import pytest

from projects.models import Comment, Export, Project, Task
from routers import tenant_context
from tests.projects.conftest import TenantWorld, as_user


def _ids(world: TenantWorld) -> dict[str, int]:
    with tenant_context(world.spec):
        task = Task.objects.filter(project=world.project).first()
        comment = Comment.objects.create(task=task, author=world.users["member"], body="private")
        export = Export.objects.create(requested_by=world.users["admin"], status="done", content="secret,csv")
    return {"project": world.project.pk, "task": task.pk, "comment": comment.pk, "export": export.pk,
            "user": world.users["member"].pk}


ENDPOINTS = [
    ("get", "/api/me/"), ("get", "/api/users/"), ("get", "/api/users/{user}/"), ("get", "/api/projects/"),
    ("get", "/api/projects/{project}/"), ("get", "/api/projects/{project}/stats/"),
    ("get", "/api/projects/{project}/members/"), ("patch", "/api/projects/{project}/"),
    ("delete", "/api/projects/{project}/"), ("get", "/api/tasks/"), ("get", "/api/tasks/{task}/"),
    ("patch", "/api/tasks/{task}/"), ("delete", "/api/tasks/{task}/"), ("get", "/api/tasks/{task}/comments/"),
    ("post", "/api/tasks/{task}/comments/"), ("get", "/api/exports/"), ("get", "/api/exports/{export}/"),
    ("get", "/api/exports/{export}/download/"), ("post", "/api/exports/"), ("post", "/api/projects/"),
    ("post", "/api/tasks/"),
]


def _call(client: object, method: str, path: str) -> object:
    payload = {"body": "x", "name": "x", "title": "x", "key": "XX", "project": 1}
    if method in ("post", "patch"):
        return getattr(client, method)(path, payload)
    return getattr(client, method)(path)


@pytest.mark.parametrize("method,template", ENDPOINTS)
def test_a_token_from_another_tenant_is_401_everywhere(product: dict[str, TenantWorld], method: str,
                                                       template: str) -> None:
    ids = _ids(product["alpha"])
    beta_admin_on_alpha = as_user(product["beta"], "admin", tenant="alpha")
    response = _call(beta_admin_on_alpha, method, template.format(**ids))
    assert response.status_code == 401, (template, response.content)
    assert response.json()["code"] in ("authentication_failed", "not_authenticated")


@pytest.mark.parametrize("method,template", [e for e in ENDPOINTS if "{" in e[1] and "{user}" not in e[1]])
def test_ids_of_another_tenant_are_404_never_its_data(product: dict[str, TenantWorld], method: str,
                                                      template: str) -> None:
    alpha_ids = _ids(product["alpha"])
    beta = product["beta"]
    with tenant_context(beta.spec):  # make sure beta has no object with alpha's ids
        Project.objects.filter(pk=alpha_ids["project"]).exclude(pk=beta.project.pk).delete()
    beta_admin = as_user(beta, "admin")
    # beta's own objects have the same ids as alpha's (separate databases, both start at 1);
    # use ids beta does not have to prove a foreign id never reaches alpha's rows.
    foreign = {key: value + 1000 for key, value in alpha_ids.items()}
    response = _call(beta_admin, method, template.format(**foreign))
    assert response.status_code == 404, (template, response.content)
    assert b"secret" not in response.content and b"alpha" not in response.content


def test_lists_only_ever_show_the_callers_tenant(product: dict[str, TenantWorld]) -> None:
    for slug, other in (("alpha", "beta"), ("beta", "alpha")):
        client = as_user(product[slug], "admin")
        for path in ("/api/projects/", "/api/tasks/", "/api/users/"):
            assert other.encode() not in client.get(path).content, (slug, path)
