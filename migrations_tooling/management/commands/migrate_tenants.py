"""Migrate the control plane, the templates and every tenant database (see docs/migrations.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ApiError
from migrations_tooling import runner
from migrations_tooling.progress import ProgressBar, summary
from migrations_tooling.state import fleet_state
from routers import registry
from routers.spec import TenantSpec


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = "Plan, run and resume migrations across the control plane and all tenant databases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--plan", action="store_true", help="show pending migrations per database, change nothing")
        parser.add_argument("--sql", action="store_true", help="with --plan: print the SQL of each pending migration")
        parser.add_argument("--check-drift", action="store_true",
                            help="report databases whose applied migrations differ from the code")
        parser.add_argument("--parallel", type=int, default=1, help="worker processes (default 1)")
        parser.add_argument("--tenants", type=_csv, default=[], help="only these slugs (a,b,c)")
        parser.add_argument("--exclude", type=_csv, default=[], help="skip these slugs")
        parser.add_argument("--canary", type=int, default=0, help="migrate N databases first, stop if one fails")
        parser.add_argument("--continue-on-error", action="store_true", help="a failed database does not stop the run")
        parser.add_argument("--allow-unsafe", action="store_true", help="run migrations the linter refuses")
        parser.add_argument("--resume", type=int, metavar="RUN_ID", help="retry what a run did not finish")

    def handle(self, *args: Any, **opts: Any) -> None:
        options = runner.RunOptions(parallel=max(1, opts["parallel"]), tenants=opts["tenants"],
                                    exclude=opts["exclude"], canary=max(0, opts["canary"]),
                                    continue_on_error=opts["continue_on_error"], allow_unsafe=opts["allow_unsafe"])
        if opts["plan"] or opts["check_drift"]:
            self._report(options, sql=opts["sql"], drift=opts["check_drift"])
            return
        run = self._run_for(options, opts["resume"])
        try:
            run = runner.execute(run.pk, progress=ProgressBar(self.stderr._out))
        except ApiError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(summary(run))
        if run.status != "done":
            raise CommandError(f"run {run.pk} {run.status}")

    def _run_for(self, options: runner.RunOptions, resume: int | None) -> Any:
        from migrations_tooling.models import MigrationRun

        if resume is None:
            return runner.start_run(options, requested_by="cli")
        run = MigrationRun.objects.filter(pk=resume).first()
        if run is None:
            raise CommandError(f"no migration run {resume}")
        if run.status == "done":
            raise CommandError(f"run {resume} is already done")
        return run

    def _report(self, options: runner.RunOptions, *, sql: bool, drift: bool) -> None:
        states = fleet_state(runner.select_targets(options))
        groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
        drifted = []
        for state in states:
            if state.error or state.unknown:
                drifted.append(state)
            groups[state.pending].append(state.target.label)
        if drift:
            for state in drifted:
                self.stdout.write(f"DRIFT {state.target.label}: unknown {list(state.unknown)} {state.error}")
            self.stdout.write(f"{len(drifted)} of {len(states)} database(s) drifted")
            if drifted:
                raise CommandError("schema drift found")
            return
        for pending, labels in sorted(groups.items(), key=lambda item: -len(item[1])):
            what = ", ".join(pending) if pending else "nothing pending"
            self.stdout.write(f"{len(labels)} database(s): {what}")
            self.stdout.write(f"  {', '.join(labels[:20])}{' ...' if len(labels) > 20 else ''}")
            if sql and pending:
                self._print_sql(pending, states[[s.target.label for s in states].index(labels[0])].target)

    def _print_sql(self, pending: tuple[str, ...], target: Any) -> None:
        spec = TenantSpec(target.label, target.server, target.database)
        registry.ensure_registered(spec)
        try:
            for key in pending:
                app, name = key.split(".", 1)
                self.stdout.write(f"-- {key}")
                call_command("sqlmigrate", app, name, database=spec.direct_alias, stdout=self.stdout)
        finally:
            registry.unregister(spec.slug)
