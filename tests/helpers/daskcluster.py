"""A real dask.distributed cluster on 127.0.0.1: a `dask scheduler` and `dask worker`
processes, started as the console scripts a user would run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DASK = str(Path(sys.executable).with_name("dask"))


class Cluster:
    """``with Cluster(tmp, workers=2, env={...}) as c:`` -> c.address, c.workers (Popen)."""

    def __init__(self, folder: Path, workers: int = 2, env: dict | None = None, scheduler_env: dict | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.nworkers = workers
        self.env = {**os.environ, **(env or {})}
        self.scheduler_env = {**os.environ, **(scheduler_env or {})}
        self.file = self.folder / "scheduler.json"
        self.scheduler = None
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, args, env, log):
        return subprocess.Popen([DASK, *args], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self) -> Cluster:
        log = open(self.folder / "scheduler.log", "w")
        self.scheduler = self._start(
            ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(self.file)],
            self.scheduler_env,
            log,
        )
        deadline = time.monotonic() + 60
        while not self.file.exists():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"dask scheduler did not start: {self.log('scheduler')}")
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole, but give the writer a moment
        self.address = json.loads(self.file.read_text())["address"]
        for i in range(self.nworkers):
            wlog = open(self.folder / f"worker{i}.log", "w")
            self.workers.append(
                self._start(
                    [
                        "worker",
                        "--scheduler-file",
                        str(self.file),
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"w{i}",
                    ],
                    self.env,
                    wlog,
                )
            )
        self.wait_for_workers(self.nworkers)
        return self

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(n, timeout=timeout)

    def worker_addresses(self) -> dict[int, str]:
        """pid -> address of every connected worker."""
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            pids = client.run(os.getpid)
        return {pid: addr for addr, pid in pids.items()}

    def log(self, name: str) -> str:
        p = self.folder / f"{name}.log"
        return p.read_text()[-3000:] if p.exists() else ""

    def __exit__(self, *exc) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            if proc is None:
                continue
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
