"""The napari reader on OME-Zarr stores written by ome-zarr-py (NGFF 0.4, 0.5, 0.5 sharded),
and how napari chooses among the readers that accept folders."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from helpers.zarr_judges import CHANNELS, judge_napari, reference_pixels, write_reference_store

from napari_viv._napari.reader import get_zarr_reader

pytestmark = pytest.mark.napari


@pytest.fixture(
    params=[{"version": "0.4"}, {"version": "0.5"}, {"version": "0.5", "shards": (1, 256, 256)}],
    ids=["0.4", "0.5", "0.5-sharded"],
)
def store(request, tmp_path):
    pixels = reference_pixels((3, 300, 400))
    path = write_reference_store(
        tmp_path / "panel.ome.zarr",
        pixels,
        scale={"y": 0.5, "x": 0.5},
        units={"y": "micrometer", "x": "micrometer"},
        **request.param,
    )
    return path, pixels


def test_store_opens_as_named_coloured_lazy_multiscale_layers(make_napari_viewer, store):
    path, pixels = store
    viewer = make_napari_viewer()
    layers = judge_napari(viewer, path, pixels)

    assert [layer.name for layer in layers] == [c["label"] for c in CHANNELS]
    colours = [(0, 0, 255), (0, 255, 0), (255, 0, 255)]
    for c, layer in enumerate(layers):
        assert layer.multiscale and len(layer.data) == 3
        assert all(isinstance(level, da.Array) for level in layer.data)
        assert [tuple(level.shape) for level in layer.data] == [(300, 400), (150, 200), (75, 100)]
        np.testing.assert_array_equal(np.asarray(layer.data[0][100:200, 50:250]), pixels[c, 100:200, 50:250])
        end = np.round(np.asarray(layer.colormap.colors)[-1, :3] * 255)
        assert tuple(int(v) for v in end) == colours[c]
        window = CHANNELS[c]["window"]
        assert tuple(layer.contrast_limits) == (window["start"], window["end"])
        np.testing.assert_allclose(layer.scale, [0.5, 0.5])
        assert [format(u, "~") for u in layer.units] == ["\u00b5m", "\u00b5m"]
        assert layer.metadata["path"] == str(path)


def test_zarr_reader_declines_what_is_not_a_store(tmp_path, store):
    path, _ = store
    (tmp_path / "photos").mkdir()
    assert get_zarr_reader(str(tmp_path / "photos")) is None
    assert get_zarr_reader(str(tmp_path / "a.ome.tif")) is None
    assert get_zarr_reader(123) is None
    assert callable(get_zarr_reader(str(path)))


def test_napari_asks_which_reader_unless_a_folder_preference_names_ours(make_napari_viewer, store):
    """npe2 offers every reader that accepts folders; napari opens a folder without asking only
    when settings.plugins.extension2reader has a pattern matching '<realpath>/'."""
    from napari.errors import MultipleReaderError
    from napari.plugins._npe2 import get_readers
    from napari.settings import get_settings

    path, _ = store
    viewer = make_napari_viewer()  # discovers the plugins
    readers = get_readers(str(path))
    # napari's own reader and napari-ome-zarr accept folders too
    assert {"napari-viv", "napari", "napari-ome-zarr"} <= set(readers)
    with pytest.raises(MultipleReaderError):
        viewer.open(str(path), plugin=None)
    # napari-ome-zarr still opens the store when asked for it: no clash
    assert viewer.open(str(path), plugin="napari-ome-zarr")
    settings = get_settings().plugins
    before = dict(settings.extension2reader)
    try:
        settings.extension2reader = {**before, "*.zarr/": "napari-viv"}
        layers = viewer.open(str(path), plugin=None)
    finally:
        settings.extension2reader = before
    assert [layer.name for layer in layers] == [c["label"] for c in CHANNELS]
    assert all(layer.source.reader_plugin == "napari-viv" for layer in layers)
