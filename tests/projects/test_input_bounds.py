"""Oversized input is refused early and cleanly: 413 for bodies, 400 for long lists and texts."""

from __future__ import annotations

import json

from django.conf import settings

from projects.models import Task
from routers import tenant_context
from tests.projects.conftest import TenantWorld, as_user


def test_a_body_over_the_upload_limit_answers_413_json(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = member.post("/api/tasks/", {"project": alpha.project.pk, "title": "big", "description": padding})
    assert response.status_code == 413, response.content[:200]
    assert response.json()["code"] == "request_too_large"
    with tenant_context(alpha.spec):
        assert not Task.objects.filter(title="big").exists()


def test_a_huge_tag_list_is_refused_before_any_tag_is_validated(product: dict[str, TenantWorld]) -> None:
    from projects.api.serializers import TaskSerializer

    field = TaskSerializer().fields["tags"]
    huge = ["t"] * 600_000
    # Each item is checked against a regex; an item that is not even a string would fail that
    # check, so a list refused with "max_length" was refused before its items were looked at.
    huge[0] = {"not": "a tag"}
    try:
        field.run_validation(huge)
    except Exception as exc:  # DRF's ValidationError
        assert "no more than 20 elements" in str(exc)
    else:
        raise AssertionError("600,000 tags were accepted")


def test_long_lists_and_texts_answer_400_through_the_api(product: dict[str, TenantWorld]) -> None:
    alpha = product["alpha"]
    member = as_user(alpha, "member")
    many_tags = member.post("/api/tasks/", {"project": alpha.project.pk, "title": "t", "tags": ["x"] * 60_000})
    assert many_tags.status_code == 400 and "tags" in many_tags.json()["fields"]
    long_text = member.post("/api/tasks/", {"project": alpha.project.pk, "title": "t", "description": "d" * 20_001})
    assert long_text.status_code == 400 and "description" in long_text.json()["fields"]
    task = member.post("/api/tasks/", {"project": alpha.project.pk, "title": "fine"}).json()["id"]
    comment = member.post(f"/api/tasks/{task}/comments/", {"body": "c" * 10_001})
    assert comment.status_code == 400 and comment.json()["code"] == "validation_error"
    fields = member.post("/api/tasks/", {"project": alpha.project.pk, "title": "t",
                                         "custom_fields": {f"k{n}": n for n in range(5_000)}})
    assert fields.status_code == 400 and "custom_fields" in fields.json()["fields"]
    assert len(json.dumps(["x"] * 60_000)) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # so the 400 is the bound's


def test_invalid_page_sizes_answer_400(product: dict[str, TenantWorld]) -> None:
    member = as_user(product["alpha"], "member")
    for bad in ("-1", "0", "abc", "101", "1e3", "99999999999999999999"):
        response = member.get("/api/tasks/", {"page_size": bad})
        assert response.status_code == 400, (bad, response.content)
        assert response.json()["code"] == "validation_error" and "page_size" in response.json()["fields"]
    assert len(member.get("/api/tasks/", {"page_size": "1"}).json()["results"]) == 1
    assert member.get("/api/tasks/", {"page_size": "100"}).status_code == 200
