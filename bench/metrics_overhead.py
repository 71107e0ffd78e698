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
import tempfile
from collections.abc import Callable

from bench.common import interleaved, print_table, setup_django, write_result

CALLS, ROUNDS = 500, 15
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
        medians = interleaved({name: case(client, path) for name, client in both.items()},
                              calls=calls, rounds=rounds)
        on, off = medians["metrics on"], medians["metrics off"]
        results[label] = {"on_us": on, "off_us": off, "cost_us": on - off, "ratio": on / off}
    rows = [(label, f"{r['off_us']:.1f}", f"{r['on_us']:.1f}", f"{r['cost_us']:+.1f}", f"{r['ratio']:.3f}")
            for label, r in results.items()]
    print_table("Metrics cost per request (median µs per request, in-process WSGI, lower is better)", rows,
                ("request", "metrics off", "metrics on", "cost", "on / off"))
    counted = counted_requests(directory)
    print(f"\nrequests counted (metrics on only): {counted}")
    path = write_result("metrics_overhead", {"calls_per_round": calls, "rounds": rounds, "results": results,
                                             "counted": counted})
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
