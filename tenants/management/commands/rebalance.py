"""Even out the database servers: propose moves (`--plan`), or run them one at a time (`--apply`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApiError
from tenants import operations, rebalance, services
from tenants.management.commands.move_tenant import run_with_progress
from tenants.models import JobStatus


class Command(BaseCommand):
    help = "Propose (--plan) or run (--apply) tenant moves that even out servers by tenant count or size."

    def add_arguments(self, parser: CommandParser) -> None:
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--plan", action="store_true", help="print the proposed moves, change nothing")
        mode.add_argument("--apply", action="store_true", help="run the moves one after the other")
        parser.add_argument("--by", choices=[b.value for b in rebalance.Balance], default="count",
                            help="what to even out: tenant count (default) or database size")
        parser.add_argument("--max-moves", type=int, default=rebalance.MAX_MOVES)

    def handle(self, *args: Any, **opts: Any) -> None:
        loads, targets = rebalance.fleet_loads()
        by = rebalance.Balance(opts["by"])
        moves = rebalance.plan_moves(loads, by=by, targets=targets, max_moves=max(0, opts["max_moves"]))
        for server, tenants in sorted(loads.items()):
            size = sum(t.size for t in tenants) / 1e6
            self.stdout.write(f"server {server}: {len(tenants)} movable tenant(s), {size:.1f} MB")
        if not moves:
            self.stdout.write("balanced: no move would even the servers out further")
            return
        for move in moves:
            self.stdout.write(f"move {move.slug}: {move.source} -> {move.target} ({move.size / 1e6:.1f} MB)")
        if opts["apply"]:
            self._apply(moves)

    def _apply(self, moves: list[rebalance.Move]) -> None:
        for number, move in enumerate(moves, 1):
            self.stdout.write(f"[{number}/{len(moves)}] moving {move.slug} to {move.target}")
            try:
                job = services.tenant_move(slug=move.slug, server=move.target, enqueue=False,
                                           requested_by=operations.actor_of_cli())
            except ApiError as exc:
                raise CommandError(f"{move.slug}: {exc.code}: {exc.detail} (stopped; later moves not run)") from exc
            if run_with_progress(job.pk) != JobStatus.DONE:
                job.refresh_from_db()
                raise CommandError(f"{move.slug}: move failed: {job.error} (stopped; later moves not run)")
