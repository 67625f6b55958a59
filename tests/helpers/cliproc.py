"""Run napari-viv as a subprocess until it prints its link (serve and demo tests)."""

from __future__ import annotations

import subprocess
import sys
import time


def start_until_link(args, env, timeout=120):
    """Start ``python -m napari_viv ARGS``; return (process, stdout lines up to 'Press Ctrl-C')."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "napari_viv", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return proc, lines
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"no link printed: {lines} {out} {err}")
