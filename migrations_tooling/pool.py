"""A bounded thread pool that migrates databases and reports in batches.

Per-database work mostly waits on PostgreSQL (connect, lock, DDL, commit), so
threads in one process migrate databases concurrently while sharing one
Django set-up, one migration graph, one rendered state and one `PlanBook`;
memory does not grow with the number of databases. Exactly `parallel`
databases are in flight, so "submitted" is "started": the caller marks them
running in the ledger in one query per batch, and saves finished ones in one
query per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

from django.db import connections

from migrations_tooling.results import DatabaseResult

Item = TypeVar("Item")
Result = DatabaseResult


class MigrationPool(Generic[Item]):
    """Run `work` over items, `parallel` at a time; reusable for the canary and the rest."""

    def __init__(self, work: Callable[[Item], Result], parallel: int, *,
                 on_start: Callable[[list[Item]], None], on_done: Callable[[list[tuple[Item, Result]]], None]):
        self.work, self.parallel = work, max(1, parallel)
        self.on_start, self.on_done = on_start, on_done
        self._executor = ThreadPoolExecutor(self.parallel, thread_name_prefix="migrate")

    def __enter__(self) -> MigrationPool[Item]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._executor.shutdown(wait=True)

    def run(self, items: Sequence[Item], *, stop_on_failure: bool) -> bool:
        """Migrate `items`; return False when a failure stopped the batch early.

        After a stopping failure no new database starts, but the ones already
        migrating finish (and are reported) rather than being abandoned.
        """
        pending: Iterator[Item] = iter(items)
        in_flight: dict[Future[Result], Item] = {}
        stopped = False
        self._submit(pending, self.parallel, in_flight)
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            finished = [(in_flight.pop(future), future.result()) for future in done]
            stopped = stopped or (stop_on_failure and any(not r.ok for _, r in finished))
            if not stopped:  # refill first: the threads work while the ledger is written
                self._submit(pending, len(finished), in_flight)
            self.on_done(finished)
        return not stopped

    def _submit(self, pending: Iterator[Item], count: int, in_flight: dict[Future[Result], Item]) -> None:
        batch = [item for _, item in zip(range(count), pending, strict=False)]
        for item in batch:
            in_flight[self._executor.submit(self._work, item)] = item
        if batch:  # after submitting, so no thread waits on the ledger; before any result is saved
            self.on_start(batch)

    def _work(self, item: Item) -> Result:
        try:
            return self.work(item)
        finally:
            connections.close_all()  # this thread's connections, whatever the work opened
