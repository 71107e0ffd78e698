"""Routing rules: planes, primaries for writes/transactions/locks, foreign objects."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.test import override_settings

from projects.models import Project, Task
from routers import TenantContextMissing, TenantSpec, consistency, tenant_atomic, tenant_context
from routers.routers import TenantRouter
from tests.routers.helpers import wait_replica_caught_up

router = TenantRouter()


def test_writes_land_in_the_current_tenants_database_only(tenants: dict[str, TenantSpec]) -> None:
    alpha, beta = tenants["alpha"], tenants["beta"]
    with tenant_context(alpha):
        Project.objects.create(name="Alpha roadmap", key="AR")
    with connections[alpha.direct_alias].cursor() as cursor:
        cursor.execute("SELECT key FROM projects_project")
        assert cursor.fetchall() == [("AR",)]
    with connections[beta.direct_alias].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM projects_project")
        assert cursor.fetchone() == (0,)
    for alias in (alpha.direct_alias, beta.direct_alias):
        connections[alias].close()


@pytest.mark.django_db
def test_control_database_has_no_tenant_tables() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT to_regclass('projects_project'), to_regclass('auth_user')")
        assert cursor.fetchone() == (None, "auth_user")


def test_reads_go_to_a_caught_up_replica_and_writes_to_the_primary(tenants: dict[str, TenantSpec]) -> None:
    alpha, beta = tenants["alpha"], tenants["beta"]
    wait_replica_caught_up()
    with consistency.read_scope(), tenant_context(alpha):
        assert Project.objects.all().db == "tenant:alpha:replica"
        assert router.db_for_write(Project) == "tenant:alpha"
    with consistency.read_scope(), tenant_context(beta):
        assert Project.objects.all().db == "tenant:beta"  # server b has no replica


def test_reads_inside_a_transaction_or_locking_rows_use_the_primary(tenants: dict[str, TenantSpec]) -> None:
    wait_replica_caught_up()
    with consistency.read_scope(), tenant_context(tenants["alpha"]):
        with tenant_atomic():
            assert connections["tenant:alpha"].in_atomic_block
            assert Project.objects.all().db == "tenant:alpha"
        assert Project.objects.all().db == "tenant:alpha:replica"
        assert Project.objects.select_for_update().db == "tenant:alpha"
        # Routing for a lock counts as a write: the rest of the unit of work stays on the primary.
        assert Project.objects.all().db == "tenant:alpha"


def test_reads_after_a_write_in_the_same_unit_of_work_use_the_primary(tenants: dict[str, TenantSpec]) -> None:
    wait_replica_caught_up()
    with consistency.read_scope(), tenant_context(tenants["alpha"]):
        assert Project.objects.all().db == "tenant:alpha:replica"
        project = Project.objects.create(name="n", key="NW")
        assert Project.objects.all().db == "tenant:alpha"
        assert Project.objects.get(pk=project.pk).key == "NW"


def test_tenant_atomic_rolls_back_on_the_tenant_database(tenants: dict[str, TenantSpec]) -> None:
    with tenant_context(tenants["beta"]):
        with pytest.raises(RuntimeError), tenant_atomic():
            Project.objects.create(name="gone", key="GO")
            raise RuntimeError("roll back")
        assert not Project.objects.filter(key="GO").exists()


def test_both_plane_models_follow_the_tenant_context(tenants: dict[str, TenantSpec]) -> None:
    with tenant_context(tenants["alpha"]):
        assert router.db_for_write(User) == "tenant:alpha"
        User.objects.create_user("alice", password="pw-123456")
    with tenant_context(tenants["beta"]):
        assert not User.objects.filter(username="alice").exists()
    assert router.db_for_write(User) == "default"


def test_auth_tokens_are_always_read_from_the_primary(tenants: dict[str, TenantSpec]) -> None:
    from rest_framework.authtoken.models import Token

    wait_replica_caught_up()
    with consistency.read_scope(), tenant_context(tenants["alpha"]):
        assert Token.objects.all().db == "tenant:alpha"


def test_an_object_from_another_tenant_is_refused(tenants: dict[str, TenantSpec]) -> None:
    with tenant_context(tenants["alpha"]):
        project = Project.objects.create(name="mine", key="MI")
    with tenant_context(tenants["beta"]), pytest.raises(TenantContextMissing, match="from tenant 'alpha'"):
        project.save()
    with tenant_context(tenants["beta"]), pytest.raises(TenantContextMissing):
        Task.objects.create(project=project, title="leak")
    with tenant_context(tenants["beta"]):
        assert Project.objects.count() == 0


@pytest.mark.parametrize("db,app,allowed", [
    ("default", "tenants", True),
    ("default", "auth", True),
    ("default", "projects", False),
    ("default_replica", "tenants", False),
    ("tenant:alpha", "projects", True),
    ("tenant:alpha", "auth", True),
    ("tenant:alpha", "tenants", False),
    ("tenant:alpha:direct", "projects", True),
    ("tenant:alpha:replica", "projects", False),
    ("template:a", "projects", True),
    ("template:a", "migrations_tooling", False),
    ("default", "unlabelled_app", False),
])
def test_allow_migrate_keeps_each_plane_in_its_databases(db: str, app: str, allowed: bool) -> None:
    assert router.allow_migrate(db, app) is allowed


def test_relations_only_within_one_database_family() -> None:
    a1, a2, b = Project(), Project(), Project()
    a1._state.db, a2._state.db, b._state.db = "tenant:alpha", "tenant:alpha:replica", "tenant:beta"
    assert router.allow_relation(a1, a2) is True
    assert router.allow_relation(a1, b) is False


@pytest.mark.django_db
def test_auth_reads_use_the_control_primary_outside_tenants() -> None:
    from rest_framework.authtoken.models import Token

    assert Token.objects.all().db == "default"
    assert User.objects.all().db == "default"


def test_a_model_of_an_unlabelled_app_is_refused_rather_than_guessed(tenants: dict[str, TenantSpec]) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from tests.fleetapp.models import Widget

    planes = {plane: [label for label in labels if label != "fleetapp"]
              for plane, labels in settings.DATABASE_PLANES.items()}
    with override_settings(DATABASE_PLANES=planes), tenant_context(tenants["alpha"]):
        with pytest.raises(ImproperlyConfigured, match="fleetapp"):
            Widget.objects.all().db  # noqa: B018
        with pytest.raises(ImproperlyConfigured):
            Widget.objects.create(name="x")
