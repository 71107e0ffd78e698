"""factory_boy factories of the tests: the product and the control plane.

The product's factories save through the router like any other code, so they
must run inside a tenant context (`with tenant_context(spec): TaskFactory()`);
the control-plane ones write to `default`.
"""

from __future__ import annotations

import random

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from projects.models import Comment, Priority, Project, ProjectMembership, Role, Task, TaskStatus
from routers import TenantSpec
from tenants.models import Domain, JobStatus, ProvisioningJob, Tenant, TenantStatus

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
    title = factory.LazyFunction(lambda: f"Fix {random.choice(WORDS)} {random.choice(WORDS)}")
    description = factory.Faker("paragraph")
    status = factory.Iterator([s for s, _ in TaskStatus.choices])
    priority = factory.Iterator([p for p, _ in Priority.choices])
    tags = factory.LazyFunction(lambda: random.sample(TAGS, k=random.randint(0, 3)))
    custom_fields = factory.LazyFunction(lambda: {"estimate": random.randint(1, 13)})


class CommentFactory(DjangoModelFactory):
    class Meta:
        model = Comment

    task = factory.SubFactory(TaskFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Faker("sentence")


class TenantFactory(DjangoModelFactory):
    """An active tenant on server `a` whose database name follows the test prefix."""

    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"p-tenant-{n}")
    name = factory.LazyAttribute(lambda t: t.slug)
    server_id = "a"
    database = factory.LazyAttribute(lambda t: "tt_" + t.slug.replace("-", "_"))
    admin_email = factory.LazyAttribute(lambda t: f"admin@{t.slug}.test")
    status = TenantStatus.ACTIVE

    @classmethod
    def for_spec(cls, spec: TenantSpec, **fields: object) -> Tenant:
        """Return the control-plane row of a tenant whose database the tests built."""
        return cls(slug=spec.slug, server_id=spec.server, database=spec.database, **fields)  # type: ignore[no-any-return]


class DomainFactory(DjangoModelFactory):
    class Meta:
        model = Domain

    tenant = factory.SubFactory(TenantFactory)
    domain = factory.Sequence(lambda n: f"custom{n}.example.com")


class ProvisioningJobFactory(DjangoModelFactory):
    class Meta:
        model = ProvisioningJob

    tenant = factory.SubFactory(TenantFactory, status=TenantStatus.PROVISIONING)
    status = JobStatus.PENDING
