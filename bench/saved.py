"""Print the last saved results as Markdown tables, running nothing (``python -m bench --markdown``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.common import print_table


def print_saved(directory: Path, names: list[str]) -> int:
    """Print the tables saved in `directory` for `names`; return 1 when one has no saved result."""
    os.environ["BENCH_MARKDOWN"] = "1"
    missing = 0
    for name in names:
        path = directory / f"{name}.json"
        if not path.exists():
            print(f"\n**{name}**: no saved result in {directory} (run `make bench BENCH_ARGS={name}`)")
            missing = 1
            continue
        document = json.loads(path.read_text())
        print(f"\n### {name}\n\nmachine: {', '.join(f'{k} {v}' for k, v in document.get('machine', {}).items())}")
        for table in document.get("tables") or [_flat_table(name, document)]:
            print_table(table["title"], [tuple(row) for row in table["rows"]], tuple(table["headers"]))
    return missing


def _flat_table(name: str, document: dict[str, Any]) -> dict[str, Any]:
    """Return a result saved before tables were kept as one table of its figures (path, value)."""
    rows: list[list[str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            rows.append([prefix, f"{value:.4g}" if isinstance(value, float) else str(value)])

    walk("", {k: v for k, v in document.items() if k not in ("benchmark", "machine", "tables")})
    return {"title": f"{name} (saved figures)", "headers": ["figure", "value"], "rows": rows}
