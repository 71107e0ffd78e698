"""OpenAPI examples of the main tenant endpoints (shown in Swagger UI and docs/api.md)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

_TASK = {
    "id": 42, "project": 1, "project_key": "WEB", "title": "Fix login redirect", "description": "After SSO",
    "status": "todo", "priority": 3, "assignee": 2, "assignee_detail": {"id": 2, "username": "ana"},
    "reporter": {"id": 1, "username": "owner@acme.test"}, "tags": ["bug", "auth"],
    "custom_fields": {"estimate": 3}, "due_date": "2030-01-31", "comment_count": 0,
    "created_at": "2030-01-02T09:00:00Z", "updated_at": "2030-01-02T09:00:00Z",
}
_EXPORT = {
    "id": 7, "status": "queued", "filters": {"project": 1}, "rows_done": 0, "rows_total": 0, "progress": 0.0,
    "file_name": "", "error": "", "created_at": "2030-01-02T09:00:00Z", "finished_at": None,
    "download_url": None,
}

TOKEN = [
    OpenApiExample("sign in", request_only=True, value={"username": "owner@acme.test", "password": "s3cret!"}),
    OpenApiExample("token", response_only=True, value={"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}),
]
PROJECT_CREATE = [
    OpenApiExample("new project", request_only=True,
                   value={"name": "Website", "key": "WEB", "description": "Relaunch"}),
    OpenApiExample("created", response_only=True, status_codes=["201"], value={
        "id": 1, "name": "Website", "key": "WEB", "description": "Relaunch", "archived": False,
        "my_role": "admin", "created_at": "2030-01-02T09:00:00Z", "updated_at": "2030-01-02T09:00:00Z"}),
]
TASK_CREATE = [
    OpenApiExample("new task", request_only=True, value={
        "project": 1, "title": "Fix login redirect", "description": "After SSO", "priority": 3, "assignee": 2,
        "tags": ["bug", "auth"], "custom_fields": {"estimate": 3}, "due_date": "2030-01-31"}),
    OpenApiExample("created", response_only=True, status_codes=["201"], value=_TASK),
]
TASK_LIST = [
    # One item: drf-spectacular wraps it in the page envelope (core.pagination's example links).
    OpenApiExample("a page", response_only=True, value=_TASK),
]
EXPORT_CREATE = [
    OpenApiExample("tasks of one project", request_only=True, value={"project": 1, "status": "todo"}),
    OpenApiExample("queued", response_only=True, status_codes=["202"], value=_EXPORT),
]
EXPORT_DETAIL = [
    OpenApiExample("running", response_only=True,
                   value={**_EXPORT, "status": "running", "rows_done": 500, "rows_total": 1200, "progress": 0.417}),
    OpenApiExample("done", response_only=True, value={
        **_EXPORT, "status": "done", "rows_done": 1200, "rows_total": 1200, "progress": 1.0,
        "file_name": "tasks-2030-01-02-7.csv", "finished_at": "2030-01-02T09:00:04Z",
        "download_url": "/api/exports/7/download/"}),
]
