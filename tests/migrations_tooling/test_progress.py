"""Fleet progress (rich): counts never pass the total, the control plane is not a tenant, one final line."""

from __future__ import annotations

import io
import re

from migrations_tooling.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def feed(bar: ProgressBar, tenants: int, templates: int) -> None:
    bar({"event": "mismatch", "unknown": [], "rebuild": ["template:b"]})
    bar({"event": "database", "label": "control", "status": "done"})  # the ledger reports it like a database
    bar({"event": "control", "applied": ["fleetapp.0002_widget_color"]})
    bar({"event": "start", "total": tenants + templates, "templates": templates, "skipped": 1})
    for i in range(tenants + templates):
        bar({"event": "database", "label": f"p-{i}", "status": "failed" if i == 1 else "done", "error": "boom"})
    bar({"event": "finished", "status": "failed", "error": ""})


def test_a_log_gets_a_line_per_tenth_and_one_final_line() -> None:
    out = io.StringIO()
    feed(ProgressBar(out), tenants=3, templates=2)
    text = out.getvalue()
    assert "3 tenant database(s) and 2 template(s) to migrate, 1 database(s) already current" in text
    assert "template:b: rebuilt from scratch" in text and "control plane: applied 1 migration(s)" in text
    counts = re.findall(r"(\d+)/(\d+) database\(s\) migrated", text)
    assert all(int(done) <= int(total) == 5 for done, total in counts)
    assert text.count("5/5 database(s) migrated, 1 failed") == 1 and "FAILED p-1: boom" in text
    assert "\r" not in text and "\x1b" not in text  # plain lines for CI logs


def test_a_rollback_says_the_control_plane_unapplied() -> None:
    out = io.StringIO()
    ProgressBar(out)({"event": "control", "applied": ["fleetapp.0002_widget_color (unapplied)"]})
    assert out.getvalue() == "control plane: unapplied 1 migration(s)\n"


def test_a_terminal_gets_a_live_bar_that_ends_at_the_total_once() -> None:
    out = Terminal()
    feed(ProgressBar(out), tenants=44, templates=2)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # drop cursor and colour codes
    assert "44 tenant database(s) and 2 template(s) to migrate" in text
    assert "46/46" in text and not re.search(r"4[7-9]/46|45/44", text)
    last = [line for line in text.splitlines() if "46/46" in line]
    assert last and all(len(line) <= 80 for line in text.splitlines())  # fits the (default) terminal width
    assert text.rstrip().endswith(last[-1].rstrip())  # the final state is the last line, on its own line
