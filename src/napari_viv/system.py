"""Facts about the machine the code runs on, each worked out in one place."""

from __future__ import annotations

import os


def cpu_count() -> int:
    """Count the CPUs this process may run on (at least 1).

    Honours ``taskset`` and cgroup CPU pinning where the platform reports
    them (Linux), else the machine's CPU count.

    Returns
    -------
    int
        The CPUs available to this process.

    Examples
    --------
    >>> cpu_count() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1  # macOS, Windows
