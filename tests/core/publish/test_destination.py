"""Object-store failures said in one line: an endpoint that never answers, a bucket that refuses public ACLs."""

from __future__ import annotations

import time

import numpy as np
import pytest
from helpers.publish_servers import SilentServer, keys, new_bucket
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


@pytest.mark.parametrize("refusal", ["public-access-block", "bucket-owner-enforced"])
def test_a_bucket_that_refuses_public_acls_points_to_presign(s3, image, refusal):
    bucket = new_bucket(s3, f"no-acl-{refusal}")
    client = s3.client()
    if refusal == "public-access-block":
        client.put_public_access_block(
            Bucket=bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    else:
        client.put_bucket_ownership_controls(
            Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
    done = run_cli(image, f"s3://{bucket}/p", "--endpoint-url", s3.endpoint)
    assert_one_line_failure(done)
    assert "refused to make objects public" in done.stderr and "--presign" in done.stderr
    assert keys(s3, bucket) == []  # nothing half-published
    signed = run_cli(image, f"s3://{bucket}/p", "--endpoint-url", s3.endpoint, "--presign", "600")
    assert signed.returncode == 0, signed.stderr
