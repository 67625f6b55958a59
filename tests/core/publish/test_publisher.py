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
from pathlib import Path

import numpy as np
import pytest
from helpers.publish_servers import SRC, Nginx, fetch, free_port, keys, links, new_bucket
from helpers.publish_servers import run_publish as run_cli

from napari_viv import export_pyramid
from napari_viv.metadata import ImageMetadata


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


def _publish_killed_midway(s3, src, bucket):
    """Publish ``src`` to ``s3://bucket/k`` one file at a time; SIGKILL it once the
    manifest says a file is complete. Returns the keys it left."""
    cmd = [sys.executable, "-m", "napari_viv", "publish", str(src), f"s3://{bucket}/k"]
    cmd += ["--endpoint-url", s3.endpoint, "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": SRC})
    deadline = time.monotonic() + 60
    while "k/.napari-viv-manifest.json" not in keys(s3, bucket) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.kill()
    proc.communicate()
    return keys(s3, bucket)


def test_killed_upload_then_rerun_finishes(s3, tmp_path):
    # Two big images, one file at a time: the kill comes once the first is up, while the second goes.
    rng = np.random.default_rng(1)
    folder = tmp_path / "exports"
    folder.mkdir()
    big = [
        export_pyramid(
            rng.integers(0, 65535, (4, 2048, 2048), dtype=np.uint16), folder / f"{n}.ome.tif", compression="none"
        ).image
        for n in ("a", "b")
    ]
    bucket = new_bucket(s3, "lab-killed")
    partial = _publish_killed_midway(s3, folder, bucket)
    assert partial and "k/index.html" not in partial, partial  # killed before the page: no link yet
    done = run_cli(folder, f"s3://{bucket}/k", "--endpoint-url", s3.endpoint)
    assert done.returncode == 0, done.stderr
    assert {"k/index.html", "k/a/index.html", "k/b/index.html"} <= set(keys(s3, bucket))
    skipped = int(done.stderr.split(" already there")[0].rsplit(" ", 1)[1])
    assert skipped >= 1
    for image in big:
        url = f"{s3.endpoint}/{bucket}/k/{image.name[0]}/{image.name}"
        status, _, body = fetch(url, {"Range": "bytes=100-199"})
        assert status == 206 and body == image.read_bytes()[100:200]


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


# ------------------------------------------------------------------ OME-Zarr stores


@pytest.fixture(scope="module", params=["0.4", "0.5"])
def store(request, tmp_path_factory):
    """The `image` fixture's pixels as an OME-Zarr store (0.5: several shards of 2 x 2 tiles)."""
    folder = tmp_path_factory.mktemp(f"store-{request.param}")
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, (3, 700, 900), dtype=np.uint16)
    md = ImageMetadata(axes="CYX", channel_names=["DAPI", "CD3", "CD8"], contrast_limits=[(0, 3000)] * 3)
    shards = {"shard_size": 512} if request.param == "0.5" else {}
    result = export_pyramid(
        data, folder / "tissue.ome.zarr", metadata=md, tile_size=256, format="ome-zarr", ngff=request.param, **shards
    )
    assert result.view is not None
    return result.image, data, request.param


def store_keys(store: Path, prefix: str) -> list[str]:
    return sorted(f"{prefix}/{store.name}/{p.relative_to(store).as_posix()}" for p in store.rglob("*") if p.is_file())


def test_a_store_goes_up_key_by_key_and_reads_back_over_http(s3, store):
    import zarr

    path, data, version = store
    bucket = new_bucket(s3, f"zarr-{version.replace('.', '')}")
    done = run_cli(path, f"s3://{bucket}/z", "--endpoint-url", s3.endpoint)
    assert done.returncode == 0, done.stderr
    found = links(done.stdout)
    base = f"{s3.endpoint}/{bucket}/z"
    assert done.stdout.startswith("View in your browser: ") and found["View in your browser"] == f"{base}/index.html"
    assert found["Image"] == f"{base}/tissue.ome.zarr"
    assert found["Avivator"].endswith("?image_url=" + found["Image"])
    stored = keys(s3, bucket, "z/")
    assert set(store_keys(path, "z")) <= set(stored)
    assert {"z/index.html", "z/tissue.view.json", "z/viewer.js"} <= set(
        stored
    ) and "z/tissue.offsets.json" not in stored
    status, _, html = fetch(found["View in your browser"])
    config = json.loads(html.decode().split('id="napari-viv-site">')[1].split("</script>")[0])
    assert status == 200 and config == {"image": "tissue.ome.zarr", "offsets": "", "viewfile": "tissue.view.json"}
    # The checks passed (metadata, a chunk or a shard by Range, CORS, a 404 for an absent key).
    assert "error" not in done.stderr and "warning" not in done.stderr, done.stderr
    metadata = "zarr.json" if version == "0.5" else ".zattrs"
    status, headers, _ = fetch(f"{found['Image']}/{metadata}", {"Origin": "https://example.org"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] in ("*", "https://example.org")
    # Level 0 read over anonymous HTTP by zarr-python equals the input.
    level0 = zarr.open_array(f"{found['Image']}/0", mode="r")
    assert np.array_equal(level0[:], data)
    # A rerun with --overwrite sends nothing (all keys identical), not even ACLs again.
    again = run_cli(path, f"s3://{bucket}/z", "--endpoint-url", s3.endpoint, "--overwrite")
    assert again.returncode == 0 and "sent 0 files" in again.stderr, again.stderr


def test_overwrite_replaces_a_store_and_removes_its_old_keys(s3, store, tmp_path):
    path, _data, version = store
    bucket = new_bucket(s3, f"zarr-over-{version.replace('.', '')}")
    assert run_cli(path, f"s3://{bucket}/o", "--endpoint-url", s3.endpoint).returncode == 0
    small = export_pyramid(
        np.ones((2, 100, 100), np.uint16), tmp_path / "tissue.ome.zarr", format="ome-zarr", ngff=version
    ).image
    done = run_cli(small, f"s3://{bucket}/o", "--endpoint-url", s3.endpoint, "--overwrite")
    assert done.returncode == 0, done.stderr
    assert keys(s3, bucket, "o/tissue.ome.zarr/") == store_keys(small, "o")


def test_presign_refuses_a_store_in_one_line(s3, store):
    path, _data, _version = store
    bucket = new_bucket(s3, f"zarr-private-{_version.replace('.', '')}")
    done = run_cli(path, f"s3://{bucket}/p", "--endpoint-url", s3.endpoint, "--presign", "3600")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "(--presign) cannot cover an OME-Zarr store" in done.stderr and "--format ome-tiff" in done.stderr
    assert keys(s3, bucket) == []
    # Asking for a store and a presigned link at once is a usage error, before any conversion.
    usage = run_cli(path, f"s3://{bucket}/p", "--format", "ome-zarr", "--presign", "60")
    assert usage.returncode == 2 and "--presign" in usage.stderr.splitlines()[-1]


def test_presign_of_a_store_converted_to_ome_tiff_works(s3, store):
    path, data, version = store
    bucket = new_bucket(s3, f"zarr-as-tiff-{version.replace('.', '')}")
    done = run_cli(path, f"s3://{bucket}/t", "--endpoint-url", s3.endpoint, "--presign", "600", "--format", "ome-tiff")
    assert done.returncode == 0, done.stderr
    assert "t/tissue.ome.tif" in keys(s3, bucket) and "Signature=" in links(done.stdout)["Image"]


def test_inputs_are_converted_to_a_store_when_asked(s3, image, tmp_path):
    npy = tmp_path / "raw.npy"
    np.save(npy, np.arange(300 * 400, dtype=np.uint16).reshape(300, 400))
    bucket = new_bucket(s3, "zarr-convert")
    done = run_cli(
        npy, image, f"s3://{bucket}/c", "--endpoint-url", s3.endpoint, "--format", "ome-zarr", "--ngff", "0.5"
    )
    assert done.returncode == 0, done.stderr
    stored = set(keys(s3, bucket))
    for stem in ("raw", "tissue"):  # the .npy and the .ome.tif export, both as stores, with a gallery
        assert {f"c/{stem}/{stem}.ome.zarr/zarr.json", f"c/{stem}/index.html"} <= stored, sorted(stored)[:20]
    assert not any(k.endswith(".ome.tif") for k in stored)
    assert "--ngff applies to OME-Zarr" in run_cli(npy, tmp_path / "s", "--ngff", "0.5").stderr


def test_a_folder_holding_a_store_and_an_export_makes_a_gallery(store, image, tmp_path):
    import shutil

    path, _data, _version = store
    folder = tmp_path / "outputs"
    shutil.copytree(path.parent, folder)
    for p in image.parent.iterdir():
        shutil.copy(p, folder / p.name.replace("tissue", "other"))
    done = run_cli(folder, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    site = tmp_path / "site"
    assert (site / "tissue" / "tissue.ome.zarr").is_dir() and (site / "other" / "other.ome.tif").is_file()
    gallery = (site / "index.html").read_text()
    assert 'href="tissue/index.html"' in gallery and 'href="other/index.html"' in gallery


def test_killed_store_upload_then_rerun_finishes(s3, tmp_path):
    rng = np.random.default_rng(2)
    big = export_pyramid(
        rng.integers(0, 65535, (4, 1024, 1024), dtype=np.uint16),
        tmp_path / "big.ome.zarr",
        tile_size=128,
        compression="none",
        format="ome-zarr",
    ).image
    bucket = new_bucket(s3, "zarr-killed")
    partial = _publish_killed_midway(s3, big, bucket)
    assert partial and "k/index.html" not in partial
    done = run_cli(big, f"s3://{bucket}/k", "--endpoint-url", s3.endpoint)
    assert done.returncode == 0, done.stderr
    skipped = int(done.stderr.split(" already there")[0].rsplit(" ", 1)[1])
    assert skipped >= 1 and set(store_keys(big, "k")) <= set(keys(s3, bucket))


def test_a_big_shard_goes_up_in_parallel_parts(s3, tmp_path):
    from napari_viv.publish.destination import PART_SIZE

    data = np.random.default_rng(3).integers(0, 65535, (1, 4200, 4200), dtype=np.uint16)
    store = export_pyramid(
        data, tmp_path / "big.ome.zarr", compression="none", format="ome-zarr", ngff="0.5", shard_size=4608
    ).image
    shard = max((p for p in (store / "0").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    assert shard.stat().st_size > 2 * PART_SIZE
    bucket = new_bucket(s3, "zarr-multipart")
    done = run_cli(store, f"s3://{bucket}/m", "--endpoint-url", s3.endpoint)
    assert done.returncode == 0, done.stderr
    key = f"m/big.ome.zarr/{shard.relative_to(store).as_posix()}"
    head = s3.client().head_object(Bucket=bucket, Key=key)
    parts = -(-shard.stat().st_size // PART_SIZE)
    assert head["ETag"].strip('"').endswith(f"-{parts}") and head["ContentLength"] == shard.stat().st_size
