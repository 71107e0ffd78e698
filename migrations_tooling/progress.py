"""Terminal progress for fleet runs: a live bar and a summary table."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from migrations_tooling.models import MigrationRun


class ProgressBar:
    """Consume runner events; redraw one line on a terminal, print every 10% otherwise."""

    def __init__(self, out: TextIO | None = None, width: int = 30) -> None:
        self.out, self.width = out or sys.stderr, width
        self.total = self.done = self.failed = 0
        self.started = time.monotonic()
        self.tty = self.out.isatty()
        self._last_decile = -1

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "control" and event["applied"]:
            self.out.write(f"control plane: applied {len(event['applied'])} migration(s)\n")
        elif kind == "start":
            self.total, self.started = event["total"], time.monotonic()
            self.out.write(f"{event['total']} database(s) to migrate, {event['skipped']} already current\n")
        elif kind == "database":
            self.done += 1
            self.failed += event["status"] == "failed"
            if event["status"] == "failed":
                self._line(final=True)
                self.out.write(f"  FAILED {event['label']}: {event.get('error', '')[:300]}\n")
            self._line()
        elif kind == "finished":
            self._line(final=True)
        self.out.flush()

    def _line(self, final: bool = False) -> None:
        if not self.total:
            return
        share = self.done / self.total
        decile = int(share * 10)
        if not self.tty and not final and decile == self._last_decile:
            return
        self._last_decile = decile
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        bar = "#" * int(share * self.width)
        text = (f"[{bar.ljust(self.width, '.')}] {self.done}/{self.total} failed {self.failed} "
                f"{rate:.1f} db/s eta {eta:.0f}s")
        self.out.write(("\r" + text) if self.tty and not final else text + "\n")


def summary(run: MigrationRun) -> str:
    """Return a table of the run's outcome per status, and each failure."""
    from migrations_tooling.selectors import run_counts

    counts = run_counts(run)
    lines = [f"run {run.pk}: {run.status}" + (f" ({run.error})" if run.error else ""),
             f"{'status':<10} {'databases':>9}"]
    lines += [f"{status:<10} {counts[status]:>9}" for status in sorted(counts)]
    for record in run.records.filter(status="failed")[:50]:
        lines.append(f"  failed {record.database_label} on {record.server}: {record.error[:200]}")
    if run.status == "failed":
        lines.append(f"fix the cause, then: python manage.py migrate_tenants --resume {run.pk}")
    return "\n".join(lines)
