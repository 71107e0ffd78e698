"""Terminal progress for fleet runs (rich): a live bar on a terminal, a line every 10% in logs.

Counts cover the databases the pool migrates (tenant databases and templates);
the control plane is reported on its own line, never counted as a tenant.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from migrations_tooling.executor import UNAPPLIED
from migrations_tooling.results import Outcome
from migrations_tooling.targets import CONTROL


class ProgressBar:
    """Consume runner events and show them on `out` (a terminal or a log)."""

    def __init__(self, out: TextIO | None = None) -> None:
        # Labels are data: no markup, no emoji codes ("template:b:" is not an emoji), no highlighting.
        self.console = Console(file=out or sys.stderr, highlight=False, soft_wrap=False, markup=False, emoji=False)
        self.live = self.console.is_terminal
        self.total = self.done = self.failed = 0
        self._decile = -1
        self._bar: Progress | None = None
        self._task: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        handler = getattr(self, f"_on_{event['event']}", None)
        if handler is not None:
            handler(event)

    def _print(self, text: str) -> None:
        (self._bar.console if self._bar else self.console).print(text)

    def _on_mismatch(self, event: dict[str, Any]) -> None:
        if event["unknown"]:
            self._print(f"databases with migrations unknown to this code: {', '.join(event['unknown'][:20])}")
        for label in event["rebuild"]:
            self._print(f"{label}: rebuilt from scratch (missing or holding unknown migrations)")

    def _on_control(self, event: dict[str, Any]) -> None:
        unapplied = sum(key.endswith(UNAPPLIED) for key in event["applied"])
        if applied := len(event["applied"]) - unapplied:
            self._print(f"control plane: applied {applied} migration(s)")
        if unapplied:
            self._print(f"control plane: unapplied {unapplied} migration(s)")

    def _on_start(self, event: dict[str, Any]) -> None:
        self.total = event["total"]
        templates = event.get("templates", 0)
        self._print(f"{self.total - templates} tenant database(s) and {templates} template(s) to migrate, "
                    f"{event['skipped']} database(s) already current")
        if self.live and self.total:
            self._bar = Progress(TextColumn("migrating"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("failed {task.fields[failed]}"), TimeElapsedColumn(),
                                 TextColumn("eta"), TimeRemainingColumn(), console=self.console)
            self._task = self._bar.add_task("migrating", total=self.total, failed=0)
            self._bar.start()

    def _on_database(self, event: dict[str, Any]) -> None:
        if event["label"] == CONTROL or not self.total:
            return
        self.done = min(self.total, self.done + 1)
        if event["status"] == Outcome.FAILED:
            self.failed += 1
            self._print(f"FAILED {event['label']}: {event.get('error', '')[:300]}")
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, failed=self.failed)
        elif (decile := self.done * 10 // self.total) != self._decile and self.done < self.total:
            self._decile = decile
            self._line()

    def _on_finished(self, event: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.stop()  # leaves the bar's final state on screen, once
            self._bar = None
        elif self.total:
            self._line()

    def _line(self) -> None:
        self.console.print(f"{self.done}/{self.total} database(s) migrated, {self.failed} failed")
