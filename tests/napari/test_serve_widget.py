"""The "Serve to Avivator" widget, driven through its buttons in a real viewer."""

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
    """Dock the serve widget the way the File menu does (napari builds it)."""
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-viv", "Serve to Avivator")
    return widget


@pytest.fixture
def serve_widget(make_napari_viewer, qtbot):
    widget = dock_serve_widget(make_napari_viewer())
    yield widget
    if widget.server is not None:
        widget.server.stop()


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


def test_start_serves_ranges_with_cors_and_counts(serve_widget, small_file, qtbot):
    w = serve_widget
    assert not w.stop_button.isEnabled() and not w.open_button.isEnabled()
    w.file_edit.setText(str(small_file))
    qtbot.mouseClick(w.start_button, qtbot_button())
    url = w.url_edit.text()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/cells.ome.tif")
    assert w.url_edit.isReadOnly()

    status, headers, body = _get(url, {"Range": "bytes=0-99", "Origin": AVIVATOR})
    assert status == 206
    assert headers["Access-Control-Allow-Origin"] == AVIVATOR
    assert "Content-Range" in headers["Access-Control-Expose-Headers"]
    assert body == small_file.read_bytes()[:100]

    # the offsets.json beside the file is served too, as Avivator expects
    side_url = url.replace("cells.ome.tif", "cells.offsets.json")
    status, headers, body = _get(side_url, {"Origin": AVIVATOR})
    assert status == 200 and body == b"[8]"
    assert headers["Access-Control-Allow-Origin"] == AVIVATOR

    # the live status counts what we did (2 requests, 103 body bytes)
    qtbot.waitUntil(lambda: "2 requests" in w.status_label.text(), timeout=3000)
    assert "103 B" in w.status_label.text()


def qtbot_button():
    from qtpy.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_open_and_copy_give_the_avivator_link(serve_widget, small_file, qtbot, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda link, *a, **k: opened.append(link))
    w = serve_widget
    w.file_edit.setText(str(small_file))
    qtbot.mouseClick(w.start_button, qtbot_button())
    file_url = w.url_edit.text()

    qtbot.mouseClick(w.open_button, qtbot_button())
    assert len(opened) == 1
    link = urlsplit(opened[0])
    assert f"{link.scheme}://{link.netloc}" == AVIVATOR
    assert parse_qs(link.query)["image_url"] == [file_url]

    from qtpy.QtWidgets import QApplication

    QApplication.clipboard().setText("something else")
    qtbot.mouseClick(w.copy_button, qtbot_button())
    assert QApplication.clipboard().text() == opened[0]


def test_stop_frees_the_port(serve_widget, small_file, qtbot):
    w = serve_widget
    w.file_edit.setText(str(small_file))
    qtbot.mouseClick(w.start_button, qtbot_button())
    port = urlsplit(w.url_edit.text()).port
    assert not _port_is_free(port)
    qtbot.mouseClick(w.stop_button, qtbot_button())
    assert _port_is_free(port)
    assert w.url_edit.text() == ""
    assert w.start_button.isEnabled() and not w.open_button.isEnabled()
    assert not _server_threads()


def test_closing_the_dock_stops_the_server(make_napari_viewer, small_file, qtbot):
    viewer = make_napari_viewer()
    widget = dock_serve_widget(viewer)
    widget.file_edit.setText(str(small_file))
    qtbot.mouseClick(widget.start_button, qtbot_button())
    port = urlsplit(widget.url_edit.text()).port
    assert _server_threads()

    viewer.window.remove_dock_widget(widget)
    widget.deleteLater()
    qtbot.waitUntil(lambda: not _server_threads(), timeout=5000)
    assert _port_is_free(port)


def test_closing_napari_stops_the_server(make_napari_viewer, small_file, qtbot):
    viewer = make_napari_viewer()
    widget = dock_serve_widget(viewer)
    widget.file_edit.setText(str(small_file))
    qtbot.mouseClick(widget.start_button, qtbot_button())
    port = urlsplit(widget.url_edit.text()).port

    viewer.close()
    qtbot.waitUntil(lambda: not _server_threads(), timeout=5000)
    assert _port_is_free(port)


def test_missing_file_is_a_notification_not_a_server(serve_widget, tmp_path, qtbot, notifications):
    w = serve_widget
    missing = tmp_path / "gone.ome.tif"
    w.file_edit.setText(str(missing))
    qtbot.mouseClick(w.start_button, qtbot_button())
    errors = [m for sev, m in notifications if sev == "error"]
    assert len(errors) == 1 and "gone.ome.tif" in errors[0]
    assert w.server is None and w.url_edit.text() == ""
    assert not _server_threads()


def test_last_export_is_the_default_file(make_napari_viewer, small_file):
    from napari_viv._napari import settings
    settings.remember_last_export(small_file)
    widget = dock_serve_widget(make_napari_viewer())
    assert widget.file_edit.text() == str(small_file)


def test_ssh_session_shows_the_forwarding_command(serve_widget, small_file, qtbot, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.5 52000 10.0.0.9 22")
    w = serve_widget
    assert not w.ssh_label.isVisibleTo(w)
    w.file_edit.setText(str(small_file))
    qtbot.mouseClick(w.start_button, qtbot_button())
    port = urlsplit(w.url_edit.text()).port
    assert w.ssh_label.isVisibleTo(w)
    assert f"ssh -L {port}:localhost:{port} " in w.ssh_label.text()
    assert "10.0.0.9" in w.ssh_label.text()
    assert "Safari" in w.hint_label.text()
