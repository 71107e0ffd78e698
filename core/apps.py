from django.apps import AppConfig
from django.core.signals import request_finished


def _clear_request_id(**kwargs: object) -> None:
    from core.logging import client_ip_var, request_id_var

    request_id_var.set("-")
    client_ip_var.set("")


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Tessera core"

    def ready(self) -> None:
        request_finished.connect(_clear_request_id, dispatch_uid="tessera.clear_request_id")
