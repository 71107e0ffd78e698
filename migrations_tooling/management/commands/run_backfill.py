"""Run a registered backfill over tenant databases, resumably."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migrations_tooling.backfill import REGISTRY, run_backfill


class Command(BaseCommand):
    help = "Run a batched data migration across tenants (resumes from its checkpoints)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="backfill name (omit to list them)")
        parser.add_argument("--tenants", default="", help="only these slugs (a,b)")
        parser.add_argument("--sleep", type=float, default=0.0, help="seconds between batches (throttle)")

    def handle(self, *args: Any, name: str | None, tenants: str, sleep: float, **opts: Any) -> None:
        if not name:
            self.stdout.write("\n".join(sorted(REGISTRY)) or "no backfills registered")
            return
        if name not in REGISTRY:
            raise CommandError(f"unknown backfill {name!r}; known: {', '.join(sorted(REGISTRY))}")
        slugs = [s for s in tenants.split(",") if s]
        try:
            done = run_backfill(name, tenants=slugs, sleep=sleep,
                                progress=lambda slug, n: self.stderr.write(f"  {slug}: +{n}"))
        except Exception as exc:
            raise CommandError(f"{name} stopped: {exc}; run it again to resume") from exc
        self.stdout.write(f"{name}: {sum(done.values())} rows over {len(done)} tenant(s)")
