"""Cost of the metrics middleware per request: the same requests with it on and off, in one process.

Two Django WSGI handlers run side by side in this process, one with the
shipped middleware list and one without `core.metrics_middleware.MetricsMiddleware`
(everything else identical), called through Django's test client (no network,
so the difference is not drowned in socket noise). Requests: `GET /healthz`
(the cheapest answer: the metrics share is largest there) and a platform 404
(resolved by no URL pattern). Rounds are interleaved so drift on a shared
machine hits both alike. Reported: median µs per request, the difference (the
cost of metrics per request) and the ratio on / off. Samples go to a fresh
temporary PROMETHEUS_MULTIPROC_DIR.

    python -m bench.metrics_overhead [--quick]        (services up: `make services`)
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
from collections.abc import Callable

from bench.common import per_call_us, print_table, setup_django, write_result

# Short rounds, many of them: on a shared machine drift then hits both cases alike.
CALLS, ROUNDS = 100, 75
QUICK_CALLS, QUICK_ROUNDS = 30, 3
METRICS_MIDDLEWARE = "core.metrics_middleware.MetricsMiddleware"
REQUESTS = {"GET /healthz": "/healthz", "GET 404 (no route)": "/api/platform/no-such-thing/"}


def clients() -> dict[str, object]:
    """Return a test client per case, each with its middleware chain already built."""
    from django.conf import settings
    from django.test import Client, override_settings

    on, off = Client(), Client()
    on.get("/healthz")  # builds the shipped chain
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != METRICS_MIDDLEWARE]):
        off.get("/healthz")  # builds the chain without metrics; kept after the override ends
    return {"metrics on": on, "metrics off": off}


def case(client: object, path: str) -> Callable[[], object]:
    def call() -> object:
        response = client.get(path)  # type: ignore[attr-defined]
        if response.status_code >= 500:
            raise RuntimeError(f"{path}: {response.status_code}")
        return response

    return call


def counted_requests(directory: str) -> dict[str, float]:
    """Return route -> requests counted in `directory`: proof the "on" handler recorded, the "off" one not."""
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    counted: dict[str, float] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "tessera_http_requests_total":
                counted[sample.labels["route"]] = counted.get(sample.labels["route"], 0) + sample.value
    return counted


def rounds_of(cases: dict[str, Callable[[], object]], *, calls: int, rounds: int) -> dict[str, list[float]]:
    """Return each case's µs per call of every round, the cases alternating round by round."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for round_no in range(rounds):
        names = list(cases) if round_no % 2 == 0 else list(reversed(cases))  # neither always goes first
        for name in names:
            samples[name].extend(per_call_us(cases[name], calls=calls, rounds=1))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    args = parser.parse_args()
    calls, rounds = (QUICK_CALLS, QUICK_ROUNDS) if args.quick else (CALLS, ROUNDS)
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tessera-bench-metrics-")
    setup_django("bench.settings")
    logging.getLogger("django.request").setLevel(logging.ERROR)  # one "Not Found" line per 404 otherwise
    both = clients()
    results = {}
    for label, path in REQUESTS.items():
        samples = rounds_of({name: case(client, path) for name, client in both.items()}, calls=calls, rounds=rounds)
        on, off = statistics.median(samples["metrics on"]), statistics.median(samples["metrics off"])
        fastest_on, fastest_off = min(samples["metrics on"]), min(samples["metrics off"])
        results[label] = {"on_us": on, "off_us": off, "cost_us": on - off, "ratio": on / off,
                          "fastest_on_us": fastest_on, "fastest_off_us": fastest_off,
                          "fastest_cost_us": fastest_on - fastest_off}
    rows = [(label, f"{r['off_us']:.1f}", f"{r['on_us']:.1f}", f"{r['cost_us']:+.1f}", f"{r['ratio']:.3f}",
             f"{r['fastest_cost_us']:+.1f}") for label, r in results.items()]
    print_table("Metrics cost per request (µs per request, median of rounds, in-process WSGI, lower is better)",
                rows, ("request", "metrics off", "metrics on", "cost", "on / off", "cost, fastest rounds"))
    counted = counted_requests(directory)
    print(f"\nrequests counted (metrics on only): {counted}")
    path = write_result("metrics_overhead", {"calls_per_round": calls, "rounds": rounds, "results": results,
                                             "counted": counted})
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
