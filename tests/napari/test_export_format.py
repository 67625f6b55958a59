"""The *Export to Viv* panel's format choice: OME-TIFF, OME-Zarr NGFF 0.4 or 0.5.

The format and the output name's suffix always agree; a store exports with
progress, its labels inside, atomically (cancel leaves nothing), and is
served to the browser afterwards. Driven through the magicgui widgets and
real mouse clicks in a real viewer; only the browser launch is replaced.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import numpy as np
import pytest
from helpers.napari_panel import cancel_at_first_progress, click, make_panel, slow_export_panel, wait_done
from helpers.testdata import pyramid_tiles
from helpers.zarr_judges import judge_models, judge_reference_reader, reference_pixels

pytestmark = pytest.mark.napari

zarr = pytest.importorskip("zarr", reason="zarr is needed to read the stores back")


def test_format_and_suffix_follow_each_other(make_napari_viewer, tmp_path):
    from napari_viv.write.codecs import TIFF_CODES, ZARR_CODECS

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((300, 400), np.uint16), name="cells")
    panel = make_panel(viewer)
    panel.output.value = tmp_path / "cells.ome.tif"
    assert panel.format.value == "ome-tiff" and set(panel.compression.choices) == set(TIFF_CODES)

    panel.format.value = "ngff-0.5"  # choosing a format fixes the suffix shown
    assert panel.output_path() == tmp_path / "cells.ome.zarr"
    assert str(panel.output.value) == str(tmp_path / "cells.ome.zarr")
    assert set(panel.compression.choices) == set(ZARR_CODECS) and panel.compression.value == "blosc-zstd"
    assert panel.export_format() == ("ome-zarr", "0.5")
    assert "OME-Zarr" in panel.output.filter
    assert panel.plan is not None and "Cannot" not in panel.plan_text.value

    panel.compression.value = "blosc-lz4"
    panel.output.value = tmp_path / "other.ome.tif"  # typing a .tif name picks OME-TIFF
    assert panel.format.value == "ome-tiff" and panel.output_path() == tmp_path / "other.ome.tif"
    assert panel.compression.value == "zlib"  # blosc is no TIFF codec

    panel.output.value = tmp_path / "plain.zarr"  # a .zarr name picks OME-Zarr, and keeps its suffix
    assert panel.export_format() == ("ome-zarr", "0.4") and panel.output_path() == tmp_path / "plain.zarr"
    panel.format.value = "ome-tiff"
    assert panel.output_path() == tmp_path / "plain.ome.tif"


def test_store_export_with_labels_progress_and_viewing(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url, *a, **k: opened.append(url) or True)
    viewer = make_napari_viewer()
    pixels = reference_pixels((2, 600, 500))
    for c, name in enumerate(("DAPI", "CD3")):
        viewer.add_image(pixels[c], name=name, scale=(0.5, 0.5), units=("um", "um"))
    ids = np.zeros((600, 500), np.uint16)
    ids[100:300, 50:250] = 12
    viewer.add_labels(ids, name="cells", scale=(0.5, 0.5))
    panel = make_panel(viewer)
    panel.format.value = "ngff-0.5"
    panel.tile_size.value = 256
    values = []
    panel.progress.changed.connect(values.append)
    panel.output.value = tmp_path / "panel.ome.zarr"
    click(qtbot, panel.export_button)
    wait_done(qtbot, panel)

    store = tmp_path / "panel.ome.zarr"
    assert "Saved panel.ome.zarr" in panel.status.value, panel.status.value
    assert values and values == sorted(values) and values[-1] == panel.progress.max
    # one bar over the image's tiles and then the labels' (2 channels, 1 label plane)
    assert panel.progress.max == pyramid_tiles(2, 600, 500, 256) + pyramid_tiles(1, 600, 500, 256)
    assert any(pyramid_tiles(2, 600, 500, 256) < v < panel.progress.max for v in values)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("napari")) == [
        "panel.ome.zarr",
        "panel.view.json",
    ]
    assert json.loads((store / "zarr.json").read_text())["attributes"]["ome"]["version"] == "0.5"
    judge_models(store)
    judge_reference_reader(store, pixels)
    np.testing.assert_array_equal(zarr.open_array(str(store / "labels" / "cells" / "0"), mode="r")[...], ids)
    view = json.loads((tmp_path / "panel.view.json").read_text())
    assert view["labels"][0]["file"] == "panel.ome.zarr/labels/cells"
    assert panel.publishing.native.isVisibleTo(panel.native)  # stores publish too
    assert panel.publishing.start_button.enabled

    click(qtbot, panel.viewing.open_viewer_button)  # serve after export: the store, over HTTP
    server = panel.viewing.server
    assert server is not None and server.running and opened == [server.viewer_url_for(store)]
    for key in ("zarr.json", "labels/cells/zarr.json"):
        parts = urlsplit(f"{server.url_for(store)}/{key}")
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        conn.request("GET", parts.path)
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["zarr_format"] == 3
        conn.close()
    click(qtbot, panel.viewing.stop_button)
    assert not server.running

    # the next panel starts with the format used last, and its codecs
    from napari_viv._napari.export_widget import ExportToViv
    from napari_viv.write.codecs import ZARR_CODECS

    again = ExportToViv(viewer)
    assert again.format.value == "ngff-0.5" and set(again.compression.choices) == set(ZARR_CODECS)
    assert again.output_path().name.endswith(".ome.zarr")


def test_cancelling_a_store_export_leaves_nothing(make_napari_viewer, qtbot, tmp_path, notifications):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    panel = slow_export_panel(make_napari_viewer(), out_dir / "slow.ome.zarr")
    assert panel.export_format() == ("ome-zarr", "0.4")
    cancel_at_first_progress(qtbot, panel)
    click(qtbot, panel.export_button)
    wait_done(qtbot, panel, timeout=120_000)

    assert "cancelled" in panel.status.value.lower()
    assert list(out_dir.iterdir()) == []  # no store, no hidden temporary folder
    assert not [m for sev, m in notifications if sev == "error"]


def test_a_bad_labels_layer_stops_a_store_export_before_writing(make_napari_viewer, qtbot, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((100, 120), np.uint16), name="tissue")
    viewer.add_labels(np.zeros((100, 100), np.uint8), name="wrong size")
    panel = make_panel(viewer)
    panel.output.value = tmp_path / "bad.ome.zarr"
    assert panel.start_export() is False
    errors = [m for sev, m in notifications if "error" in sev.lower()]
    assert errors and "wrong size" in errors[-1] and "(100, 100)" in errors[-1]
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("napari")] == []


def test_a_store_never_takes_the_view_file_of_a_tiff_of_the_same_name(
    make_napari_viewer, qtbot, tmp_path, notifications
):
    from napari_viv._napari import settings

    settings.save_settings(settings.ExportSettings(folder=str(tmp_path)))
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint16), name="cells")
    panel = make_panel(viewer)
    assert panel.output_path() == tmp_path / "cells.ome.tif"  # proposed
    click(qtbot, panel.export_button)
    wait_done(qtbot, panel)
    assert (tmp_path / "cells.view.json").is_file()
    panel.format.value = "ngff-0.4"  # a proposed name is proposed again: one no file or sidecar has
    assert panel.output_path() == tmp_path / "cells-2.ome.zarr"
    panel.output.value = tmp_path / "cells.ome.zarr"  # the user's own choice
    assert panel.start_export() is False  # cells.view.json belongs to cells.ome.tif
    errors = [m for sev, m in notifications if "error" in sev.lower()]
    assert errors and "cells.view.json" in errors[-1] and "Replace" in errors[-1]
    assert not (tmp_path / "cells.ome.zarr").exists()
