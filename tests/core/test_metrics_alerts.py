"""The shipped alert rules and dashboard parse, and name only metrics the app exports."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.test import Client
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from tests.conftest import ROOT

PRODUCTION = ROOT / "infra" / "production"
METRIC_NAME = re.compile(r"\btessera_[a-z0-9_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _names(name: str, kind: str) -> set[str]:
    return {name, *(name + suffix for suffix in SUFFIXES.get(kind, ("",)))}


@pytest.fixture
def exported(control_db: None) -> set[str]:
    """Return every series name the app can export: its own families and the scrape-time collectors'."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            names |= _names(value._name, value._type)
    response = Client().get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        names |= _names(family.name, family.type)
    return names


def _rules() -> list[dict[str, object]]:
    document = yaml.safe_load((PRODUCTION / "prometheus" / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_alert_rule_is_complete_and_names_exported_metrics(exported: set[str]) -> None:
    rules = _rules()
    assert {"TesseraReplicaLagHigh", "TesseraJobStuck", "TesseraHigh5xxRate",
            "TesseraServerConnectionsNearCap"} <= {str(rule["alert"]) for rule in rules}
    for rule in rules:
        assert {"alert", "expr", "labels", "annotations"} <= set(rule), rule
        used = set(METRIC_NAME.findall(str(rule["expr"])))
        assert used, rule["alert"]
        assert used - exported == set(), rule["alert"]


def test_every_dashboard_panel_queries_exported_metrics(exported: set[str]) -> None:
    dashboard = json.loads((PRODUCTION / "grafana" / "dashboards" / "tessera.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(expressions) >= 10
    for expr in expressions:
        used = set(METRIC_NAME.findall(expr))
        assert used and used - exported == set(), expr


@pytest.mark.unit
def test_prometheus_loads_the_rules_and_scrapes_with_the_token() -> None:
    config = yaml.safe_load((PRODUCTION / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics" and job["authorization"]["type"] == "Bearer"
    compose = yaml.safe_load((PRODUCTION / "docker-compose.yml").read_text())
    assert {"prometheus", "grafana"} <= set(compose["services"])
    assert compose["services"]["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/metrics"
