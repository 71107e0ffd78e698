"""Two tenants, every endpoint: foreign tokens are 401, foreign ids are 404, nothing leaks."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from projects.models import Comment, Export, Project, Task
from routers import tenant_context
from tests.api import Api
from tests.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory, UserFactory
from tests.projects.conftest import TenantWorld, as_user, seeded


def _ids(world: TenantWorld) -> dict[str, int]:
    with seeded(world.spec):
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
    ("post", "/api/tasks/"), ("post", "/api/users/"), ("patch", "/api/users/{user}/"),
    ("post", "/api/projects/{project}/members/"),
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


BY_ID = [e for e in ENDPOINTS if "{" in e[1]] + [("patch", "/api/users/{user}/"),
                                                  ("post", "/api/projects/{project}/members/")]
MARK = "beta-private"


@pytest.fixture
def beta_only(product: dict[str, TenantWorld]) -> dict[str, int]:
    """Objects of beta whose ids exist in beta's database and not in alpha's (beta has more rows)."""
    beta, alpha = product["beta"], product["alpha"]
    with seeded(beta.spec):
        ProjectFactory.create_batch(5)  # push beta's sequences past alpha's
        UserFactory.create_batch(5)
        CommentFactory.create_batch(5)
        Export.objects.bulk_create(Export(requested_by=beta.users["admin"]) for _ in range(5))
        owner = UserFactory(username=f"{MARK}-user", email=f"{MARK}@beta.test")
        project = ProjectFactory(name=f"{MARK} project", key="PRIV", description=MARK)
        MembershipFactory(project=project, user=owner, role="admin")
        task = TaskFactory(project=project, title=f"{MARK} task", description=MARK, assignee=owner)
        CommentFactory(task=task, author=owner, body=f"{MARK} comment")
        export = Export.objects.create(requested_by=owner, status="done", content=f"id\n{MARK}",
                                       file_name=f"{MARK}.csv")
    ids = {"project": project.pk, "task": task.pk, "user": owner.pk, "export": export.pk}
    with tenant_context(alpha.spec):
        assert not Project.objects.filter(pk=ids["project"]).exists()
        assert not Task.objects.filter(pk=ids["task"]).exists()
        assert not get_user_model().objects.filter(pk=ids["user"]).exists()
        assert not Export.objects.filter(pk=ids["export"]).exists()
    return ids


def _alpha_admin(product: dict[str, TenantWorld]) -> Api:
    """alpha's tenant admin (sees every object of alpha), addressing alpha by host name."""
    client = as_user(product["alpha"], "admin")
    client.host = f"alpha.{settings.TENANT_BASE_DOMAIN}"
    return client


@pytest.mark.parametrize("method,template", BY_ID)
def test_real_ids_of_another_tenant_are_404_and_never_its_data(product: dict[str, TenantWorld],
                                                               beta_only: dict[str, int], method: str,
                                                               template: str) -> None:
    path = template.format(**beta_only)
    if method == "get":  # control: the very same request as beta's admin finds beta's object
        control = as_user(product["beta"], "admin").get(path)
        assert control.status_code == 200, (path, control.content)
        assert MARK.encode() in control.content or path.endswith(("/stats/", "/members/"))
    response = _call(_alpha_admin(product), method, path)
    assert response.status_code == 404, (template, response.content)
    assert response.json()["code"] == "not_found"
    assert MARK.encode() not in response.content
    with tenant_context(product["beta"].spec):  # and beta's objects are untouched
        assert Project.objects.get(pk=beta_only["project"]).name == f"{MARK} project"
        assert Task.objects.filter(pk=beta_only["task"], comments__body=f"{MARK} comment").exists()
        assert get_user_model().objects.get(pk=beta_only["user"]).is_active


@pytest.mark.parametrize("field,path,payload", [
    ("project", "/api/tasks/", {"project": "{project}", "title": "x"}),
    ("assignee", "/api/tasks/", {"project": "{own_project}", "title": "x", "assignee": "{user}"}),
    ("user", "/api/projects/{own_project}/members/", {"user": "{user}", "role": "member"}),
])
def test_another_tenants_ids_in_a_body_are_unknown(product: dict[str, TenantWorld], beta_only: dict[str, int],
                                                  field: str, path: str, payload: dict[str, str]) -> None:
    ids = {**beta_only, "own_project": product["alpha"].project.pk}
    body = {key: int(value.format(**ids)) if value.startswith("{") else value for key, value in payload.items()}
    response = _alpha_admin(product).post(path.format(**ids), body)
    assert response.status_code == 400 and field in response.json()["fields"], response.content
    assert MARK.encode() not in response.content


def test_lists_only_ever_show_the_callers_tenant(product: dict[str, TenantWorld]) -> None:
    for slug, other in (("alpha", "beta"), ("beta", "alpha")):
        client = as_user(product[slug], "admin")
        for path in ("/api/projects/", "/api/tasks/", "/api/users/"):
            assert other.encode() not in client.get(path).content, (slug, path)
