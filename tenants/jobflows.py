"""What a data job kind is made of: its resumable steps and its failure handler.

The backup, restore and clone modules each declare their `Flow`s; the job
runner (`tenants.datajobs`) imports them all and runs one. Keeping the
shape here, below both, lets the runner import its flows at the top of the
file instead of the flows importing the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenants.models import ProvisioningJob

Step = Callable[[ProvisioningJob], None]
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Flow:
    """The steps of one job kind, and its failure handler (it returns a note for the job's error)."""

    steps: tuple[tuple[str, Step], ...]
    on_fail: Callable[[ProvisioningJob], str]
