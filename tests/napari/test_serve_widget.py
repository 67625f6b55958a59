"""The *View a file in a browser* widget (and the Viewing section it shares with
the export panel), driven through its magicgui widgets in a real viewer."""

from __future__ import annotations

import http.client
import socket
import threading
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import tifffile

pytestmark = pytest.mark.napari

AVIVATOR = "https://avivator.gehlenborglab.org"


@pytest.fixture
def small_file(tmp_path):
    """A small OME-TIFF plus a sidecar, written by tifffile (not by us)."""
    path = tmp_path / "cells.ome.tif"
    rng = np.random.default_rng(1)
    data = rng.integers(0, 4000, (2, 300, 400), dtype=np.uint16)
    tifffile.imwrite(path, data, ome=True, tile=(256, 256), metadata={"axes": "CYX"})
    (tmp_path / "cells.offsets.json").write_text("[8]")
    return path


def dock_serve_widget(viewer):
    """Dock the widget the way the File menu does (napari builds it)."""
    from napari_viv._napari.manifest import PLUGIN, serve_title

    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, serve_title())
    return widget


@pytest.fixture
def serve_widget(make_napari_viewer, qtbot, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda link, *a, **k: opened.append(link) or True)
    widget = dock_serve_widget(make_napari_viewer())
    widget.opened = opened
    yield widget
    if widget.viewing.server is not None:
        widget.viewing.server.stop()


def click(qtbot, button):
    from qtpy.QtCore import Qt

    qtbot.mouseClick(button.native, Qt.MouseButton.LeftButton)


def _get(url, headers):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _server_threads():
    return [t for t in threading.enumerate() if t.name == "napari-viv-server" and t.is_alive()]


def test_open_in_viewer_serves_ranges_with_cors_and_counts(serve_widget, small_file, qtbot):
    w = serve_widget
    v = w.viewing
    assert not v.open_viewer_button.enabled and not v.stop_button.enabled
    w.file.value = small_file
    assert v.open_viewer_button.enabled and v.server is None
    click(qtbot, v.open_viewer_button)
    server = v.server
    assert w.opened == [server.viewer_url_for(small_file)]
    url = server.url_for(small_file)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/cells.ome.tif")

    status, headers, body = _get(url, {"Range": "bytes=0-99", "Origin": AVIVATOR})
    assert status == 206
    assert headers["Access-Control-Allow-Origin"] == AVIVATOR
    assert "Content-Range" in headers["Access-Control-Expose-Headers"]
    assert body == small_file.read_bytes()[:100]
    # the offsets.json beside the file is served too
    status, headers, body = _get(url.replace("cells.ome.tif", "cells.offsets.json"), {"Origin": AVIVATOR})
    assert status == 200 and body == b"[8]"
    # the live state counts what we did (2 requests, 103 body bytes)
    qtbot.waitUntil(lambda: "2 requests" in v.state.value, timeout=3000)
    assert "103 B" in v.state.value and f":{server.port}" in v.state.value


def test_avivator_and_copy_link(serve_widget, small_file, qtbot):
    w = serve_widget
    w.file.value = small_file
    click(qtbot, w.viewing.avivator_button)
    server = w.viewing.server
    link = urlsplit(w.opened[0])
    assert f"{link.scheme}://{link.netloc}" == AVIVATOR
    assert parse_qs(link.query)["image_url"] == [server.url_for(small_file)]

    from qtpy.QtWidgets import QApplication

    QApplication.clipboard().setText("something else")
    click(qtbot, w.viewing.copy_button)
    assert QApplication.clipboard().text() == server.viewer_url_for(small_file)


def test_stop_frees_the_port(serve_widget, small_file, qtbot):
    w = serve_widget
    w.file.value = small_file
    click(qtbot, w.viewing.open_viewer_button)
    port = w.viewing.server.port
    assert not _port_is_free(port) and w.viewing.stop_button.enabled
    click(qtbot, w.viewing.stop_button)
    assert _port_is_free(port)
    assert w.viewing.server is None and "Not serving" in w.viewing.state.value
    assert w.viewing.open_viewer_button.enabled and not w.viewing.stop_button.enabled
    assert not _server_threads()


def test_another_file_stops_the_first_server(serve_widget, small_file, qtbot, tmp_path):
    w = serve_widget
    w.file.value = small_file
    click(qtbot, w.viewing.open_viewer_button)
    port = w.viewing.server.port
    w.file.value = tmp_path / "other.ome.tif"
    assert w.viewing.server is None and _port_is_free(port)


def test_closing_the_dock_stops_the_server(make_napari_viewer, small_file, qtbot, monkeypatch):
    monkeypatch.setattr("webbrowser.open", lambda *a, **k: True)
    viewer = make_napari_viewer()
    widget = dock_serve_widget(viewer)
    widget.file.value = small_file
    click(qtbot, widget.viewing.open_viewer_button)
    port = widget.viewing.server.port
    assert _server_threads()

    viewer.window.remove_dock_widget(widget.native)
    widget.native.deleteLater()
    qtbot.waitUntil(lambda: not _server_threads(), timeout=5000)
    assert _port_is_free(port)


def test_closing_napari_stops_the_server(make_napari_viewer, small_file, qtbot, monkeypatch):
    monkeypatch.setattr("webbrowser.open", lambda *a, **k: True)
    viewer = make_napari_viewer()
    widget = dock_serve_widget(viewer)
    widget.file.value = small_file
    click(qtbot, widget.viewing.open_viewer_button)
    port = widget.viewing.server.port

    viewer.close()
    qtbot.waitUntil(lambda: not _server_threads(), timeout=5000)
    assert _port_is_free(port)


def test_missing_file_is_a_notification_not_a_server(serve_widget, tmp_path, qtbot, notifications):
    w = serve_widget
    w.file.value = tmp_path / "gone.ome.tif"
    click(qtbot, w.viewing.open_viewer_button)
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1 and "gone.ome.tif" in errors[0]
    assert w.viewing.server is None and w.opened == []
    assert not _server_threads()


def test_last_export_is_the_default_file(make_napari_viewer, small_file):
    from napari_viv._napari import settings

    settings.remember_last_export(small_file)
    widget = dock_serve_widget(make_napari_viewer())
    assert widget.file.value == small_file
    assert widget.viewing.path == small_file


def test_ssh_session_shows_the_forwarding_command(serve_widget, small_file, qtbot, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.5 52000 10.0.0.9 22")
    w = serve_widget
    assert not w.viewing.ssh.native.isVisibleTo(w.native)
    w.file.value = small_file
    click(qtbot, w.viewing.open_viewer_button)
    port = w.viewing.server.port
    assert w.viewing.ssh.native.isVisibleTo(w.native)
    text = w.viewing.ssh.value
    assert f"ssh -L {port}:localhost:{port} " in text and "10.0.0.9" in text
    assert f"http://localhost:{port}/?image=/cells.ome.tif" in text
    assert "Safari" in w.viewing.avivator_button.tooltip
