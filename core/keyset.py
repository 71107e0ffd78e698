"""Sort keys of keyset pagination: the cursor codec and the "after this row" filter.

A key is the list of ordering fields ending with the unique `id`. Nullable
fields sort last in both directions, and the filters below spell that out,
so NULL is a position like any other (a bare `due_date > NULL` matches
nothing, which is how pagination over nullable fields loses rows).
"""

from __future__ import annotations

import binascii
import datetime
import json
import math
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from core.errors import ApiError, CoreErrorCode

BIGINT = 2**63


class InvalidCursor(ApiError):
    code = CoreErrorCode.INVALID_CURSOR
    detail = "The cursor is not valid for this list; start again from the first page."


@dataclass(frozen=True, slots=True)
class SortField:
    name: str
    descending: bool
    field: models.Field[Any, Any]

    @property
    def nullable(self) -> bool:
        return bool(self.field.null)

    def order(self, *, reverse: bool) -> Any:
        """Return the order_by term; NULLs last going forward (first when walking back)."""
        descending = self.descending != reverse
        if not self.nullable:  # a plain term keeps composite indexes usable
            return f"-{self.name}" if descending else self.name
        nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
        return F(self.name).desc(**nulls) if descending else F(self.name).asc(**nulls)

    def beyond(self, value: Any, *, reverse: bool) -> Q | None:
        """Return rows strictly past `value` in this field's direction (None: nothing is)."""
        if reverse:  # strictly before `value`; NULLs (last) are never before anything
            if value is None:
                return Q(**{f"{self.name}__isnull": False})
            return Q(**{f"{self.name}__{'gt' if self.descending else 'lt'}": value})
        if value is None:
            return None
        after = Q(**{f"{self.name}__{'lt' if self.descending else 'gt'}": value})
        return after | Q(**{f"{self.name}__isnull": True}) if self.nullable else after

    def equal(self, value: Any) -> Q:
        return Q(**{f"{self.name}__isnull": True}) if value is None else Q(**{self.name: value})

    def parse(self, raw: Any) -> Any:
        """Return the cursor value `raw` as this field's Python value, or raise InvalidCursor."""
        if raw is None:
            if not self.nullable:
                raise InvalidCursor()
            return None
        if isinstance(raw, (dict, list, bool)):
            raise InvalidCursor()
        try:
            value = self.field.to_python(raw)
        except (ValidationError, TypeError, ValueError, OverflowError):
            raise InvalidCursor() from None
        if not _sane(value):
            raise InvalidCursor()
        return value


def _sane(value: Any) -> bool:
    if isinstance(value, datetime.datetime):
        return timezone.is_aware(value)
    if isinstance(value, int):
        return -BIGINT <= value < BIGINT
    if isinstance(value, float):
        return math.isfinite(value)
    return value is not None


def sort_fields(queryset: QuerySet[Any], ordering: tuple[str, ...]) -> list[SortField]:
    """Return the sort key for `ordering` on `queryset`: its fields up to a unique `id`."""
    fields: list[SortField] = []
    for term in ordering:
        name = term.lstrip("-")
        if name == "pk":
            name = "id"
        if any(f.name == name for f in fields):
            continue
        fields.append(SortField(name, term.startswith("-"), _field(queryset, name)))
        if name == "id":
            return fields
    descending = fields[-1].descending if fields else False
    return [*fields, SortField("id", descending, _field(queryset, "id"))]


def _field(queryset: QuerySet[Any], name: str) -> models.Field[Any, Any]:
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        return annotation.output_field
    try:
        return queryset.model._meta.get_field(name)
    except FieldDoesNotExist:
        raise AssertionError(f"cannot paginate {queryset.model.__name__} by {name!r}") from None


def after(fields: list[SortField], values: list[Any], *, reverse: bool) -> Q:
    """Return rows strictly after (`reverse`: before) the row whose key is `values`."""
    clauses, equal = [], Q()
    for field, value in zip(fields, values, strict=True):
        beyond = field.beyond(value, reverse=reverse)
        if beyond is not None:
            clauses.append(equal & beyond)
        equal &= field.equal(value)
    return reduce(or_, clauses)  # never empty: the last field, id, is never NULL


def key_of(row: Any, fields: list[SortField]) -> list[Any]:
    return [getattr(row, field.name) for field in fields]


def encode(fields: list[SortField], values: list[Any], *, reverse: bool) -> str:
    payload = {"o": _signature(fields), "v": [_plain(v) for v in values], "r": reverse}
    return urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(fields: list[SortField], cursor: str) -> tuple[list[Any], bool]:
    """Return the key values and direction of `cursor`, or raise InvalidCursor."""
    try:
        payload = json.loads(urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError):
        raise InvalidCursor() from None
    if not isinstance(payload, dict) or payload.get("o") != _signature(fields):
        raise InvalidCursor()
    values, reverse = payload.get("v"), payload.get("r")
    if not isinstance(values, list) or len(values) != len(fields) or not isinstance(reverse, bool):
        raise InvalidCursor()
    return [field.parse(raw) for field, raw in zip(fields, values, strict=True)], reverse


def _signature(fields: list[SortField]) -> str:
    """Name the ordering, so a cursor is refused when the list's ordering changed."""
    return ",".join(("-" if f.descending else "") + f.name for f in fields)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value
