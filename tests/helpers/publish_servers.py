"""Real servers for publish tests: moto's S3 server and Debian's nginx, both on 127.0.0.1.

``S3Server`` runs moto in server mode in this process (a real HTTP endpoint
that s3fs reaches like any S3-compatible store). ``Nginx`` runs the system's
nginx as a foreground child with its own config in a temporary folder,
serving one folder; with ``cors=True`` it adds the CORS headers a static host
needs for pages on other sites (or ``extra`` lines given by the test).
``SilentServer`` accepts connections and never answers. ``run_publish``
runs the command as users do; ``links``, ``fetch`` and ``keys`` read its
results.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """moto's ThreadedMotoServer on a free loopback port; ``client()`` is a boto3 client for setup."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def client(self, service: str = "s3", **credentials):
        """A boto3 client on this server (setup and inspection only; the code under test uses s3fs)."""
        import boto3

        creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", **credentials}
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", **creds)

    def require_auth(self, after: int = 0) -> None:
        """From now on (after ``after`` more requests) check credentials against moto's IAM."""
        req = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=str(after).encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(req, timeout=10).read()

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()


NGINX_CONF = """{user}daemon off; pid {work}/nginx.pid; error_log {work}/error.log;
events {{}}
http {{ include /etc/nginx/mime.types; access_log off;
  client_body_temp_path {work}/t1; proxy_temp_path {work}/t2; fastcgi_temp_path {work}/t3;
  uwsgi_temp_path {work}/t4; scgi_temp_path {work}/t5;
  server {{ listen 127.0.0.1:{port}; root {root}; {cors} }} }}
"""
CORS_LINES = (
    "add_header Access-Control-Allow-Origin * always; "
    "add_header Access-Control-Expose-Headers 'Content-Range, Content-Length, Accept-Ranges' always; "
    "add_header Access-Control-Allow-Headers 'Range' always;"
)


def find_nginx() -> str | None:
    """The nginx binary (Debian puts it in /usr/sbin)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


class Nginx:
    """nginx serving ``root`` at ``origin``; stop() ends the process it started."""

    def __init__(self, root: Path, work: Path, *, cors: bool = False, extra: str = "") -> None:
        binary = find_nginx()
        if binary is None:
            if os.environ.get("CI") == "true":
                pytest.fail("no nginx; CI must install nginx-light")
            print("SKIP: nginx is not installed (apt-get install nginx-light)")
            pytest.skip("nginx is not installed (apt-get install nginx-light)")
        work.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = work / "nginx.conf"
        # As root (CI), workers would run as nobody, who cannot enter pytest's 0700 temporary folders.
        user = "user root; " if os.geteuid() == 0 else ""
        conf.write_text(
            NGINX_CONF.format(
                user=user, work=work, port=self.port, root=root, cors=(CORS_LINES if cors else "") + extra
            )
        )
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf), "-p", str(work)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.origin = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (work / "error.log").read_text(errors="replace")
                    raise RuntimeError(f"nginx did not start: {log}") from exc
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop nginx (the one this object started)."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class SilentServer:
    """A TCP server on loopback that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # kept open, never read or answered

    def stop(self) -> None:
        """Close the listening socket and every accepted connection."""
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def run_publish(*args, env_extra=None, timeout=120, command="publish"):
    """Run ``napari-viv publish ARGS`` (or another command) in a fresh process, as users do."""
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "napari_viv", command, *map(str, args)],
        capture_output=True,
        text=True,
        env={**env, **(env_extra or {})},
        timeout=timeout,
    )


def links(stdout: str) -> dict[str, str]:
    """The printed links by their label (``View in your browser``, ``Avivator``, ``Image``)."""
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(": ")
        out[key] = value
    return out


def fetch(url, headers=None, method="GET"):
    """(status, headers, body) of one HTTP request; HTTP errors are answers too."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=20) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def keys(s3, bucket, prefix=""):
    """Every key in ``bucket`` under ``prefix``, sorted (all pages of the listing)."""
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def new_bucket(s3, name):
    """Create bucket ``name`` on the server; return its name."""
    s3.client().create_bucket(Bucket=name)
    return name
