"""The same data for every contender: a member user with a token, projects and tasks.

Each contender (a tenant database, a plain database, a django-tenants schema)
is seeded by this one function from its own settings, so the rows, and the
queries serving them, are the same everywhere. The token key is fixed: it only
means something inside the database that holds it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from projects.models import Project, ProjectMembership, Role, Task

TOKEN = "bench0" + "0" * 34
USERNAME = "bench@example.test"


def seed(*, projects: int, tasks_per_project: int, using: str | None = None) -> list[int]:
    """Create the bench user and its data on `using` (None: let the router choose); return task ids."""
    user = get_user_model().objects.db_manager(using).create_user(USERNAME, USERNAME, "bench-pass-1")
    Token.objects.using(using).create(user=user, key=TOKEN)
    rows = Project.objects.using(using).bulk_create(
        Project(name=f"Project {i}", key=f"P{i}") for i in range(projects))
    ProjectMembership.objects.using(using).bulk_create(
        ProjectMembership(project=project, user=user, role=Role.MEMBER) for project in rows)
    tasks = Task.objects.using(using).bulk_create(
        Task(project=project, title=f"Task {project.key}-{n}", description="Seeded for the benchmarks.",
             reporter=user, assignee=user if n % 2 else None, tags=["bench"])
        for project in rows for n in range(tasks_per_project))
    return [task.pk for task in tasks]
