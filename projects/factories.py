"""factory_boy factories for the product, shared by the tests and the demo data.

They save through the router like any other code, so they must run inside a
tenant context (`with tenant_context(spec): TaskFactory()`).
"""

from __future__ import annotations

import random

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from projects.models import Comment, Priority, Project, ProjectMembership, Role, Task, TaskStatus

WORDS = ("login", "invoice", "search", "export", "billing", "dashboard", "mobile", "onboarding", "cache",
         "report", "email", "payment", "signup", "profile", "api", "webhook", "timezone", "upload")
TAGS = ("bug", "feature", "ux", "backend", "frontend", "urgent", "tech-debt", "docs")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("password-123")


class ProjectFactory(DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    key = factory.Sequence(lambda n: f"P{n}")
    description = factory.Faker("sentence")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = ProjectMembership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class TaskFactory(DjangoModelFactory):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory)
    title = factory.LazyFunction(lambda: f"Fix {random.choice(WORDS)} {random.choice(WORDS)}")  # noqa: S311
    description = factory.Faker("paragraph")
    status = factory.Iterator([s for s, _ in TaskStatus.choices])
    priority = factory.Iterator([p for p, _ in Priority.choices])
    tags = factory.LazyFunction(lambda: random.sample(TAGS, k=random.randint(0, 3)))  # noqa: S311
    custom_fields = factory.LazyFunction(lambda: {"estimate": random.randint(1, 13)})  # noqa: S311


class CommentFactory(DjangoModelFactory):
    class Meta:
        model = Comment

    task = factory.SubFactory(TaskFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("sentence")
