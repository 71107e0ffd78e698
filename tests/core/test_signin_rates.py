"""Sign-in rate strings: pure parsing, no services."""

from __future__ import annotations

import pytest

from core.plans import parse_rate

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("rate", "expected"), [
    ("30/min", (30, 60)), ("30/minute", (30, 60)), ("5/s", (5, 1)), ("2/hour", (2, 3600)), ("1/day", (1, 86400)),
])
def test_rates_are_read_by_the_periods_first_letter(rate: str, expected: tuple[int, int]) -> None:
    assert parse_rate(rate) == expected
