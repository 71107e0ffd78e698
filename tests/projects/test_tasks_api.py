"""Tasks and comments: CRUD, filters, full-text search, ordering, cursor pagination, permissions."""

from __future__ import annotations

import datetime

from tests.factories import TaskFactory
from tests.projects.conftest import TenantWorld, as_user, seeded


def test_members_create_and_update_tasks_viewers_cannot(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member, viewer = as_user(alpha, "member"), as_user(alpha, "viewer")
    payload = {"project": alpha.project.pk, "title": "Ship it", "tags": ["release"], "priority": 3,
               "custom_fields": {"estimate": 5}, "assignee": alpha.users["member"].pk, "due_date": "2030-01-02"}
    created = member.post("/api/tasks/", payload)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["reporter"]["username"] == "member-alpha" and body["project_key"] == "MAIN"
    assert body["tags"] == ["release"] and body["custom_fields"] == {"estimate": 5}
    denied = viewer.post("/api/tasks/", payload)
    assert denied.status_code == 400 and "project" in denied.json()["fields"]
    assert viewer.patch(f"/api/tasks/{body['id']}/", {"status": "done"}).status_code == 403
    updated = member.patch(f"/api/tasks/{body['id']}/", {"status": "done"})
    assert updated.status_code == 200 and updated.json()["status"] == "done"
    assert member.delete(f"/api/tasks/{body['id']}/").status_code == 204
    assert member.get(f"/api/tasks/{body['id']}/").status_code == 404


def test_task_validation_errors_name_the_field(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    base = {"project": alpha.project.pk, "title": "t"}
    for extra, field in (({"status": "someday"}, "status"), ({"priority": 9}, "priority"),
                         ({"tags": ["no spaces"]}, "tags"), ({"due_date": "tomorrow"}, "due_date"),
                         ({"assignee": alpha.users["outsider"].pk}, "assignee"),
                         ({"project": alpha.hidden.pk}, "project"), ({"title": ""}, "title")):
        response = member.post("/api/tasks/", {**base, **extra})
        assert response.status_code == 400, (extra, response.content)
        assert field in response.json()["fields"], (extra, response.json())


def test_filters_narrow_the_task_list(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    with seeded(alpha.spec):
        TaskFactory(project=alpha.project, title="Tagged", tags=["ux"], status="done",
                    due_date=datetime.date(2020, 1, 1), assignee=None)
        TaskFactory(project=alpha.project, title="Other", tags=["bug"], status="todo", assignee=None,
                    due_date=datetime.date(2040, 1, 1))
    member = as_user(alpha, "member")

    def titles(params: dict[str, object]) -> set[str]:
        response = member.get("/api/tasks/", params)
        assert response.status_code == 200, response.content
        return {t["title"] for t in response.json()["results"]}

    assert titles({"tag": "ux"}) == {"Tagged"}
    assert titles({"status": "done"}) == {"Tagged"}
    assert titles({"status": ["todo", "done"]}) == {"Tagged", "Other", "alpha first task"}
    assert titles({"due_before": "2021-01-01"}) == {"Tagged"}
    assert titles({"assignee": alpha.users["member"].pk}) == {"alpha first task"}
    assert titles({"project": alpha.project.pk}) >= {"Tagged", "Other"}
    assert titles({"project": alpha.hidden.pk}) == set()
    bad = member.get("/api/tasks/", {"status": "bogus"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"


def test_search_ranks_title_matches_above_description_matches(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    with seeded(alpha.spec):
        TaskFactory(project=alpha.project, title="Unrelated", description="the invoice total is wrong")
        TaskFactory(project=alpha.project, title="Invoice PDF broken", description="customers complain")
        TaskFactory(project=alpha.project, title="Invoices: invoice numbering", description="invoice gaps")
        TaskFactory(project=alpha.project, title="Nothing here", description="no match at all")
    results = as_user(alpha, "member").get("/api/tasks/", {"search": "invoice"}).json()["results"]
    titles = [t["title"] for t in results]
    assert set(titles) == {"Unrelated", "Invoice PDF broken", "Invoices: invoice numbering"}
    assert titles[-1] == "Unrelated"  # description-only match ranks last
    assert titles[0] == "Invoices: invoice numbering"  # more and heavier matches first
    # The search vector follows edits (trigger).
    task_id = results[-1]["id"]
    as_user(alpha, "member").patch(f"/api/tasks/{task_id}/", {"description": "nothing"})
    after = as_user(alpha, "member").get("/api/tasks/", {"search": "invoice"}).json()["results"]
    assert task_id not in {t["id"] for t in after}


def test_cursor_pagination_walks_every_task_once_in_order(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    with seeded(alpha.spec):
        TaskFactory.create_batch(25, project=alpha.project)
    member, seen, url = as_user(alpha, "member"), [], "/api/tasks/?page_size=10&ordering=priority"
    while url:
        page = member.get(url.replace("http://testserver", "")).json()
        seen.extend(page["results"])
        url = page["next"]
    assert len(seen) == 26 and len({t["id"] for t in seen}) == 26
    assert [t["priority"] for t in seen] == sorted(t["priority"] for t in seen)
    bad = member.get("/api/tasks/", {"cursor": "garbage"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


def test_comments_are_nested_under_their_task(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member, viewer = as_user(alpha, "member"), as_user(alpha, "viewer")
    task_id = member.get("/api/tasks/").json()["results"][0]["id"]
    created = member.post(f"/api/tasks/{task_id}/comments/", {"body": "Looks good"})
    assert created.status_code == 201 and created.json()["author"]["username"] == "member-alpha"
    assert viewer.post(f"/api/tasks/{task_id}/comments/", {"body": "me too"}).status_code == 403
    assert member.post(f"/api/tasks/{task_id}/comments/", {"body": ""}).status_code == 400
    listed = viewer.get(f"/api/tasks/{task_id}/comments/").json()["results"]
    assert [c["body"] for c in listed] == ["Looks good"]
    assert member.get(f"/api/tasks/{task_id}/").json()["comment_count"] == 1
    assert as_user(alpha, "outsider").get(f"/api/tasks/{task_id}/comments/").status_code == 404


BAD_CUSTOM_FIELDS = [  # raw JSON: each would reach PostgreSQL and fail there (a 500) without validation
    '{"a": "nul \\u0000 inside"}', '{"nul \\u0000 key": 1}', '{"a": ["\\ud800"]}', '{"a": 1e999}',
    "{" + '"a": {' * 9 + "}" * 10, '{"a": "' + "x" * 20_000 + '"}',
]


def test_custom_fields_postgres_cannot_store_are_400(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    for raw in BAD_CUSTOM_FIELDS:
        body = f'{{"project": {alpha.project.pk}, "title": "t", "custom_fields": {raw}}}'
        response = member.client.post("/api/tasks/", body, content_type="application/json", **member.headers())
        assert response.status_code == 400, (raw[:40], response.content)
        assert "custom_fields" in response.json()["fields"]
    nested = '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = member.client.post("/api/tasks/", nested, content_type="application/json", **member.headers())
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    fine = member.post("/api/tasks/", {"project": alpha.project.pk, "title": "t",
                                       "custom_fields": {"a": {"b": [1, 2.5, None, "ü"]}}})
    assert fine.status_code == 201 and fine.json()["custom_fields"] == {"a": {"b": [1, 2.5, None, "ü"]}}
