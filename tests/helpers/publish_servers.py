"""Real servers for publish tests: moto's S3 server and Debian's nginx, both on 127.0.0.1.

``S3Server`` runs moto in server mode in this process (a real HTTP endpoint
that s3fs reaches like any S3-compatible store). ``Nginx`` runs the system's
nginx as a foreground child with its own config in a temporary folder,
serving one folder; with ``cors=True`` it adds the CORS headers a static host
needs for pages on other sites.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

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

    def __init__(self, root: Path, work: Path, *, cors: bool = False) -> None:
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
            NGINX_CONF.format(user=user, work=work, port=self.port, root=root, cors=CORS_LINES if cors else "")
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
