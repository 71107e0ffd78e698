"""The benchmark's wrk results combined: a warm-up made of several runs counts as one."""

from __future__ import annotations

import pytest

from bench.load import LoadResult

pytestmark = pytest.mark.unit


def result(requests: int, seconds: float, p50: float, errors: int = 0) -> LoadResult:
    return LoadResult(requests=requests, seconds=seconds, non_2xx=errors, socket_errors=0, p50_ms=p50,
                      p90_ms=p50 * 2, p99_ms=p50 * 3, mean_ms=p50)


def test_combined_runs_sum_their_counts_and_keep_each_percentile_of_the_worst_run() -> None:
    whole = LoadResult.combined([result(100, 10.0, 50.0), result(300, 10.0, 20.0, errors=2)])
    assert (whole.requests, whole.seconds, whole.non_2xx) == (400, 20.0, 2)
    assert whole.rps == 20.0  # 400 requests over 20 s, not the mean of 10 and 30 req/s per run
    assert (whole.p50_ms, whole.p99_ms) == (50.0, 150.0)
    assert whole.mean_ms == pytest.approx((100 * 50 + 300 * 20) / 400)
