"""`napari-viv demo` as a real subprocess; only the browser is replaced."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import tifffile
from helpers.cliproc import start_until_link

from napari_viv.cli.demo import browser_available
from napari_viv.sample import synthetic_tissue

SIZE, CHANNELS = 300, 3


def demo_env(tmp_path, **extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "SSH_CONNECTION",
            "SSH_CLIENT",
            "DISPLAY",
            "WAYLAND_DISPLAY",
            "NAPARI_VIV_NO_BROWSER",
            "NAPARI_VIV_AVIVATOR_URL",
            "BROWSER",
        )
    }
    env.update(extra)
    return env


def start_demo(args, env):
    return start_until_link(["demo", *args], env)


def fetch(url, headers=None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", parts.path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_demo_writes_serves_and_cleans_up(tmp_path):
    proc, lines = start_demo(["--size", str(SIZE), "--channels", str(CHANNELS), "--no-browser"], demo_env(tmp_path))
    try:
        served = Path(re.search(r"^Serving (.+)$", "\n".join(lines), re.M).group(1))
        assert served.name.endswith(".ome.tif") and served.exists()
        link = next(ln.strip() for ln in lines if ln.strip().startswith("https://"))
        url = parse_qs(urlsplit(link).query)["image_url"][0]
        status, body = fetch(url)
        assert status == 200
        copy = tmp_path / "copy.ome.tif"
        copy.write_bytes(body)
        status, offsets = fetch(url.replace("ome.tif", "offsets.json"))
        assert status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not served.parent.exists()  # the temporary folder is gone
    expected, _ = synthetic_tissue(SIZE, CHANNELS)
    with tifffile.TiffFile(copy) as tif:
        assert tif.is_ome
        np.testing.assert_array_equal(tif.series[0].asarray(), expected)
        assert len(tif.series[0].levels) >= 1
        assert [p.offset for p in tif.pages] == json.loads(offsets)


def test_demo_opens_the_browser_when_there_is_a_display(tmp_path):
    record = tmp_path / "opened.txt"
    fake = tmp_path / "fake_browser.py"
    fake.write_text(f"import sys\nopen({str(record)!r}, 'w').write(sys.argv[1])\n")
    env = demo_env(tmp_path, DISPLAY=":77", BROWSER=f"{sys.executable} {fake} %s")
    proc, lines = start_demo(["--size", "64", "--channels", "1"], env)
    try:
        prefix = "View in your browser: "
        link = next(ln[len(prefix) :] for ln in lines if ln.startswith(prefix))
        assert link.startswith("http://127.0.0.1:") and "/?image=/" in link
        deadline = time.monotonic() + 30
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert record.read_text() == link  # our viewer, not Avivator, opens first
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_demo_without_display_does_not_launch_a_browser(tmp_path):
    record = tmp_path / "opened.txt"
    fake = tmp_path / "fake_browser.py"
    fake.write_text(f"import sys\nopen({str(record)!r}, 'w').write(sys.argv[1])\n")
    env = demo_env(tmp_path, BROWSER=f"{sys.executable} {fake} %s")
    proc, _ = start_demo(["--size", "64", "--channels", "1"], env)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert not record.exists()
    assert "not opening a browser" in err


@pytest.mark.parametrize(
    "env,platform,expected",
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({}, "linux", False),
        ({}, "darwin", True),
        ({}, "win32", True),
        ({"DISPLAY": ":0", "SSH_CONNECTION": "1 2 3 4"}, "linux", False),
        ({"DISPLAY": ":0", "NAPARI_VIV_NO_BROWSER": "1"}, "linux", False),
        ({"DISPLAY": ":0", "NAPARI_VIV_NO_BROWSER": "0"}, "linux", True),
    ],
)
def test_browser_available(env, platform, expected):
    assert browser_available(env, platform) is expected


def test_demo_rejects_bad_size():
    proc = subprocess.run(
        [sys.executable, "-m", "napari_viv", "demo", "--size", "0"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "--size" in proc.stderr


def test_signal_while_writing_cancels_and_removes_the_folder(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "napari_viv", "demo", "--size", "6144", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=demo_env(tmp_path),
    )
    first = proc.stderr.readline()
    match = re.search(r"to (\S+\.ome\.tif) \.\.\.", first)
    assert match, first
    folder = Path(match.group(1)).parent
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "cancelled" in err
    assert "Press Ctrl-C" not in out  # it never got to serving
    assert not folder.exists()


def test_demo_publish_to_a_folder_and_to_s3(tmp_path):
    """`demo --publish DEST`: the sample published (not served) to a folder and to a real S3
    server, the links printed, nothing left behind locally; the S3 page and image answer."""
    from helpers.publish_servers import S3Server, fetch, links, run_publish

    site = tmp_path / "site"
    done = run_publish("--size", SIZE, "--channels", CHANNELS, "--publish", site, command="demo")
    assert done.returncode == 0, done.stderr
    printed = links(done.stdout)
    assert printed["View in your browser"] == (site / "index.html").as_uri()
    names = sorted(p.name for p in site.iterdir())
    assert {"index.html", "viewer.js", "synthetic_tissue.ome.tif", "synthetic_tissue.offsets.json"} <= set(names)
    with tifffile.TiffFile(site / "synthetic_tissue.ome.tif") as tif:
        assert tif.series[0].shape == (CHANNELS, SIZE, SIZE)

    server = S3Server()
    try:
        server.client().create_bucket(Bucket="demo-bucket")
        done = run_publish(
            "--size", SIZE, "--channels", CHANNELS, "--publish", "s3://demo-bucket/demo",
            "--endpoint-url", server.endpoint, "--set-cors", command="demo",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        printed = links(done.stdout)
        page = printed["View in your browser"]
        assert page.startswith(server.endpoint) and page.endswith("/demo-bucket/demo/index.html"), page
        assert fetch(page)[0] == 200
        status, headers = fetch(printed["Image"], {"Range": "bytes=0-15"})[:2]
        assert status == 206 and headers.get("Content-Range", "").startswith("bytes 0-15/"), headers
        assert "image_url=" in printed["Avivator"]
    finally:
        server.stop()
