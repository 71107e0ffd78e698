"""Migrate the control plane, the templates and every tenant database (see docs/migrations.md)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TextIO, cast

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.dbservers import configured_servers
from core.errors import ApiError
from migrations_tooling import runner, selectors, services
from migrations_tooling.control import control_plan
from migrations_tooling.models import MigrationRun
from migrations_tooling.progress import ProgressBar, summary
from migrations_tooling.state import TEMPLATE, Target, fleet_state, template_target
from migrations_tooling.worker import direct_alias


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = "Plan, run and resume migrations across the control plane and all tenant databases."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--plan", action="store_true", help="show pending migrations per database, change nothing")
        parser.add_argument("--sql", action="store_true", help="with --plan: print the SQL of each pending migration")
        parser.add_argument("--check-drift", action="store_true",
                            help="report databases whose applied migrations differ from the code")
        parser.add_argument("--parallel", type=int, default=None,
                            help="databases migrated at once (default MIGRATE_PARALLEL)")
        parser.add_argument("--tenants", type=_csv, default=[], help="only these slugs (a,b,c)")
        parser.add_argument("--exclude", type=_csv, default=[], help="skip these slugs")
        parser.add_argument("--canary", type=int, default=0, help="migrate N databases first, stop if one fails")
        parser.add_argument("--continue-on-error", action="store_true", help="a failed database does not stop the run")
        parser.add_argument("--allow-unsafe", action="store_true", help="run migrations the linter refuses")
        parser.add_argument("--resume", type=int, metavar="RUN_ID",
                            help="retry what a run did not finish (--allow-unsafe, --parallel and "
                                 "--continue-on-error given here override the run's)")

    def handle(self, *args: Any, **opts: Any) -> None:
        parallel = max(1, opts["parallel"] or settings.MIGRATE_PARALLEL)
        options = runner.RunOptions(parallel=parallel, tenants=opts["tenants"], exclude=opts["exclude"],
                                    canary=max(0, opts["canary"]), continue_on_error=opts["continue_on_error"],
                                    allow_unsafe=opts["allow_unsafe"])
        if opts["check_drift"]:
            self._drift(options)
            return
        if opts["plan"]:
            self._plan(options, sql=opts["sql"])
            return
        try:
            run = self._run_for(options, opts)
            run = runner.execute(run.pk, progress=ProgressBar(cast(TextIO, self.stderr._out)))
        except ApiError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(summary(run))
        if run.status != "done":
            raise CommandError(f"run {run.pk} {run.status}")

    def _run_for(self, options: runner.RunOptions, opts: dict[str, Any]) -> MigrationRun:
        if opts["resume"] is None:
            return services.migration_run_start(options=options, requested_by="cli")
        run = MigrationRun.objects.filter(pk=opts["resume"]).first()
        if run is None:
            raise CommandError(f"no migration run {opts['resume']}")
        overrides = {"parallel": opts["parallel"], "allow_unsafe": opts["allow_unsafe"] or None,
                     "continue_on_error": opts["continue_on_error"] or None}
        return services.migration_run_resume(run=run, overrides=overrides, requested_by="cli")

    def _drift(self, options: runner.RunOptions) -> None:
        report = selectors.drift_report(tenants=options.tenants, exclude=options.exclude)
        for entry in report["databases"]:
            self.stdout.write(f"DRIFT {entry['database_label']}: missing {entry['missing']} "
                              f"unknown {entry['unknown']} {entry['error']}".rstrip())
        self.stdout.write(f"{report['drifted']} of {report['checked']} database(s) drifted")
        if report["drifted"]:
            raise CommandError("schema drift found")

    def _plan(self, options: runner.RunOptions, *, sql: bool) -> None:
        control = control_plan()
        self.stdout.write(f"control: {', '.join(control.migrations) or 'nothing pending'}")
        targets = [template_target(server) for server in configured_servers()] + runner.select_targets(options)
        groups: dict[tuple[str, ...], list[Target]] = defaultdict(list)
        for state in fleet_state(targets):
            groups[state.pending].append(state.target)
        for pending, members in sorted(groups.items(), key=lambda item: -len(item[1])):
            labels = [t.label for t in members]
            self.stdout.write(f"{len(labels)} database(s): {', '.join(pending) if pending else 'nothing pending'}")
            self.stdout.write(f"  {', '.join(labels[:20])}{' ...' if len(labels) > 20 else ''}")
            if sql and pending:
                self._print_sql(pending, next((t for t in members if t.kind != TEMPLATE), members[0]))

    def _print_sql(self, pending: tuple[str, ...], target: Target) -> None:
        with direct_alias(target) as alias:
            for key in pending:
                app, name = key.split(".", 1)
                self.stdout.write(f"-- {key}")
                call_command("sqlmigrate", app, name, database=alias, stdout=self.stdout)
