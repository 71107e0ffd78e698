import contextlib
import os

from django.apps import AppConfig
from django.core.signals import request_finished

from core.db import lifecycle


def _clear_request_id(**kwargs: object) -> None:
    from core.logging import client_ip_var, request_id_var

    request_id_var.set("-")
    client_ip_var.set("")


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Tessera core"

    def ready(self) -> None:
        from core import metrics_celery  # loads prometheus_client: only once the settings chose its mode

        request_finished.connect(_clear_request_id, dispatch_uid="tessera.clear_request_id")
        lifecycle.install()
        _ensure_metrics_dir()
        metrics_celery.connect()  # Celery task outcomes in /metrics (signals fire only in workers)


def _ensure_metrics_dir() -> None:
    """Create the metrics directory if missing (manage.py, tests); a failure only drops samples."""
    from django.conf import settings

    with contextlib.suppress(OSError):
        os.makedirs(settings.METRICS_DIR, exist_ok=True)
