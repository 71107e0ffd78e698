"""Every model is labelled with a plane and no foreign key crosses databases."""

from __future__ import annotations

import pytest
from django.apps import apps

from routers.planes import Plane, plane_of

pytestmark = pytest.mark.unit

# Which planes a model may point at: the target's tables must exist in every
# database that holds the source's tables.
ALLOWED_TARGETS = {
    Plane.CONTROL: {Plane.CONTROL, Plane.BOTH},
    Plane.TENANT: {Plane.TENANT, Plane.BOTH},
    Plane.BOTH: {Plane.BOTH},
}


def test_every_model_is_labelled_with_a_plane() -> None:
    unlabelled = sorted(m._meta.label for m in apps.get_models() if plane_of(m._meta.app_label) is None)
    assert unlabelled == []


def test_no_relation_crosses_databases() -> None:
    crossing = []
    for model in apps.get_models(include_auto_created=True):
        source = plane_of(model._meta.app_label)
        for field in model._meta.get_fields():
            target_model = getattr(field, "related_model", None)
            if not field.is_relation or target_model is None or not field.concrete:
                continue
            target = plane_of(target_model._meta.app_label)
            if target not in ALLOWED_TARGETS[source]:
                crossing.append(f"{model._meta.label}.{field.name} -> {target_model._meta.label}")
    assert crossing == []


def test_planes_cover_the_tenant_product_and_the_control_plane() -> None:
    assert plane_of("projects") is Plane.TENANT
    assert plane_of("tenants") is Plane.CONTROL
    assert plane_of("auth") is Plane.BOTH
