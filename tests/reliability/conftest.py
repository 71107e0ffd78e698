"""Fixtures of the reliability suite: seeded tenant worlds, a real gunicorn, reported figures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.reliability.load import Server, gunicorn
from tests.reliability.world import SeededTenant, build_world, drop_world
from tests.routers.helpers import wait_replica_caught_up

FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures the scenarios measured (they are reported, not asserted)."""
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def report() -> Callable[[str], None]:
    """Return a function that prints a figure now and again in the run's summary."""

    def add(line: str) -> None:
        print(line)
        FIGURES.append(line)

    return add


@pytest.fixture(scope="module")
def make_world(django_db_setup: None, tenant_templates: None,
               django_db_blocker: Any) -> Iterator[Callable[..., list[SeededTenant]]]:
    """Return a builder of seeded tenants (committed, seen by every process); drop them after the module."""
    built: list[SeededTenant] = []

    def build(prefix: str, servers: list[str], **kwargs: Any) -> list[SeededTenant]:
        world = build_world(prefix, servers, **kwargs)
        built.extend(world)
        wait_replica_caught_up()  # reads of seeded rows may be served by server a's replica
        return world

    with django_db_blocker.unblock():
        yield build
        drop_world(built)


@pytest.fixture(scope="module")
def web_server() -> Iterator[Server]:
    """A gunicorn (2 workers x 4 threads, production config, test settings) on a free port."""
    with gunicorn() as server:
        yield server
