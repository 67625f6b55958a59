"""`napari-viv serve` as a real subprocess: link on stdout, HTTP, clean stop."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import tifffile
from helpers.cliproc import start_until_link

AVIVATOR = "https://avivator.gehlenborglab.org"


@pytest.fixture
def ome(tmp_path):
    path = tmp_path / "cells.ome.tif"
    data = np.arange(2 * 100 * 120, dtype=np.uint16).reshape(2, 100, 120)
    tifffile.imwrite(path, data, tile=(64, 64), metadata={"axes": "CYX"})
    with tifffile.TiffFile(path) as tif:
        offsets = [p.offset for p in tif.pages]
    (tmp_path / "cells.offsets.json").write_text(str(offsets))
    return path


def clean_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SSH_CONNECTION", "SSH_CLIENT", "DISPLAY", "WAYLAND_DISPLAY", "NAPARI_VIV_AVIVATOR_URL")
    }
    env.update(extra)
    return env


def start(args, env=None):
    return start_until_link(args, env or clean_env())


def link_from(lines):
    links = [ln.strip() for ln in lines if ln.strip().startswith("https://")]
    assert links, lines
    return links[0]


def get(url, headers=None, method="GET"):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, parts.path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def port_is_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def stop(proc, sig=signal.SIGINT):
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_link_serves_and_stops_cleanly(ome, sig):
    proc, lines = start(["serve", str(ome)])
    try:
        link = link_from(lines)
        assert link.startswith(AVIVATOR + "/?image_url=")
        file_url = parse_qs(urlsplit(link).query)["image_url"][0]
        assert file_url.endswith("/cells.ome.tif")
        port = urlsplit(file_url).port
        data = ome.read_bytes()
        status, headers, body = get(file_url, {"Range": "bytes=0-65536", "Origin": AVIVATOR})
        assert status == 206 and body == data[:65537]
        assert headers["Access-Control-Allow-Origin"] == AVIVATOR
        offsets_url = file_url.replace("ome.tif", "offsets.json")
        status, _, body = get(offsets_url)
        assert status == 200 and body == (ome.parent / "cells.offsets.json").read_bytes()
        assert any("Safari" in ln for ln in lines)
        prefix = "View in your browser: "
        views = [ln[len(prefix) :] for ln in lines if ln.startswith(prefix)]
        assert views == [f"http://127.0.0.1:{port}/?image=/cells.ome.tif"]
        assert lines.index(prefix + views[0]) < lines.index("  " + link)  # ours first
        status, headers, body = get(views[0])
        assert status == 200 and b'<script src="viewer.js">' in body
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert not any("ssh -L" in ln for ln in lines)
        assert not port_is_free(port)
    finally:
        rc, out, err = stop(proc, sig)
    assert rc == 0, err
    assert "stopped" in err
    assert "warning:" not in err  # a good file: `check` finds no error
    assert port_is_free(port)


def test_serve_on_a_given_port_with_extra_origin(ome):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    mine = "http://localhost:3000"
    proc, lines = start(
        [
            "serve",
            str(ome),
            "--port",
            str(port),
            "--allow-origin",
            mine,
            "--avivator-url",
            "https://viv.example.org/app/",
        ]
    )
    try:
        link = link_from(lines)
        assert link.startswith("https://viv.example.org/app/?image_url=")
        url = f"http://127.0.0.1:{port}/cells.ome.tif"
        assert parse_qs(urlsplit(link).query)["image_url"] == [url]
        for origin in (mine, AVIVATOR, "https://viv.example.org"):
            status, headers, _ = get(url, {"Origin": origin, "Range": "bytes=0-9"})
            assert status == 206 and headers["Access-Control-Allow-Origin"] == origin
        status, _, _ = get(url, {"Origin": "https://evil.example"})
        assert status == 403
    finally:
        rc, _, err = stop(proc)
    assert rc == 0, err
    assert port_is_free(port)


def test_serve_prints_ssh_hint_in_an_ssh_session(ome):
    env = clean_env(SSH_CONNECTION="10.1.2.3 50000 10.9.8.7 22")
    proc, lines = start(["serve", str(ome)], env=env)
    try:
        text = "\n".join(lines)
        port = urlsplit(re.search(r"http://127\.0\.0\.1:\d+/", text).group(0)).port
        assert re.search(rf"ssh -L {port}:localhost:{port} \S+@10\.9\.8\.7", text)
        assert f"image_url=http://localhost:{port}/cells.ome.tif" in text
        assert f"  http://localhost:{port}/?image=/cells.ome.tif" in text  # our viewer too
    finally:
        rc, _, err = stop(proc)
    assert rc == 0, err


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("missing.ome.tif", None, "no such file"),
        ("plain.tif", b"II*\x00", "ome.tif"),
        ("junk.ome.tif", b"this is not a tiff", "not a readable TIFF"),
    ],
)
def test_bad_file_is_one_line_and_exit_1(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "napari_viv", "serve", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0] and name in err[0]


def test_tiff_without_ome_xml_is_refused(tmp_path):
    path = tmp_path / "noxml.ome.tif"
    tifffile.imwrite(path, np.zeros((32, 32), np.uint8), ome=False, metadata=None)
    with tifffile.TiffFile(path) as tif:
        assert not tif.is_ome
    proc = subprocess.run(
        [sys.executable, "-m", "napari_viv", "serve", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert proc.returncode == 1
    assert "OME-XML" in proc.stderr and "noxml.ome.tif" in proc.stderr


def test_truncated_file_is_refused_in_one_line_before_serving(tmp_path):
    from napari_viv import export_pyramid

    path = tmp_path / "cut.ome.tif"
    export_pyramid(np.arange(2 * 512 * 512, dtype=np.uint16).reshape(2, 512, 512), path, axes="CYX", tile_size=128)
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * 0.9)])
    with tifffile.TiffFile(path) as tif:
        assert tif.is_ome  # the OME-XML survived: only the check of the data refuses it
    proc = subprocess.run(
        [sys.executable, "-m", "napari_viv", "serve", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(),
    )
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "cut.ome.tif" in err[0] and "truncated" in err[0], err
    assert proc.stdout == ""  # no link was printed: nothing was served


def test_help_leads_with_our_viewer():
    def help_text(*args):
        out = subprocess.run(
            [sys.executable, "-m", "napari_viv", *args, "--help"], capture_output=True, text=True, timeout=60
        ).stdout
        return " ".join(out.split())

    serve_line = help_text().split(" serve ", 1)[1]
    for text in (serve_line, help_text("serve"), help_text("demo")):
        assert "our viewer" in text, text
        assert "Avivator" not in text or text.index("our viewer") < text.index("Avivator"), text


def test_port_in_use_is_one_line_and_exit_1(ome):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "napari_viv", "serve", str(ome), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
    finally:
        busy.close()
    assert proc.returncode == 1
    assert str(port) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_wrong_offsets_json_is_warned_about_but_served(ome):
    side = ome.parent / "cells.offsets.json"
    side.write_text("[8, 99]")  # entry 1 is not where the second IFD is
    proc, _ = start(["serve", str(ome)])
    rc, _, err = stop(proc)
    assert rc == 0
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "cells.offsets.json" in warnings[0]


def test_open_browser_survives_a_broken_browser(monkeypatch):
    from napari_viv.serve.links import open_browser

    def broken(*_a, **_k):
        raise OSError("$BROWSER points nowhere")

    monkeypatch.setattr("webbrowser.open", broken)
    assert open_browser("http://127.0.0.1:1/") is False
    monkeypatch.setattr("webbrowser.open", lambda *a, **k: True)
    assert open_browser("http://127.0.0.1:1/") is True
