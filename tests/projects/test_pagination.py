"""Cursor pagination: every row once in both directions, NULLs included; bad cursors are 400."""

from __future__ import annotations

import base64
import datetime
import itertools
import json
from typing import Any

import pytest

from projects.models import Export
from tests.api import Api
from tests.factories import CommentFactory, TaskFactory, UserFactory
from tests.projects.conftest import TenantWorld, as_user, seeded


def _path(url: str) -> str:
    return url.replace("http://testserver", "")


def walk(client: Api, url: str) -> tuple[list[list[dict[str, Any]]], str | None]:
    """Follow `next` links from `url`; return the pages and the last page's `previous` link."""
    pages: list[list[dict[str, Any]]] = []
    previous = None
    while url:
        response = client.get(_path(url))
        assert response.status_code == 200, response.content
        page = response.json()
        pages.append(page["results"])
        previous, url = page["previous"], page["next"]
    return pages, previous


def walk_back(client: Api, url: str | None) -> list[dict[str, Any]]:
    """Follow `previous` links from `url`; return the rows in list order."""
    pages: list[list[dict[str, Any]]] = []
    while url:
        response = client.get(_path(url))
        assert response.status_code == 200, response.content
        pages.insert(0, response.json()["results"])
        url = response.json()["previous"]
    return [row for page in pages for row in page]


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def _decode(cursor: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def _encode(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.fixture
def many(product: dict[str, TenantWorld]) -> TenantWorld:
    """alpha with 13 more tasks: due dates with ties and NULLs, equal priorities, comments, exports."""
    alpha = product["alpha"]
    dates = [None, datetime.date(2031, 5, 1), None, datetime.date(2030, 1, 1), datetime.date(2031, 5, 1)]
    with seeded(alpha.spec):
        for i in range(13):
            task = TaskFactory(project=alpha.project, title=f"invoice {i}", description="",
                               due_date=dates[i % len(dates)], priority=2)
            CommentFactory(task=task)
        UserFactory.create_batch(3)
        for _ in range(3):
            Export.objects.create(requested_by=alpha.users["admin"])
    return alpha


@pytest.mark.parametrize("ordering", ["due_date", "-due_date", "priority", "-priority", "created_at"])
def test_every_ordering_walks_each_task_once_forward_and_back(many: TenantWorld, ordering: str) -> None:
    member = as_user(many, "member")
    pages, last_previous = walk(member, f"/api/tasks/?page_size=3&ordering={ordering}")
    rows = [row for page in pages for row in page]
    assert len(rows) == 14 and len(set(ids(rows))) == 14 and len(pages) == 5
    field, descending = ordering.lstrip("-"), ordering.startswith("-")
    present = [t for t in rows if t[field] is not None]
    assert [t[field] for t in present] == sorted((t[field] for t in present), reverse=descending)
    assert all(t[field] is None for t in rows[len(present):])  # NULLs last, whatever the direction
    # Ties (equal dates, NULLs, equal priorities) are broken by id in the ordering's direction.
    for a, b in itertools.pairwise(rows):
        if a[field] == b[field]:
            assert (a["id"] > b["id"]) if descending else (a["id"] < b["id"])
    assert ids(walk_back(member, last_previous)) == ids(rows[: -len(pages[-1])])


def test_search_results_page_by_relevance_without_repeats(many: TenantWorld) -> None:
    member = as_user(many, "member")
    pages, previous = walk(member, "/api/tasks/?page_size=4&search=invoice")
    rows = [row for page in pages for row in page]
    assert len(rows) == 13 and len(set(ids(rows))) == 13
    assert ids(walk_back(member, previous)) == ids(rows[: -len(pages[-1])])


LISTS = ["/api/tasks/", "/api/tasks/?ordering=due_date", "/api/tasks/?search=invoice", "/api/projects/",
         "/api/users/", "/api/exports/", "/api/tasks/{task}/comments/"]


@pytest.mark.parametrize("path", LISTS)
def test_a_forged_cursor_is_a_400_on_every_list(many: TenantWorld, path: str) -> None:
    admin = as_user(many, "admin")
    with seeded(many.spec):
        task = many.project.tasks.first()
        CommentFactory.create_batch(2, task=task)
    path = path.format(task=task.pk)
    first = admin.get(path, {"page_size": 1}).json()
    real = first["next"].split("cursor=")[1].split("&")[0]
    payload = _decode(real)
    forged = ["garbage", "%%%", base64.b64encode(b"o=0&p=abc").decode(), _encode([1, 2]),
              _encode({**payload, "o": "title"}), _encode({**payload, "v": payload["v"][:-1]}),
              _encode({**payload, "r": "yes"})]
    for index in range(len(payload["v"])):
        for bad in ("abc", {"a": 1}, [1], True, 10**30, None, "2030-01-01T00:00:00"):
            if _still_a_position(path, index, bad):
                continue
            values = list(payload["v"])
            values[index] = bad
            forged.append(_encode({**payload, "v": values}))
    sep = "&" if "?" in path else "?"
    for cursor in forged:
        response = admin.get(f"{path}{sep}cursor={cursor}")
        assert response.status_code == 400, (path, cursor, response.content)
        assert response.json()["code"] == "invalid_cursor"


def _still_a_position(path: str, index: int, value: Any) -> bool:
    """Say whether `value` is a legitimate sort key: a NULL due date, a huge relevance."""
    if index != 0:
        return False
    return (value is None and "due_date" in path) or (value == 10**30 and "search" in path)


def test_a_null_position_in_the_cursor_is_a_real_position(many: TenantWorld) -> None:
    member = as_user(many, "member")
    url = "/api/tasks/?page_size=2&ordering=due_date"
    while True:
        page = member.get(_path(url)).json()
        if page["results"] and page["results"][-1]["due_date"] is None:
            break
        url = page["next"]
    cursor = _decode(page["next"].split("cursor=")[1].split("&")[0])
    assert cursor["v"][0] is None
    after = member.get(_path(page["next"])).json()["results"]
    assert after and all(t["due_date"] is None for t in after)
