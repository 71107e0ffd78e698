"""Fixtures of the core tests: the platform API client (for the metrics tests' traffic)."""

from tests.tenants.conftest import platform  # noqa: F401 - a fixture, requested by name
