"""The code's migration version: what a run was planned with, checked by whoever executes it."""

from __future__ import annotations

import hashlib

from migrations_tooling.executor import project_loader


def code_version() -> str:
    """Return a short hash of every migration the code knows (the graph's nodes).

    Two processes with the same migration files agree; a worker started before
    new files were deployed (or after they were removed) does not.
    """
    nodes = sorted(f"{app}.{name}" for app, name in project_loader().graph.nodes)
    return hashlib.sha256("\n".join(nodes).encode()).hexdigest()[:16]
