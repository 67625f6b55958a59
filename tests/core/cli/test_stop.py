"""cli.signals.Stop: a Ctrl-C or SIGTERM ends ``Stop.wait()`` wherever it lands.

``napari-viv serve`` and ``demo`` wait in ``Stop.wait()`` for a signal, and
the handler runs on the waiting thread. ``serve`` once hung for good on
Ctrl-C: the signal landed while ``Event.wait`` held the event's lock, and
the handler's ``Event.set`` waited for that lock.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time

TRIALS = 300

# Waits again and again, looking at the event very often, so that signals
# land at every point of the wait loop; says when it waits and what stopped it.
CHILD = """
from napari_viv.cli.signals import Stop

while True:
    with Stop(twice=False) as stop:
        stop.poll = 1e-5
        print("waiting", flush=True)
        stop.wait()
        print("stopped by", stop.signum, flush=True)
"""


def test_a_signal_ends_the_wait_wherever_it_lands():
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for trial in range(TRIALS):
            assert proc.stdout.readline() == "waiting\n", proc.stderr.read() if proc.poll() is not None else ""
            time.sleep((trial % 30) / 10_000)  # from 0 to 3 ms into the wait
            signum = (signal.SIGINT, signal.SIGTERM)[trial % 2]
            proc.send_signal(signum)
            ready, _, _ = select.select([proc.stdout], [], [], 10)
            assert ready, f"Stop.wait() never returned after signal {trial + 1} of {TRIALS}: the handler deadlocked"
            assert proc.stdout.readline() == f"stopped by {int(signum)}\n"
    finally:
        proc.kill()
        proc.communicate()
