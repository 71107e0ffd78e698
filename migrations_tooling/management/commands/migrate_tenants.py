"""Migrate the control plane, the templates and every tenant database (see docs/migrations.md).

Exit codes (`migrations_tooling.exitcodes.ExitCode`): 0 done, 1 some database
failed, 2 usage error, 3 refused by the linter, 4 another run holds the lock,
5 drift found (or, with --check, anything pending).
"""

from __future__ import annotations

import json
from typing import Any, TextIO, cast

from django.conf import settings
from django.core.checks import Tags
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.migrations.exceptions import AmbiguityError

from migrations_tooling import reporting, runner, selectors, services
from migrations_tooling.aliases import direct_alias
from migrations_tooling.executor import UNAPPLIED, project_loader
from migrations_tooling.exitcodes import ExitCode
from migrations_tooling.locks import RunInProgress
from migrations_tooling.models import MigrationRun, RunStatus
from migrations_tooling.planning import plan_fleet
from migrations_tooling.progress import ProgressBar
from migrations_tooling.targets import Target, TargetKind, UnknownTenants
from migrations_tooling.version import code_version
from tenants.operations import actor_of_cli, busy_tenants


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = "Plan, run and resume migrations across the control plane and all tenant databases."
    # The model checks only: URL and admin checks import every view (seconds on a busy 2-core host) and
    # describe the web process, which `manage.py check --deploy` covers; this command serves no request.
    requires_system_checks = [Tags.models]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_label", nargs="?", help="with migration_name: migrate the fleet to that migration")
        parser.add_argument("migration_name", nargs="?",
                            help="a migration (name or unique prefix), forwards or backwards; 'zero' unapplies the app")
        parser.add_argument("--plan", action="store_true", help="show pending migrations per database, change nothing")
        parser.add_argument("--sql", action="store_true",
                            help="print the SQL of each pending migration (implies --plan)")
        parser.add_argument("--check", action="store_true",
                            help="like --plan, and exit 5 when anything is pending, unknown or to rebuild")
        parser.add_argument("--check-drift", action="store_true",
                            help="report databases whose applied migrations differ from the code (exit 5 if any)")
        parser.add_argument("--format", choices=["text", "json"], default="text", help="output for scripts: json")
        parser.add_argument("--fake", action="store_true", help="record the migrations without running them")
        parser.add_argument("--allow-unknown-migrations", action="store_true", dest="allow_unknown",
                            help="run although databases hold migrations this code does not know")
        parser.add_argument("--parallel", type=int, default=None,
                            help="databases migrated at once (default MIGRATE_PARALLEL)")
        parser.add_argument("--tenants", type=_csv, default=[], help="only these slugs (a,b,c)")
        parser.add_argument("--exclude", type=_csv, default=[], help="skip these slugs")
        parser.add_argument("--canary", type=int, default=0, help="migrate N databases first, stop if one fails")
        parser.add_argument("--continue-on-error", action="store_true", help="a failed database does not stop the run")
        parser.add_argument("--allow-unsafe", action="store_true", help="run migrations the linter refuses")
        parser.add_argument("--resume", type=int, metavar="RUN_ID",
                            help="retry what a run did not finish (--allow-unsafe, --allow-unknown-migrations, "
                                 "--parallel and --continue-on-error given here override the run's)")

    def handle(self, *args: Any, **opts: Any) -> None:
        self.json, self.quiet = opts["format"] == "json", opts["verbosity"] == 0
        try:
            options = self._options(opts)
            if opts["check_drift"]:
                return self._drift(options)
            if opts["plan"] or opts["sql"] or opts["check"]:
                return self._plan(options, sql=opts["sql"], check=opts["check"])
            self._run(options, opts)
        except UnknownTenants as exc:
            raise CommandError(exc.detail, returncode=ExitCode.USAGE) from exc
        except RunInProgress as exc:
            raise CommandError(exc.detail, returncode=ExitCode.LOCKED) from exc

    def _options(self, opts: dict[str, Any]) -> runner.RunOptions:
        if opts["resume"] is not None and (opts["app_label"] or opts["fake"] or opts["tenants"] or opts["exclude"]):
            raise CommandError("--resume keeps the run's target and databases", returncode=ExitCode.USAGE)
        options = runner.RunOptions(
            parallel=max(1, opts["parallel"] or settings.MIGRATE_PARALLEL), tenants=opts["tenants"],
            exclude=opts["exclude"], canary=max(0, opts["canary"]), continue_on_error=opts["continue_on_error"],
            allow_unsafe=opts["allow_unsafe"], allow_unknown=opts["allow_unknown"], fake=opts["fake"],
            target=_target(opts["app_label"], opts["migration_name"]))
        options.check()
        return options

    def _emit(self, document: dict[str, Any], lines: list[str]) -> None:
        if self.json:
            self.stdout.write(json.dumps(document, indent=2, default=str))
        elif not self.quiet:
            self.stdout.write("\n".join(lines))

    def _drift(self, options: runner.RunOptions) -> None:
        report = selectors.drift_report(tenants=options.tenants, exclude=options.exclude)
        self._emit(report, reporting.drift_lines(report))
        if report["drifted"]:
            raise CommandError("schema drift found", returncode=ExitCode.DRIFT)

    def _plan(self, options: runner.RunOptions, *, sql: bool, check: bool) -> None:
        self._note_busy()
        to = runner.target_key(options)
        fleet = plan_fleet(options.targets(), control=True, to=to, collect_sql=False)
        document = reporting.plan_document(fleet, to=to, code_version=code_version())
        self._emit(document, reporting.plan_lines(document))
        if sql and not self.json:
            self._print_sql(fleet.states)
        if check and reporting.has_work(document):
            raise CommandError("migrations pending or databases out of step with the code",
                               returncode=ExitCode.DRIFT)

    def _note_busy(self) -> None:
        """Say which tenants this run leaves alone because another operation holds them."""
        if not (self.json or self.quiet):
            for slug, reason in sorted(busy_tenants().items()):
                self.stdout.write(f"skipped {slug}: {reason}")

    def _run(self, options: runner.RunOptions, opts: dict[str, Any]) -> None:
        self._note_busy()
        run = self._run_for(options, opts)
        out = cast(TextIO, self.stderr._out)
        run = runner.execute(run.pk, progress=None if self.quiet or self.json else ProgressBar(out))
        document = reporting.run_document(run)
        self._emit(document, reporting.run_lines(document))
        if run.status == RunStatus.DONE:
            return
        code = ExitCode.FAILED
        if run.status == RunStatus.REFUSED:
            code = ExitCode.REFUSED if any(f.get("blocking") for f in run.lint) else ExitCode.DRIFT
        raise CommandError(f"run {run.pk} {run.status}: {run.error}", returncode=code)

    def _run_for(self, options: runner.RunOptions, opts: dict[str, Any]) -> MigrationRun:
        if opts["resume"] is None:
            return services.migration_run_start(options=options, requested_by="cli", actor=actor_of_cli())
        run = MigrationRun.objects.filter(pk=opts["resume"]).first()
        if run is None:
            raise CommandError(f"no migration run {opts['resume']}", returncode=ExitCode.USAGE)
        overrides = {"parallel": opts["parallel"], "allow_unsafe": opts["allow_unsafe"] or None,
                     "allow_unknown": opts["allow_unknown"] or None,
                     "continue_on_error": opts["continue_on_error"] or None}
        return services.migration_run_resume(run=run, overrides=overrides, requested_by="cli", actor=actor_of_cli())

    def _print_sql(self, states: list[Any]) -> None:
        """Print each distinct pending list's SQL, generated on one database that has it."""
        samples: dict[tuple[str, ...], Target] = {}
        for state in states:
            if state.pending and not state.error:
                current = samples.get(state.pending)
                if current is None or current.kind == TargetKind.TEMPLATE:
                    samples[state.pending] = state.target
        for pending, target in samples.items():
            with direct_alias(target) as alias:
                for key in pending:
                    app, name = key.removesuffix(UNAPPLIED).split(".", 1)
                    self.stdout.write(f"-- {key}")
                    call_command("sqlmigrate", app, name, database=alias, backwards=key.endswith(UNAPPLIED),
                                 stdout=self.stdout)


def _target(app_label: str | None, name: str | None) -> list[str]:
    """Return [app, full migration name] (or [app, 'zero']) for a target given on the command line."""
    if app_label is None:
        return []
    if name is None:
        raise CommandError("give a migration name (or 'zero') after the app label", returncode=ExitCode.USAGE)
    loader = project_loader()
    if app_label not in loader.migrated_apps:
        raise CommandError(f"app {app_label!r} has no migrations", returncode=ExitCode.USAGE)
    if name == "zero":
        return [app_label, name]
    try:
        migration = loader.get_migration_by_prefix(app_label, name)
    except (AmbiguityError, KeyError) as exc:
        raise CommandError(f"no single migration {app_label}.{name}: {exc}", returncode=ExitCode.USAGE) from exc
    return [app_label, migration.name]
