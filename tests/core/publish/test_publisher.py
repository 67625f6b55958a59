"""`napari-viv publish` to a real S3 server (moto, server mode) and to a folder served by nginx.

The client is s3fs, as for users; the servers are real HTTP servers on
127.0.0.1. Links printed by the command are fetched over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from helpers.publish_servers import CREDENTIALS, Nginx, S3Server, free_port

from napari_viv import export_pyramid
from napari_viv.metadata import ImageMetadata

SRC = str(Path(__file__).resolve().parents[3] / "src")


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    """A 3-channel export with a view file (colours, limits, one channel off)."""
    folder = tmp_path_factory.mktemp("export")
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, (3, 700, 900), dtype=np.uint16)
    md = ImageMetadata(
        axes="CYX",
        channel_names=["DAPI", "CD3", "CD8"],
        channel_colors=[(0, 0, 255), (0, 255, 0), (255, 0, 0)],
        contrast_limits=[(0, 3000), (100, 3500), (0, 4000)],
        channel_visible=[True, True, False],
    )
    result = export_pyramid(data, folder / "tissue.ome.tif", metadata=md, tile_size=256)
    assert result.view is not None
    return result.image


def run_cli(*args, env_extra=None, timeout=120):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "napari_viv", "publish", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def links(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(": ")
        out[key] = value
    return out


def keys(s3, bucket, prefix=""):
    listing = s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def new_bucket(s3, name):
    s3.client().create_bucket(Bucket=name)
    return name


# ------------------------------------------------------------------ S3


def test_publish_to_s3_prints_public_links_that_answer_range(s3, image):
    bucket = new_bucket(s3, "lab-public")
    done = run_cli(image, f"s3://{bucket}/shared/tissue", "--endpoint-url", s3.endpoint)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("View in your browser: ")
    found = links(done.stdout)
    page, image_url = found["View in your browser"], found["Image"]
    assert page == f"{s3.endpoint}/{bucket}/shared/tissue/index.html"
    assert found["Avivator"].endswith("?image_url=" + image_url)
    assert keys(s3, bucket) == [
        f"shared/tissue/{n}"
        for n in sorted(
            [
                ".napari-viv-manifest.json",
                "index.html",
                "tissue.ome.tif",
                "tissue.offsets.json",
                "tissue.view.json",
                "viewer.css",
                "viewer.js",
            ]
        )
    ]
    # Anonymous reads, as a browser: the image streams, the page and script have their types.
    status, headers, body = fetch(image_url, {"Range": "bytes=0-9"})
    assert status == 206 and headers["Content-Range"].startswith("bytes 0-9/") and body[:2] in (b"II", b"MM")
    assert body == image.read_bytes()[:10]
    status, headers, html = fetch(page)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    config = json.loads(html.decode().split('id="napari-viv-site">')[1].split("</script>")[0])
    assert config == {"image": "tissue.ome.tif", "offsets": "tissue.offsets.json", "viewfile": "tissue.view.json"}
    status, headers, _ = fetch(page.replace("index.html", "viewer.js"))
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")


def test_rerun_needs_overwrite_and_then_skips_identical_files(s3, image):
    bucket = new_bucket(s3, "lab-rerun")
    dest = f"s3://{bucket}/t"
    assert run_cli(image, dest, "--endpoint-url", s3.endpoint).returncode == 0
    before = {k: s3.client().head_object(Bucket=bucket, Key=k)["ETag"] for k in keys(s3, bucket)}
    again = run_cli(image, dest, "--endpoint-url", s3.endpoint)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.strip().count("\n") == 0 and "--overwrite" in again.stderr
    over = run_cli(image, dest, "--endpoint-url", s3.endpoint, "--overwrite")
    assert over.returncode == 0, over.stderr
    assert "sent 0 files" in over.stderr and f"{len(before) - 1} already there" in over.stderr  # all but the manifest
    after = {k: s3.client().head_object(Bucket=bucket, Key=k)["ETag"] for k in keys(s3, bucket)}
    assert after == before


def test_page_goes_up_last(s3, image):
    from napari_viv.publish import PublishOptions, StoreOptions, publish
    from napari_viv.publish.destination import make_destination

    bucket = new_bucket(s3, "lab-order")
    options = PublishOptions(store=StoreOptions(endpoint_url=s3.endpoint))
    dest = make_destination(f"s3://{bucket}/p", options.store)
    seen = []
    client = s3.client()

    def progress(done, total):  # called from s3fs's event loop: look with another client
        listed = client.list_objects_v2(Bucket=bucket, Prefix="p/index.html").get("KeyCount", 0)
        seen.append((done, total, listed == 0))

    publish([image], f"s3://{bucket}/p", options, progress=progress)
    data_bytes = sum(p.stat().st_size for p in image.parent.iterdir())
    assert seen and seen[-1][0] == seen[-1][1] > data_bytes
    # While the data was going up, the page was not there.
    assert all(absent for done, total, absent in seen if done <= data_bytes)
    assert dest.stat("index.html") is not None


def test_presigned_link_keeps_the_bucket_private(s3, image):
    bucket = new_bucket(s3, "lab-private")
    done = run_cli(image, f"s3://{bucket}/p", "--endpoint-url", s3.endpoint, "--presign", "3600")
    assert done.returncode == 0, done.stderr
    found = links(done.stdout)
    page, image_url = found["View in your browser"], found["Image"]
    assert "Signature=" in page and "Signature=" in image_url
    plain = image_url.split("?")[0]
    assert fetch(plain, {"Range": "bytes=0-9"})[0] == 403
    assert fetch(page.split("?")[0])[0] == 403
    status, _, body = fetch(image_url, {"Range": "bytes=0-9"})
    assert status == 206 and body == image.read_bytes()[:10]
    status, _, html = fetch(page)
    text = html.decode()
    # The signed page carries its script inline and names signed sidecars.
    config = json.loads(text.split('id="napari-viv-site">')[1].split("</script>")[0])
    assert all("Signature=" in config[k] for k in ("image", "offsets", "viewfile"))
    assert '<script src="' not in text and status == 200
    assert "viewer.js" not in keys(s3, bucket, "p/")


def test_set_cors_sets_the_rule(s3, image):
    bucket = new_bucket(s3, "lab-cors")
    done = run_cli(image, f"s3://{bucket}/c", "--endpoint-url", s3.endpoint, "--set-cors")
    assert done.returncode == 0, done.stderr
    rules = s3.client().get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules[0]["AllowedMethods"] == ["GET", "HEAD"] and "Content-Range" in rules[0]["ExposeHeaders"]
    assert "set the bucket's CORS rule" in done.stderr


def test_input_is_converted_on_the_way(s3, tmp_path):
    npy = tmp_path / "raw.npy"
    np.save(npy, np.arange(300 * 400, dtype=np.uint16).reshape(300, 400))
    bucket = new_bucket(s3, "lab-convert")
    done = run_cli(npy, f"s3://{bucket}/r", "--endpoint-url", s3.endpoint)
    assert done.returncode == 0, done.stderr
    assert "r/raw.ome.tif" in keys(s3, bucket) and "r/raw.offsets.json" in keys(s3, bucket)
    status, _, body = fetch(links(done.stdout)["Image"], {"Range": "bytes=0-1"})
    assert status == 206 and body in (b"II", b"MM")


# ------------------------------------------------------------------ bad input


def assert_one_line_failure(done):
    assert done.returncode != 0, done.stdout
    assert done.stderr.strip() and "\n" not in done.stderr.strip(), done.stderr
    assert "Traceback" not in done.stderr


def test_missing_bucket(s3, image):
    done = run_cli(image, "s3://no-such-bucket/x", "--endpoint-url", s3.endpoint)
    assert_one_line_failure(done)
    assert "bucket does not exist" in done.stderr and "s3://no-such-bucket/x" in done.stderr


def test_unreachable_endpoint_fails_within_a_minute(image):
    port = free_port()
    started = time.monotonic()
    done = run_cli(image, "s3://lab/x", "--endpoint-url", f"http://127.0.0.1:{port}")
    assert time.monotonic() - started < 60
    assert_one_line_failure(done)
    assert "cannot reach the endpoint" in done.stderr


def test_existing_folder_publication_without_overwrite(image, tmp_path):
    site = tmp_path / "site"
    assert run_cli(image, site).returncode == 0
    page = (site / "index.html").read_bytes()
    done = run_cli(image, site)
    assert_one_line_failure(done)
    assert "--overwrite" in done.stderr and (site / "index.html").read_bytes() == page


def test_killed_upload_then_rerun_finishes(s3, tmp_path):
    rng = np.random.default_rng(1)
    big = export_pyramid(
        rng.integers(0, 65535, (4, 2048, 2048), dtype=np.uint16), tmp_path / "big.ome.tif", compression="none"
    ).image
    bucket = new_bucket(s3, "lab-killed")
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "napari_viv",
            "publish",
            str(big),
            f"s3://{bucket}/k",
            "--endpoint-url",
            s3.endpoint,
            "--jobs",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 60
    # Kill once the manifest says at least one file is complete.
    while "k/.napari-viv-manifest.json" not in keys(s3, bucket) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.kill()
    proc.communicate()
    partial = keys(s3, bucket)
    assert partial and "k/index.html" not in partial, partial  # killed before the page: no link yet
    done = run_cli(big, f"s3://{bucket}/k", "--endpoint-url", s3.endpoint)
    assert done.returncode == 0, done.stderr
    assert "k/index.html" in keys(s3, bucket)
    skipped = int(done.stderr.split(" already there")[0].rsplit(" ", 1)[1])
    assert skipped >= 1
    status, _, body = fetch(links(done.stdout)["Image"], {"Range": "bytes=100-199"})
    assert status == 206 and body == big.read_bytes()[100:200]


@pytest.fixture
def iam_store(s3):
    """A bucket, a user who may upload but not set ACLs or CORS, and credentials checked from now on."""
    bucket = new_bucket(s3, "lab-iam")
    iam = s3.client("iam")
    iam.create_user(UserName="uploader")
    # moto applies this Deny (PutObjectAcl), but not one of PutBucketCORS, nor an allow-list
    # without "s3:*" (it then refuses HEAD of objects too): the CORS refusal is not testable here.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObjectAcl", "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="uploader", PolicyName="no-acl", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="uploader")["AccessKey"]
    s3.require_auth(0)
    try:
        yield bucket, {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    finally:
        s3.require_auth("inf")


def test_wrong_credentials_and_acl_refusal(s3, image, iam_store):
    bucket, creds = iam_store
    wrong = run_cli(
        image,
        f"s3://{bucket}/w",
        "--endpoint-url",
        s3.endpoint,
        env_extra={"AWS_ACCESS_KEY_ID": "AKIANOBODY", "AWS_SECRET_ACCESS_KEY": "nope"},
    )
    assert_one_line_failure(wrong)
    assert "access denied" in wrong.stderr or "credentials" in wrong.stderr
    acl = run_cli(image, f"s3://{bucket}/a", "--endpoint-url", s3.endpoint, env_extra=creds)
    assert_one_line_failure(acl)
    assert "refused to make objects public" in acl.stderr and "--presign" in acl.stderr
    # A presigned publication works for this user: no ACL or CORS needed. (moto cannot
    # check a presigned GET while it checks credentials: the browser-view check is off.)
    ok = run_cli(
        image, f"s3://{bucket}/ok", "--endpoint-url", s3.endpoint, "--presign", "60", "--no-check", env_extra=creds
    )
    assert ok.returncode == 0, ok.stderr
    s3.require_auth("inf")
    assert "ok/index.html" in keys(s3, bucket)
    # Nothing half-published by the refused runs.
    assert [k for k in keys(s3, bucket) if not k.startswith("ok/")] == []


# ------------------------------------------------------------------ a folder on nginx


@pytest.fixture
def nginx_site(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = Nginx(root, tmp_path / "nginx")
    yield root, server
    server.stop()


def test_folder_site_on_nginx_passes_the_checks(image, nginx_site):
    root, server = nginx_site
    public = f"{server.origin}/lab/tissue"
    (root / "lab").mkdir()
    done = run_cli(image, root / "lab" / "tissue", "--public-url", public)
    assert done.returncode == 0, done.stderr
    found = links(done.stdout)
    assert found["View in your browser"] == f"{public}/index.html"
    assert "warning: cors" in done.stderr  # nginx sends no CORS unless configured: we say so
    assert "error" not in done.stderr.replace("stderr", "")
    status, headers, body = fetch(found["Image"], {"Range": "bytes=0-9"})
    assert status == 206 and body == image.read_bytes()[:10]
    assert sorted(p.name for p in (root / "lab" / "tissue").iterdir()) == sorted(
        [
            ".napari-viv-manifest.json",
            "index.html",
            "tissue.ome.tif",
            "tissue.offsets.json",
            "tissue.view.json",
            "viewer.css",
            "viewer.js",
        ]
    )


def test_batch_publish_makes_a_gallery(s3, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i, name in enumerate(("left", "right")):
        np.save(inputs / f"{name}.npy", np.full((2, 200, 300), 100 * (i + 1), np.uint16))
    bucket = new_bucket(s3, "lab-batch")
    env = {**os.environ, "PYTHONPATH": SRC}
    args = [
        sys.executable,
        "-m",
        "napari_viv",
        "batch",
        str(inputs),
        "--out-dir",
        str(tmp_path / "out"),
        "--publish",
        f"s3://{bucket}/study",
        "--endpoint-url",
        s3.endpoint,
    ]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    found = links(done.stdout)
    assert found["View in your browser"] == f"{s3.endpoint}/{bucket}/study/index.html"
    assert found["left"] == f"{s3.endpoint}/{bucket}/study/left/index.html"
    stored = keys(s3, bucket)
    for name in ("left", "right"):
        assert {f"study/{name}/{name}.ome.tif", f"study/{name}/index.html", f"study/{name}/thumbnail.png"} <= set(
            stored
        )
    status, _, gallery = fetch(found["View in your browser"])
    assert status == 200 and b'href="left/index.html"' in gallery and b'href="right/index.html"' in gallery
    # A rerun converts nothing and sends nothing new.
    again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "sent 0 files" in again.stderr


def test_presign_needs_an_s3_destination(image, tmp_path):
    done = run_cli(image, tmp_path / "site", "--presign", "60")
    assert_one_line_failure(done)
    assert "--presign needs an S3" in done.stderr and not (tmp_path / "site").exists()


def test_cancel_sends_no_page_and_a_rerun_finishes(s3, image):
    from napari_viv.errors import Cancelled
    from napari_viv.publish import PublishOptions, StoreOptions, publish

    bucket = new_bucket(s3, "lab-cancel")
    options = PublishOptions(store=StoreOptions(endpoint_url=s3.endpoint), jobs=1)
    progressed = []
    with pytest.raises(Cancelled):
        publish(
            [image],
            f"s3://{bucket}/c",
            options,
            progress=lambda d, t: progressed.append(d),
            cancel=lambda: bool(progressed),
        )
    assert progressed and "c/index.html" not in keys(s3, bucket)
    pub = publish([image], f"s3://{bucket}/c", options)
    assert "index.html" in pub.transfer.uploaded and "c/index.html" in keys(s3, bucket)
