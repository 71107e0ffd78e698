from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class RoutersConfig(AppConfig):
    name = "routers"
    verbose_name = "Tenant routing"

    def ready(self) -> None:
        from django.db import connections

        from routers.policy import apply_control_policies
        from routers.runtime import runtime

        apply_control_policies(connections.settings)
        runtime.registry.register_control()
        connection_created.connect(_guard_replica, dispatch_uid="tessera.replica_guard")


def _guard_replica(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Watch queries on replica connections so a failing replica leaves rotation."""
    from routers.guard import install_replica_guard

    install_replica_guard(connection)
