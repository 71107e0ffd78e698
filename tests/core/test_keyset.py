"""The keyset cursor codec and its filters: pure values, no database."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Q

from core.keyset import InvalidCursor, after, decode, encode, sort_fields
from projects.models import Task

pytestmark = pytest.mark.unit


def test_the_sort_key_always_ends_with_the_unique_id() -> None:
    fields = sort_fields(Task.objects.all(), ("-due_date",))
    assert [(f.name, f.descending) for f in fields] == [("due_date", True), ("id", True)]
    assert [f.name for f in sort_fields(Task.objects.all(), ("priority", "pk", "title"))] == ["priority", "id"]


def test_a_cursor_round_trips_its_values_and_direction() -> None:
    fields = sort_fields(Task.objects.all(), ("due_date",))
    cursor = encode(fields, [datetime.date(2026, 3, 1), 41], reverse=True)
    assert decode(fields, cursor) == ([datetime.date(2026, 3, 1), 41], True)
    assert decode(fields, encode(fields, [None, 7], reverse=False)) == ([None, 7], False)


@pytest.mark.parametrize("cursor", ["", "%%%", "bm90LWpzb24", "e30", "W10"])
def test_garbage_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode(sort_fields(Task.objects.all(), ("id",)), cursor)


def test_a_cursor_from_another_ordering_is_refused() -> None:
    by_priority = sort_fields(Task.objects.all(), ("priority",))
    by_due = sort_fields(Task.objects.all(), ("due_date",))
    with pytest.raises(InvalidCursor):
        decode(by_due, encode(by_priority, [3, 1], reverse=False))


@pytest.mark.parametrize("values", [[None, 1], ["x", 1], [2**63, 1], [1, {"a": 1}], [1, True]])
def test_values_a_field_cannot_hold_are_refused(values: list[object]) -> None:
    fields = sort_fields(Task.objects.all(), ("priority",))
    with pytest.raises(InvalidCursor):
        decode(fields, encode(fields, values, reverse=False))


def test_after_a_null_key_the_filter_walks_the_remaining_nulls_by_id() -> None:
    fields = sort_fields(Task.objects.all(), ("due_date",))
    assert after(fields, [None, 5], reverse=False) == Q(due_date__isnull=True) & Q(id__gt=5)
