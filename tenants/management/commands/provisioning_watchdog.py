"""Requeue or fail provisioning jobs that stopped making progress; drop orphan databases."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tenants import orphans, watchdog


class Command(BaseCommand):
    help = ("Requeue or fail stalled provisioning jobs, then drop orphan tenant databases "
            "(also run every 15 s by Celery beat).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orphans-only", action="store_true", help="only sweep orphan databases")
        parser.add_argument("--dry-run", action="store_true",
                            help="with --orphans-only: list orphan databases, drop nothing")

    def handle(self, *args: Any, orphans_only: bool = False, dry_run: bool = False, **opts: Any) -> None:
        if orphans_only:
            found = orphans.orphan_databases_sweep(dry_run=dry_run)
            verb = "orphan" if dry_run else "dropped"
            for orphan in found:
                owner = f"tenant {orphan.owner}" if orphan.owner else "no tenant"
                self.stdout.write(f"{verb} {orphan.server}/{orphan.database} ({owner})")
            self.stdout.write(f"{len(found)} orphan database(s){'' if dry_run else ' dropped'}")
            return
        counts = watchdog.provisioning_watchdog()
        self.stdout.write(", ".join(f"{name} {count}" for name, count in counts.items()))
