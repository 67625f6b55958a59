"""An object store's endpoint that accepts connections and never answers: named in one line, in seconds.

(A bucket that refuses public ACLs is tested in test_publisher.py with an IAM
Deny of s3:PutObjectAcl: moto 5.2 enforces neither a public access block nor
bucket-owner-enforced ownership; both still accepted an object ACL there.)"""

from __future__ import annotations

import time

import numpy as np
import pytest
from helpers.publish_servers import SilentServer
from helpers.publish_servers import run_publish as run_cli

from napari_viv import export_pyramid


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    return export_pyramid(np.zeros((64, 64), np.uint16), folder / "tiny.ome.tif").image


def assert_one_line_failure(done):
    assert done.returncode == 1, done.stdout
    assert done.stderr.strip() and "\n" not in done.stderr.strip() and "Traceback" not in done.stderr, done.stderr


def test_an_endpoint_that_never_answers_is_named_within_the_answer_timeout(image):
    silent = SilentServer()
    try:
        started = time.monotonic()
        done = run_cli(image, "s3://lab/x", "--endpoint-url", silent.endpoint, timeout=60)
        took = time.monotonic() - started
    finally:
        silent.stop()
    assert_one_line_failure(done)
    assert f"no answer from the endpoint {silent.endpoint}" in done.stderr and "s3://lab/x" in done.stderr
    assert silent.accepted, "the command never connected"
    assert took < 40, took
