"""Prometheus metrics: the shared samples directory, scrape access and collectors (docs/observability.md)."""

import os

from .environment import BASE_DIR, env

# Every web and Celery process writes its samples under one directory. prometheus_client
# picks multiprocess mode when it is first imported, from the environment: exported here,
# before anything imports it (environment-specific settings may export another directory).
METRICS_DIR_FROM_ENV = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
METRICS_DIR = METRICS_DIR_FROM_ENV or str(BASE_DIR / ".local" / "metrics")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")  # bearer token for non-loopback scrapers; empty: loopback only
METRICS_TENANT_TOP_N = env.int("METRICS_TENANT_TOP_N", default=20)  # tenants with their own series; 0: none
METRICS_CACHE_SECONDS = env.float("METRICS_CACHE_SECONDS", default=5.0)  # scrape-time collectors' cache
# Read at scrape (core.metrics_collect); each layer contributes its own.
METRICS_COLLECTORS = [
    "core.metrics_collect.CeleryQueueCollector",
    "core.metrics_databases.PoolerCollector",
    "core.metrics_databases.ReplicaCollector",
    "tenants.metrics.ControlPlaneCollector",
    "migrations_tooling.metrics.FleetMigrationCollector",
]
# Called at most once a second per process, after a request or a task.
METRICS_PROCESS_GAUGES = ["tenants.metrics.refresh_process_gauges"]
