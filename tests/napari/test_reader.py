"""The napari reader: pyramidal OME-TIFF opens lazily as named channel layers."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from helpers.napari_files import halve, write_tifffile_pyramid

from napari_viv._napari.reader import get_reader

pytestmark = pytest.mark.napari

NAMES = ["DAPI", "CD45", "Keratin"]
COLORS = [(0, 0, 255), (255, 128, 0), (0, 255, 0)]


def _three_levels(rng, shape, dtype=np.uint16):
    level0 = rng.integers(100, 5000, size=shape).astype(dtype)
    level0[0, 10, 10] = 65000  # a hot pixel only level 0 has at full value
    level1 = halve(level0)
    return [level0, level1, halve(level1)]


@pytest.fixture
def cyx_file(tmp_path):
    levels = _three_levels(np.random.default_rng(1), (3, 600, 500))
    path = write_tifffile_pyramid(
        tmp_path / "panel.ome.tif",
        levels,
        "CYX",
        names=NAMES,
        colors=COLORS,
        pixel_size=0.325,
    )
    return path, levels


def test_get_reader_claims_only_its_patterns(tmp_path):
    assert get_reader(str(tmp_path / "a.png")) is None
    assert get_reader(str(tmp_path / "a.tif")) is None
    assert get_reader(str(tmp_path)) is None  # a folder
    assert get_reader(123) is None  # never raises
    assert callable(get_reader(str(tmp_path / "a.ome.tif")))
    assert callable(get_reader(str(tmp_path / "A.OME.TIFF")))
    assert callable(get_reader(str(tmp_path / "slide.qptiff")))
    both = [str(tmp_path / "a.ome.tif"), str(tmp_path / "b.ome.tiff")]
    assert callable(get_reader(both))
    assert get_reader(both + [str(tmp_path / "c.png")]) is None


def test_channels_become_named_coloured_lazy_multiscale_layers(make_napari_viewer, cyx_file):
    path, levels = cyx_file
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-viv")

    assert [layer.name for layer in layers] == NAMES
    for c, layer in enumerate(layers):
        assert layer.multiscale
        assert len(layer.data) == len(levels)
        for i, level in enumerate(levels):
            assert isinstance(layer.data[i], da.Array)
            assert tuple(layer.data[i].shape) == level.shape[1:]
        # pixels are the file's (a window, not a full read)
        np.testing.assert_array_equal(
            np.asarray(layer.data[0][200:330, 100:260]),
            levels[0][c, 200:330, 100:260],
        )
        end = np.round(np.asarray(layer.colormap.colors)[-1, :3] * 255)
        assert tuple(int(v) for v in end) == COLORS[c]
        np.testing.assert_allclose(layer.scale, [0.325, 0.325])
        assert [format(u, "~") for u in layer.units] == ["\u00b5m", "\u00b5m"]
        assert tuple(layer.axis_labels) == ("y", "x")
        assert layer.blending == "additive"
        assert "<OME" in layer.metadata["ome_xml"]


def test_contrast_limits_come_from_the_smallest_level(make_napari_viewer, cyx_file):
    path, levels = cyx_file
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-viv")
    smallest = levels[-1]
    for c, layer in enumerate(layers):
        lo, hi = layer.contrast_limits
        assert (lo, hi) == (float(smallest[c].min()), float(smallest[c].max()))
    # the hot pixel of level 0 did not set channel 0's upper limit, so the
    # full-resolution plane was not scanned
    assert layers[0].contrast_limits[1] < levels[0][0].max()


def test_z_and_t_become_sliders_with_z_scale(make_napari_viewer, tmp_path):
    rng = np.random.default_rng(2)
    level0 = rng.integers(0, 255, size=(2, 2, 3, 256, 192), dtype=np.uint8)
    path = write_tifffile_pyramid(
        tmp_path / "tz.ome.tif",
        [level0, halve(level0)],
        "TCZYX",
        names=["a", "b"],
        pixel_size=0.5,
        z_size=2.0,
        time_increment=2.5,
    )
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-viv")

    assert [layer.name for layer in layers] == ["a", "b"]
    for c, layer in enumerate(layers):
        assert tuple(layer.axis_labels) == ("t", "z", "y", "x")
        assert layer.data[0].shape == (2, 3, 256, 192)
        np.testing.assert_allclose(layer.scale, [2.5, 2.0, 0.5, 0.5])
        assert format(layer.units[0], "~") == "s"
        np.testing.assert_array_equal(np.asarray(layer.data[0][1, 2]), level0[1, c, 2])
    assert viewer.dims.ndim == 4


def test_rgb_file_opens_as_one_rgb_layer(make_napari_viewer, tmp_path):
    rng = np.random.default_rng(3)
    level0 = rng.integers(0, 255, size=(300, 400, 3), dtype=np.uint8)
    level1 = np.moveaxis(halve(np.moveaxis(level0, -1, 0)), 0, -1)
    path = write_tifffile_pyramid(tmp_path / "he.ome.tif", [level0, level1], "YXS", pixel_size=0.25)
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-viv")

    assert len(layers) == 1
    (layer,) = layers
    assert layer.rgb
    assert layer.multiscale and len(layer.data) == 2
    np.testing.assert_array_equal(np.asarray(layer.data[0]), level0)
    np.testing.assert_allclose(layer.scale, [0.25, 0.25])


def test_single_level_single_channel_file(make_napari_viewer, tmp_path):
    import tifffile

    data = np.arange(64 * 80, dtype=np.uint16).reshape(64, 80)
    path = tmp_path / "flat.ome.tif"
    tifffile.imwrite(path, data, ome=True, metadata={"axes": "YX"})
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="napari-viv")
    assert not layer.multiscale
    np.testing.assert_array_equal(np.asarray(layer.data), data)
    assert layer.contrast_limits == [float(data.min()), float(data.max())]


def test_bad_file_is_a_notification_not_a_layer(make_napari_viewer, tmp_path, notifications):
    bad = tmp_path / "broken.ome.tif"
    bad.write_bytes(b"this is not a TIFF file at all")
    viewer = make_napari_viewer()

    added = viewer.open(str(bad), plugin="napari-viv")

    assert list(added) == []
    assert len(viewer.layers) == 0
    errors = [text for sev, text in notifications if "error" in sev.lower()]
    assert any("broken.ome.tif" in text for text in errors), notifications


def test_good_file_still_opens_next_to_a_bad_one(make_napari_viewer, tmp_path, cyx_file, notifications):
    path, _ = cyx_file
    bad = tmp_path / "truncated.ome.tif"
    bad.write_bytes(path.read_bytes()[:600])
    viewer = make_napari_viewer()

    viewer.open([str(path), str(bad)], plugin="napari-viv", stack=False)

    assert [layer.name for layer in viewer.layers] == NAMES
    assert any("truncated.ome.tif" in text for _, text in notifications)


def test_reads_what_napari_viv_exports(make_napari_viewer, tmp_path):
    from napari_viv import ImageMetadata
    from napari_viv.write.writer import export_pyramid

    rng = np.random.default_rng(4)
    data = rng.integers(0, 4000, size=(2, 1100, 900), dtype=np.uint16)
    meta = ImageMetadata(
        axes="CYX",
        channel_names=["Hoechst", "CD8"],
        channel_colors=[(0, 0, 255), (255, 0, 255)],
        physical_sizes={"x": 0.5, "y": 0.5},
    )
    tif = export_pyramid(data, tmp_path / "exp.ome.tif", metadata=meta, tile_size=256).image
    viewer = make_napari_viewer()
    layers = viewer.open(str(tif), plugin="napari-viv")

    assert [layer.name for layer in layers] == ["Hoechst", "CD8"]
    for c, layer in enumerate(layers):
        assert layer.multiscale and len(layer.data) >= 3
        assert layer.data[1].shape == (550, 450)
        np.testing.assert_array_equal(np.asarray(layer.data[0]), data[c])
        end = np.round(np.asarray(layer.colormap.colors)[-1, :3] * 255)
        assert tuple(int(v) for v in end) == meta.channel_colors[c]
        np.testing.assert_allclose(layer.scale, [0.5, 0.5])


def test_many_channels_open_with_the_first_eight_visible(make_napari_viewer, tmp_path):
    from napari_viv._napari.reader import MAX_VISIBLE

    data = np.stack([np.full((64, 48), c, np.uint8) for c in range(12)])
    path = write_tifffile_pyramid(tmp_path / "codex.ome.tif", [data], "CYX", names=[f"m{c}" for c in range(12)])
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-viv")
    assert [layer.name for layer in layers] == [f"m{c}" for c in range(12)]
    assert [layer.visible for layer in layers] == [c < MAX_VISIBLE for c in range(12)]
    # channels without a colour get distinct palette colours
    ends = {tuple(np.round(np.asarray(layer.colormap.colors)[-1, :3] * 255)) for layer in layers[:6]}
    assert len(ends) == 6


def test_qptiff_opens_with_names_colours_and_pixel_size(make_napari_viewer, tmp_path):
    from helpers.napari_files import write_qptiff_like

    levels = _three_levels(np.random.default_rng(5), (3, 512, 640))
    names = ["DAPI", "Opal 570", "Autofluorescence"]
    colors = [(0, 0, 255), (255, 255, 0), (0, 0, 0)]  # Vectra writes black
    path = write_qptiff_like(tmp_path / "scan.qptiff", levels, names, colors)
    viewer = make_napari_viewer()
    layers = viewer.open(str(path), plugin="napari-viv")

    assert [layer.name for layer in layers] == names
    ends = [tuple(int(v) for v in np.round(np.asarray(layer.colormap.colors)[-1, :3] * 255)) for layer in layers]
    assert ends[:2] == colors[:2]
    assert ends[2] != (0, 0, 0)  # a black channel would be invisible: palette colour
    assert len(set(ends)) == 3
    for c, layer in enumerate(layers):
        assert len(layer.data) == 3
        np.testing.assert_array_equal(np.asarray(layer.data[1]), levels[1][c])
        np.testing.assert_allclose(layer.scale, [0.5, 0.5])


def test_opening_reads_a_small_part_of_a_big_file(make_napari_viewer, tmp_path):
    """Open + first display of a 4096 x 4096 noise image (incompressible, so
    file bytes ~ pixel bytes) reads only a fraction of the file."""
    import psutil

    from napari_viv.write.writer import export_pyramid

    noise = np.random.default_rng(6).integers(0, 65535, (4096, 4096), dtype=np.uint16)
    tif = export_pyramid(noise, tmp_path / "noise.ome.tif").image
    del noise
    size = tif.stat().st_size
    viewer = make_napari_viewer()
    # first open a small file, so module imports are not counted below
    small = export_pyramid(np.ones((600, 600), np.uint8), tmp_path / "s.ome.tif").image
    viewer.open(str(small), plugin="napari-viv")
    viewer.layers.clear()
    proc = psutil.Process()
    before = proc.io_counters().read_chars

    (layer,) = viewer.open(str(tif), plugin="napari-viv")
    viewer.reset_view()

    read = proc.io_counters().read_chars - before
    assert layer.multiscale and len(layer.data) >= 4
    assert read < 0.25 * size, (read, size)


def test_each_series_becomes_its_own_set_of_layers(make_napari_viewer, tmp_path):
    """Stage positions / several OME Images: one set of layers per series, named by it."""
    import tifffile

    path = tmp_path / "positions.ome.tif"
    a = np.full((2, 64, 64), 100, np.uint16)
    b = np.full((2, 48, 80), 900, np.uint16)
    with tifffile.TiffWriter(path, ome=True) as tw:
        tw.write(a, metadata={"axes": "CYX", "Name": "Pos0", "Channel": {"Name": ["DAPI", "GFP"]}})
        tw.write(b, metadata={"axes": "CYX", "Name": "Pos1", "Channel": {"Name": ["DAPI", "GFP"]}})
    viewer = make_napari_viewer()
    viewer.open(str(path), plugin="napari-viv")
    assert [layer.name for layer in viewer.layers] == ["Pos0: DAPI", "Pos0: GFP", "Pos1: DAPI", "Pos1: GFP"]
    assert [layer.data.shape for layer in viewer.layers] == [(64, 64)] * 2 + [(48, 80)] * 2
    assert [layer.metadata["series"] for layer in viewer.layers] == [0, 0, 1, 1]
    assert int(viewer.layers["Pos1: GFP"].data[0, 0]) == 900
