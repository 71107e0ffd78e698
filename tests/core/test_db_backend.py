"""The backend pings a persistent connection before a request only when it sat idle."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError, close_old_connections, connections
from django.test import override_settings

from tests.routers.helpers import primary_port, superuser_query


def _backend_pid() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _kill_between_requests(pid: int) -> None:
    close_old_connections()  # what Django does when the next request starts
    superuser_query(primary_port(), f"SELECT pg_terminate_backend({pid})")


@override_settings(DB_HEALTH_CHECK_IDLE_SECONDS=0.2)
def test_a_connection_idle_past_the_window_is_checked_and_replaced(control_db: None) -> None:
    assert connections["default"].settings_dict["CONN_HEALTH_CHECKS"] is True
    pid = _backend_pid()
    _kill_between_requests(pid)
    time.sleep(0.3)
    assert _backend_pid() != pid  # the ping found it dead and Django reconnected


@override_settings(DB_HEALTH_CHECK_IDLE_SECONDS=30)
def test_a_connection_used_a_moment_ago_is_not_pinged_again(control_db: None) -> None:
    pid = _backend_pid()
    _kill_between_requests(pid)
    with pytest.raises(OperationalError):  # no ping: the first query meets the dead connection
        _backend_pid()
    close_old_connections()  # the next request drops the broken connection...
    assert _backend_pid() != pid  # ...and works
