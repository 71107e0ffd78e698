"""The description of a batched data migration (a backfill), shared by the layers.

An app declares its backfills in a ``backfills`` module as a ``BACKFILLS``
sequence of `Backfill` values; `migrations_tooling` discovers them when it is
ready and runs them. The description lives in `core` so that the product can
declare backfills without importing the fleet tooling (the layering forbids it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet


@dataclass(frozen=True)
class Backfill:
    """A named, idempotent change applied in primary-key batches to one queryset."""

    name: str
    queryset: Callable[[], QuerySet[Any]]
    apply: Callable[[list[Any]], None]
    batch_size: int = 500
