"""The Export to Viv panel's "Publish…" section, in a real viewer, to a folder and to a real S3 server (moto)."""

from __future__ import annotations

import urllib.request

import pytest
from helpers.publish_servers import CREDENTIALS, S3Server
from qtpy.QtCore import Qt

pytestmark = pytest.mark.napari
LEFT = Qt.MouseButton.LeftButton


def click(qtbot, button):
    qtbot.mouseClick(button.native, LEFT)


def exported_panel(make_napari_viewer, qtbot, tmp_path):
    from napari_viv._napari.manifest import PLUGIN, export_title

    viewer = make_napari_viewer()
    viewer.open_sample("napari-viv", "tissue", size=256, channels=3)
    _dock, panel = viewer.window.add_plugin_dock_widget(PLUGIN, export_title())
    panel.output.value = tmp_path / "tissue.ome.tif"
    click(qtbot, panel.export_button)
    qtbot.waitUntil(lambda: panel.worker is None, timeout=60_000)
    return panel


def test_publish_to_a_folder_then_copy_the_link(make_napari_viewer, qtbot, tmp_path, notifications):
    panel = exported_panel(make_napari_viewer, qtbot, tmp_path)
    section = panel.publishing
    assert section.native.isVisibleTo(panel.native) and not section.form.native.isVisibleTo(panel.native)
    click(qtbot, section.toggle)
    assert section.form.native.isVisibleTo(panel.native)
    site = tmp_path / "site"
    section.dest.value = str(site)
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: section.worker is None, timeout=60_000)
    assert section.link.value == (site / "index.html").as_uri()
    assert sorted(p.name for p in site.iterdir()) == sorted(
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
    assert section.progress.value == 1000 and any("Published" in m for _s, m in notifications)
    click(qtbot, section.copy_button)
    from qtpy.QtWidgets import QApplication

    assert QApplication.clipboard().text() == section.link.value
    # Again without "Replace": one line in the section and a notification, nothing changed.
    before = (site / "index.html").read_bytes()
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: section.worker is None, timeout=60_000)
    assert "--overwrite" in section.status.value and (site / "index.html").read_bytes() == before
    assert any("--overwrite" in m for _s, m in notifications)


def test_publish_to_s3(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    server = S3Server()
    try:
        server.client().create_bucket(Bucket="napari-share")
        panel = exported_panel(make_napari_viewer, qtbot, tmp_path)
        section = panel.publishing
        click(qtbot, section.toggle)
        section.dest.value = "s3://napari-share/t"
        section.endpoint.value = server.endpoint
        click(qtbot, section.start_button)
        qtbot.waitUntil(lambda: section.worker is None, timeout=60_000)
        assert section.link.value == f"{server.endpoint}/napari-share/t/index.html", section.status.value
        with urllib.request.urlopen(section.link.value, timeout=10) as answer:
            assert answer.status == 200 and b"napari-viv-site" in answer.read()
    finally:
        server.stop()


def test_publish_a_zarr_export_to_a_folder_and_to_s3(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    """The section publishes what the panel hands it after a Zarr export: the store's folder."""
    from napari_viv import export_pyramid
    from napari_viv.sample import synthetic_tissue

    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    panel = exported_panel(make_napari_viewer, qtbot, tmp_path)
    data, meta = synthetic_tissue(size=256, channels=3)
    (tmp_path / "zarr").mkdir()  # not beside the .ome.tif: a store shares its view file's name
    store = export_pyramid(data, tmp_path / "zarr" / "tissue.ome.zarr", metadata=meta, ngff="0.5").image
    section = panel.publishing
    section.set_file(store)  # what the panel does with an export's first output
    click(qtbot, section.toggle)
    site = tmp_path / "zarr-site"
    section.dest.value = str(site)
    click(qtbot, section.start_button)
    qtbot.waitUntil(lambda: section.worker is None, timeout=60_000)
    assert section.link.value == (site / "index.html").as_uri(), section.status.value
    published = sorted(
        p.relative_to(site / "tissue.ome.zarr").as_posix() for p in (site / "tissue.ome.zarr").rglob("*")
    )
    assert published == sorted(p.relative_to(store).as_posix() for p in store.rglob("*"))
    server = S3Server()
    try:
        server.client().create_bucket(Bucket="napari-zarr")
        section.dest.value = "s3://napari-zarr/z"
        section.endpoint.value = server.endpoint
        click(qtbot, section.start_button)
        qtbot.waitUntil(lambda: section.worker is None, timeout=60_000)
        assert section.link.value == f"{server.endpoint}/napari-zarr/z/index.html", section.status.value
        with urllib.request.urlopen(f"{server.endpoint}/napari-zarr/z/tissue.ome.zarr/zarr.json", timeout=10) as answer:
            assert answer.status == 200 and b'"ome"' in answer.read()
        # A private link cannot cover a store: one line in the section, nothing sent.
        section.presign.value = 3600
        section.dest.value = "s3://napari-zarr/private"
        click(qtbot, section.start_button)
        qtbot.waitUntil(lambda: section.worker is None, timeout=60_000)
        assert "cannot cover an OME-Zarr store" in section.status.value
        assert server.client().list_objects_v2(Bucket="napari-zarr", Prefix="private/").get("KeyCount", 0) == 0
    finally:
        server.stop()
