"""Shared by the publish tests: a real S3 server (moto) per test module and its test credentials."""

from __future__ import annotations

import pytest
from helpers.publish_servers import CREDENTIALS, S3Server


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
