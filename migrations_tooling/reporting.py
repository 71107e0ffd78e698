"""What `migrate_tenants` shows: plans, drift and runs, as text for people or JSON for scripts."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from migrations_tooling.models import MigrationRun, RecordStatus, RunStatus
from migrations_tooling.planning import FleetPlan
from migrations_tooling.selectors import run_counts
from migrations_tooling.state import DatabaseState
from migrations_tooling.targets import TargetKind

MAX_LISTED = 20


def plan_document(fleet: FleetPlan, *, to: tuple[str, str] | None, code_version: str) -> dict[str, Any]:
    """Return a plan as a JSON-ready document (what --plan --format json prints)."""
    mismatch = fleet.mismatch()
    tenants = [s for s in fleet.states if s.target.kind != TargetKind.TEMPLATE]
    return {
        "code_version": code_version,
        "target": list(to) if to else None,
        "control": {"pending": list(fleet.control.migrations),
                    "unknown": list(fleet.control_state.unknown) if fleet.control_state else []},
        "tenants": len(tenants),
        "templates": len(fleet.states) - len(tenants),
        "pending": sum(1 for s in fleet.states if s.pending),
        "unknown": mismatch.unknown,
        "rebuild": mismatch.rebuild,
        "databases": [_database(s) for s in fleet.states],
    }


def has_work(document: dict[str, Any]) -> bool:
    """Say whether a plan document has anything pending, unknown, rebuilt or unreadable (--check)."""
    return bool(document["control"]["pending"] or document["pending"] or document["unknown"]
                or document["rebuild"] or any(d["error"] for d in document["databases"]))


def _database(state: DatabaseState) -> dict[str, Any]:
    target = state.target
    return {"label": target.label, "kind": target.kind, "server": target.server, "database": target.database,
            "pending": list(state.pending), "unknown": list(state.unknown), "rebuild": state.rebuild,
            "error": state.error}


def plan_lines(document: dict[str, Any]) -> list[str]:
    """Return a plan document as text: control plane, then databases grouped by what they would get."""
    lines = [f"target: {' '.join(str(p) for p in document['target'])}"] if document["target"] else []
    lines.append(f"control: {', '.join(document['control']['pending']) or 'nothing pending'}")
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for entry in document["databases"]:
        groups[tuple(entry["pending"])].append(entry["label"])
    for pending, labels in sorted(groups.items(), key=lambda item: -len(item[1])):
        lines.append(f"{len(labels)} database(s): {', '.join(pending) if pending else 'nothing pending'}")
        lines.append(f"  {_listed(labels)}")
    lines += mismatch_lines(document)
    lines.append(f"{document['tenants']} tenant database(s), {document['templates']} template(s), "
                 f"{document['pending']} with pending migrations")
    return lines


def mismatch_lines(document: dict[str, Any]) -> list[str]:
    """Return warnings for databases ahead of the code and templates to rebuild."""
    lines = []
    control_unknown = document["control"]["unknown"]
    if control_unknown:
        lines.append(f"UNKNOWN control: {', '.join(control_unknown)}")
    for entry in document["databases"]:
        if entry["unknown"] and entry["kind"] != TargetKind.TEMPLATE:
            lines.append(f"UNKNOWN {entry['label']}: {', '.join(entry['unknown'])}")
        if entry["error"]:
            lines.append(f"ERROR {entry['label']}: {entry['error']}")
    if document["unknown"]:
        lines.append(f"{len(document['unknown'])} database(s) hold migrations unknown to this code "
                     "(a code rollback, or a process older than the database); a run refuses unless "
                     "--allow-unknown-migrations")
    for label in document["rebuild"]:
        lines.append(f"REBUILD {label}: missing or holding unknown migrations, rebuilt from scratch")
    return lines


def drift_lines(report: dict[str, Any]) -> list[str]:
    """Return a drift report as text."""
    lines = [f"DRIFT {e['database_label']}: missing {e['missing']} unknown {e['unknown']} {e['error']}".rstrip()
             for e in report["databases"]]
    lines.append(f"{report['drifted']} of {report['checked']} database(s) drifted")
    return lines


def run_document(run: MigrationRun) -> dict[str, Any]:
    """Return a run's outcome as a JSON-ready document (what a run prints with --format json)."""
    failed = run.records.filter(status=RecordStatus.FAILED).order_by("id")
    return {"run": run.pk, "status": run.status, "error": run.error, "counts": run_counts(run),
            "lint": run.lint, "options": {k: v for k, v in run.options.items() if k != "resumes"},
            "failed": [{"label": r.database_label, "server": r.server, "error": r.error} for r in failed[:200]]}


def run_lines(document: dict[str, Any]) -> list[str]:
    """Return a run document as text: status, counts per status, failures, how to resume."""
    lines = [f"run {document['run']}: {document['status']}" + (f" ({document['error']})" if document["error"] else ""),
             f"{'status':<10} {'databases':>9}"]
    lines += [f"{status:<10} {count:>9}" for status, count in sorted(document["counts"].items())]
    lines += [f"  failed {f['label']} on {f['server']}: {f['error'][:200]}" for f in document["failed"][:50]]
    if document["status"] in (RunStatus.FAILED, RunStatus.REFUSED):
        lines.append(f"fix the cause, then: .venv/bin/python manage.py migrate_tenants --resume {document['run']}")
    return lines


def _listed(labels: list[str]) -> str:
    return ", ".join(labels[:MAX_LISTED]) + (f" ... ({len(labels) - MAX_LISTED} more)" if len(labels) > MAX_LISTED
                                             else "")
