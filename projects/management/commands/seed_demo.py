"""Fill a tenant with demo users, projects, tasks and comments (idempotent)."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from projects.models import Comment, Priority, Project, ProjectMembership, Role, Task, TaskStatus
from routers import tenant_atomic, tenant_context

DEMO_PROJECTS = (("Website relaunch", "WEB"), ("Mobile app", "MOB"), ("Billing", "BIL"))
DEMO_PASSWORD = "password-123"  # noqa: S105 - demo accounts on a local platform
WORDS = ("login", "invoice", "search", "export", "billing", "dashboard", "mobile", "onboarding", "cache",
         "report", "email", "payment", "signup", "profile", "api", "webhook", "timezone", "upload")
TAGS = ("bug", "feature", "ux", "backend", "frontend", "urgent", "tech-debt", "docs")


class Command(BaseCommand):
    help = "Seed a tenant with demo data (skipped when it already has projects)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--tasks", type=int, default=40, help="tasks per project")

    def handle(self, *args: Any, tenant: str, tasks: int, **options: Any) -> None:
        spec = import_string(settings.TENANT_SPEC_RESOLVER)(tenant)
        if spec is None:
            raise CommandError(f"tenant {tenant!r} is not active")
        random.seed(7)
        with tenant_context(spec):
            if Project.objects.exists():
                self.stdout.write(f"{tenant} already has data")
                return
            with tenant_atomic():
                self._seed(tasks)
        self.stdout.write(f"seeded {tenant}: {len(DEMO_PROJECTS)} projects, {tasks} tasks each")

    def _seed(self, tasks: int) -> None:
        users = get_user_model().objects
        people = [users.create_user(name, f"{name}@example.test", DEMO_PASSWORD) for name in ("alice", "bob", "carol")]
        for name, key in DEMO_PROJECTS:
            project = Project.objects.create(name=name, key=key, description=_sentence())
            for person, role in zip(people, (Role.ADMIN, Role.MEMBER, Role.VIEWER), strict=True):
                ProjectMembership.objects.create(project=project, user=person, role=role)
            for n in range(tasks):
                task = Task.objects.create(
                    project=project, title=f"Fix {_sentence(2)}", description=_sentence(12),
                    status=TaskStatus.values[n % len(TaskStatus.values)],
                    priority=Priority.values[n % len(Priority.values)],
                    tags=random.sample(TAGS, k=random.randint(0, 3)),  # noqa: S311
                    custom_fields={"estimate": random.randint(1, 13)},  # noqa: S311
                    assignee=random.choice(people[:2]), reporter=people[0])  # noqa: S311
                if random.random() < 0.3:  # noqa: S311
                    Comment.objects.create(task=task, author=random.choice(people), body=_sentence())  # noqa: S311


def _sentence(words: int = 6) -> str:
    """Return `words` random words (the demo's only text generator)."""
    return " ".join(random.choice(WORDS) for _ in range(words)).capitalize()  # noqa: S311
