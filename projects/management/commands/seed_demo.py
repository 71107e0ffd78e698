"""Fill a tenant with demo users, projects, tasks and comments (idempotent)."""

from __future__ import annotations

import random
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from projects.factories import CommentFactory, MembershipFactory, ProjectFactory, TaskFactory, UserFactory
from projects.models import Project, Role
from routers import tenant_atomic, tenant_context

DEMO_PROJECTS = (("Website relaunch", "WEB"), ("Mobile app", "MOB"), ("Billing", "BIL"))


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
        people = [UserFactory(username=name) for name in ("alice", "bob", "carol")]
        for name, key in DEMO_PROJECTS:
            project = ProjectFactory(name=name, key=key)
            for person, role in zip(people, (Role.ADMIN, Role.MEMBER, Role.VIEWER), strict=True):
                MembershipFactory(project=project, user=person, role=role)
            for _ in range(tasks):
                task = TaskFactory(project=project, assignee=random.choice(people[:2]), reporter=people[0])  # noqa: S311
                if random.random() < 0.3:  # noqa: S311
                    CommentFactory(task=task, author=random.choice(people))  # noqa: S311
