"""Move a tenant to another server from the command line, with a progress bar of the move's steps.

The job runs in this process (nothing queued; `--queue` hands it to a Celery
worker instead). It is the same job the platform API creates: its steps show
in `GET /api/platform/jobs/<id>/` and in the Django admin as well.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.aliases import CONTROL_ALIAS
from core.errors import ApiError
from tenants import moving, operations, provisioning, services
from tenants.models import JobStatus, ProvisioningJob


class Command(BaseCommand):
    help = "Move a tenant's database to another server while it keeps serving."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--to", required=True, dest="server", help="the target server's name")
        parser.add_argument("--queue", action="store_true", help="queue it for a Celery worker instead")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            job = services.tenant_move(slug=opts["slug"], server=opts["server"],
                                       requested_by=operations.actor_of_cli(), enqueue=opts["queue"])
        except ApiError as exc:
            raise CommandError(f"{exc.code}: {exc.detail}") from exc
        plan = job.payload
        self.stdout.write(f"move job {job.pk}: {plan['source_server']}/{plan['source_database']} -> "
                          f"{plan['server']}/{plan['database']}")
        if opts["queue"]:
            self.stdout.write(f"queued for a worker; follow it with GET /api/platform/jobs/{job.pk}/")
            return
        status = run_with_progress(job.pk)
        job = ProvisioningJob.objects.using(CONTROL_ALIAS).get(pk=job.pk)
        if status != JobStatus.DONE:
            raise CommandError(f"move {status}: {job.error}")
        self.stdout.write(self.style.SUCCESS(
            f"{opts['slug']} is on {plan['server']}: writes paused {job.payload.get('cutover_seconds')}s at cutover"))


def run_with_progress(job_id: int) -> str:
    """Run move job `job_id` here, one bar step per move step; return the job's final status."""
    console = Console(file=sys.stderr, highlight=False, markup=False, emoji=False)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("move", total=len(moving.STEPS))

        def progress(step: str, seconds: float) -> None:
            bar.advance(task)
            bar.update(task, description=f"move: {step} done")
            bar.console.print(f"  {step} ({seconds:.2f}s)")

        return provisioning.job_run(job_id=job_id, progress=progress)
