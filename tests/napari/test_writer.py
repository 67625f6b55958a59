"""The napari writer: Save Selected Layers -> one Viv pyramidal OME-TIFF.

Results are judged with the real Viv loader (``viv`` fixture) or tifffile,
never with napari-viv's own reader.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile
from helpers.napari_files import save_like_dialog
from helpers.vivjs import plane_digest

from napari_viv._napari.writer import write_layers

pytestmark = pytest.mark.napari


def _errors(notifications):
    return [text for sev, text in notifications if "error" in sev.lower()]


def _tissue(seed, shape=(700, 900), dtype=np.uint16):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4000, size=shape).astype(dtype)


@pytest.mark.node
def test_save_selected_layers_round_trip_through_viv(make_napari_viewer, tmp_path, viv):
    viewer = make_napari_viewer()
    dapi, cd3 = _tissue(1), _tissue(2)
    viewer.add_image(dapi, name="DAPI", colormap="blue", scale=(0.65, 0.65), units=("um", "um"))
    viewer.add_image(_tissue(3), name="not selected")
    viewer.add_image(cd3, name="CD3", colormap="green", scale=(0.65, 0.65), units=("um", "um"))
    viewer.layers.selection = {viewer.layers["DAPI"], viewer.layers["CD3"]}

    # the user typed no extension in the Save dialog
    written = save_like_dialog(viewer, tmp_path / "panel")

    tif, offsets = tmp_path / "panel.ome.tif", tmp_path / "panel.offsets.json"
    view = tmp_path / "panel.view.json"
    assert [str(p) for p in written] == [str(tif), str(offsets), str(view)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [offsets.name, tif.name, view.name]
    image = viv(tif, offsets=offsets)["images"][0]
    assert [c["name"] for c in image["channels"]] == ["DAPI", "CD3"]
    assert [c["color"][:3] for c in image["channels"]] == [[0, 0, 255], [0, 255, 0]]
    assert image["physical"]["x"] == pytest.approx(0.65)
    assert image["physical"]["y"] == pytest.approx(0.65)
    assert image["physical"]["xUnit"] == "\u00b5m"
    level0 = {p["c"]: p["sha256"] for p in image["levels"][0]["planes"]}
    assert level0 == {0: plane_digest(dapi), 1: plane_digest(cd3)}
    assert len(image["levels"]) >= 2


@pytest.mark.node
def test_multiscale_layer_levels_are_written_as_given(make_napari_viewer, tmp_path, viv):
    level0 = da.from_array(_tissue(4, (1024, 1024)), chunks=256)
    # deliberately NOT the mean of level 0: if it shows up in the file, the
    # writer used the layer's own level instead of recomputing it
    level1 = da.full((512, 512), 1234, dtype=np.uint16, chunks=256)
    viewer = make_napari_viewer()
    viewer.add_image([level0, level1], multiscale=True, name="pyr")

    written = viewer.layers.save(str(tmp_path / "pyr.ome.tif"), plugin="napari-viv")

    assert written and written[0].endswith("pyr.ome.tif")
    with tifffile.TiffFile(written[0]) as tif:
        levels = tif.series[0].levels
        np.testing.assert_array_equal(levels[0].asarray(), level0.compute())
        np.testing.assert_array_equal(levels[1].asarray(), np.full((512, 512), 1234))
    image = viv(written[0], offsets=written[1])["images"][0]
    assert image["levels"][1]["planes"][0]["sha256"] == plane_digest(np.full((512, 512), 1234, np.uint16))


def test_writer_command_with_mixed_units_and_z(tmp_path):
    stack = np.stack([_tissue(5, (200, 300)), _tissue(6, (200, 300))])
    meta = {
        "name": "stack",
        "scale": [1.5, 500.0, 0.5],
        "units": ["um", "nm", "um"],
        "axis_labels": ["z", "y", "x"],
        "colormap": "magenta",
    }
    written = write_layers(str(tmp_path / "zs.ome.tiff"), [(stack, meta, "image")])

    assert written == [str(tmp_path / n) for n in ("zs.ome.tiff", "zs.offsets.json", "zs.view.json")]
    with tifffile.TiffFile(written[0]) as tif:
        np.testing.assert_array_equal(tif.series[0].asarray(), stack)
        pixels = tif.ome_metadata
    # 500 nm on y became 0.5 in x's unit (µm)
    assert 'PhysicalSizeY="0.5"' in pixels and 'PhysicalSizeX="0.5"' in pixels
    assert 'PhysicalSizeZ="1.5"' in pixels
    assert 'SizeZ="2"' in pixels and 'SizeC="1"' in pixels
    assert 'Name="stack"' in pixels


@pytest.mark.node
def test_rgb_layer_saves_as_interleaved_rgb(make_napari_viewer, tmp_path, viv):
    rgb = np.random.default_rng(7).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    viewer = make_napari_viewer()
    viewer.add_image(rgb, name="he", rgb=True)
    written = viewer.layers.save(str(tmp_path / "he.ome.tif"), plugin="napari-viv")
    image = viv(written[0], offsets=written[1])["images"][0]
    assert image["interleaved"] is True
    assert image["channels"][0]["samplesPerPixel"] == 3
    assert image["levels"][0]["planes"][0]["sha256"] == plane_digest(rgb)


def test_a_layer_the_export_cannot_hold_is_refused(make_napari_viewer, tmp_path, notifications):
    # Points, Shapes and Labels travel with the image since issue 20
    # (tests/napari/test_scene_features.py); Vectors do not.
    viewer = make_napari_viewer()
    img = viewer.add_image(_tissue(8), name="cells")
    vec = viewer.add_vectors(np.array([[[10, 10], [5, 5]], [[20, 30], [1, 2]]], float), name="seeds")

    written = write_layers(
        str(tmp_path / "mixed.ome.tif"),
        [img.as_layer_data_tuple(), vec.as_layer_data_tuple()],
    )

    assert written == []
    assert list(tmp_path.iterdir()) == []
    assert any("'seeds'" in text and "vectors" in text for text in _errors(notifications))


def test_mismatched_shapes_are_refused_with_both_names(make_napari_viewer, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(_tissue(9, (200, 300)), name="small")
    viewer.add_image(_tissue(10, (210, 300)), name="tall")
    viewer.layers.select_all()

    with pytest.warns(UserWarning, match="did not return any written paths"):
        written = save_like_dialog(viewer, tmp_path / "bad")

    assert written == []
    assert list(tmp_path.iterdir()) == []
    (msg,) = [t for t in _errors(notifications) if "bad.ome.tif" in t]
    assert "'small'" in msg and "'tall'" in msg and "shape" in msg


def test_different_dtypes_are_promoted_when_lossless(tmp_path):
    a = _tissue(11, (64, 96), np.uint8)
    b = _tissue(12, (64, 96), np.uint16)
    written = write_layers(
        str(tmp_path / "promo"),
        [(a, {"name": "a"}, "image"), (b, {"name": "b"}, "image")],
    )
    with tifffile.TiffFile(written[0]) as tif:
        back = tif.series[0].asarray()
    assert back.dtype == np.result_type(a.dtype, b.dtype)
    np.testing.assert_array_equal(back[0], a)
    np.testing.assert_array_equal(back[1], b)


def test_missing_folder_is_reported_and_nothing_written(make_napari_viewer, tmp_path, notifications):
    viewer = make_napari_viewer()
    viewer.add_image(_tissue(13, (64, 64)), name="x")
    target = tmp_path / "no such folder" / "x.ome.tif"

    with pytest.warns(UserWarning):
        assert viewer.layers.save(str(target), plugin="napari-viv") == []

    assert not target.parent.exists()
    assert any("no such folder" in text for text in _errors(notifications))


def test_folder_that_is_a_file_is_reported(tmp_path, notifications):
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    written = write_layers(str(blocker / "x.ome.tif"), [(_tissue(14, (32, 32)), {"name": "x"}, "image")])
    assert written == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]
    assert any(str(blocker) in text for text in _errors(notifications))


def test_save_shows_progress_in_the_activity_dock(make_napari_viewer, tmp_path):
    from napari.utils.progress import progress

    seen = []

    def on_change(event):
        seen.extend(p for p in progress._all_instances if p not in seen)

    viewer = make_napari_viewer()
    viewer.add_image(_tissue(15, (1300, 1100)), name="big")
    progress._all_instances.events.changed.connect(on_change)
    try:
        written = viewer.layers.save(str(tmp_path / "big.ome.tif"), plugin="napari-viv")
    finally:
        progress._all_instances.events.changed.disconnect(on_change)

    assert written
    mine = [p for p in seen if "big.ome.tif" in p.desc]
    assert len(mine) == 1, seen  # a progress bar was opened for the save,
    assert mine[0] not in progress._all_instances  # closed again,
    assert mine[0].total > 0 and mine[0].n == mine[0].total  # and completed


def test_reader_layers_save_back_to_the_same_pyramid(make_napari_viewer, tmp_path):
    """Open an exported file (one layer per channel), save all layers again:
    the channel-split multiscale layers are re-stacked level by level."""
    from napari_viv import ImageMetadata
    from napari_viv.write.writer import export_pyramid

    rng = np.random.default_rng(16)
    data = rng.integers(0, 3000, size=(3, 1100, 900), dtype=np.uint16)
    meta = ImageMetadata(
        axes="CYX",
        channel_names=["DAPI", "CD20", "CD68"],
        channel_colors=[(0, 0, 255), (255, 255, 0), (255, 128, 0)],
        physical_sizes={"x": 0.4, "y": 0.4},
    )
    src = export_pyramid(data, tmp_path / "src.ome.tif", metadata=meta, tile_size=256).image
    viewer = make_napari_viewer()
    viewer.open(str(src), plugin="napari-viv")
    viewer.layers.select_all()

    written = save_like_dialog(viewer, tmp_path / "again.ome.tif")

    assert written == [str(tmp_path / n) for n in ("again.ome.tif", "again.offsets.json", "again.view.json")]
    with tifffile.TiffFile(src) as a, tifffile.TiffFile(written[0]) as b:
        # the source has 256-pixel tiles (4 levels), the save the default 512
        # (3 levels): each written level equals the source's level
        assert len(b.series[0].levels) == 3
        for la, lb in zip(a.series[0].levels, b.series[0].levels, strict=False):
            np.testing.assert_array_equal(lb.asarray(), la.asarray())
        xml = b.ome_metadata
    import xml.etree.ElementTree as ET

    ns = {"ome": "http://www.openmicroscopy.org/Schemas/OME/2016-06"}
    pixels = ET.fromstring(xml).find("ome:Image/ome:Pixels", ns)
    chans = pixels.findall("ome:Channel", ns)
    assert [c.get("Name") for c in chans] == meta.channel_names
    colors = [int(c.get("Color")) & 0xFFFFFFFF for c in chans]
    assert [(v >> 24, (v >> 16) & 255, (v >> 8) & 255) for v in colors] == meta.channel_colors
    assert float(pixels.get("PhysicalSizeX")) == pytest.approx(0.4)


def test_layers_at_different_positions_are_refused(tmp_path, notifications):
    a, b = _tissue(17, (64, 64)), _tissue(18, (64, 64))
    written = write_layers(
        str(tmp_path / "shifted.ome.tif"),
        [(a, {"name": "left"}, "image"), (b, {"name": "right", "translate": [0.0, 10.0]}, "image")],
    )
    assert written == []
    assert list(tmp_path.iterdir()) == []
    assert any("'left'" in t and "'right'" in t and "translate" in t for t in _errors(notifications))


def test_time_axis_scale_becomes_time_increment(tmp_path):
    movie = np.stack([_tissue(19 + t, (48, 64)) for t in range(3)])
    meta = {
        "name": "movie",
        "axis_labels": ["t", "y", "x"],
        "scale": [0.5, 1.0, 1.0],
        "units": ["minute", "pixel", "pixel"],
    }
    written = write_layers(str(tmp_path / "movie"), [(movie, meta, "image")])
    with tifffile.TiffFile(written[0]) as tif:
        np.testing.assert_array_equal(tif.series[0].asarray(), movie)
        xml = tif.ome_metadata
    assert 'SizeT="3"' in xml and 'TimeIncrement="30' in xml
    assert "PhysicalSizeX" not in xml  # pixel units: no physical size


def test_axis_labels_decide_the_ome_dimensions(tmp_path):
    zcyx = np.random.default_rng(23).integers(0, 999, (3, 2, 40, 50)).astype(np.uint16)
    meta = {"name": "cells", "axis_labels": ["Z", "channel", "y", "x"]}
    written = write_layers(str(tmp_path / "zc"), [(zcyx, meta, "image")])
    with tifffile.TiffFile(written[0]) as tif:
        series = tif.series[0]
        assert series.axes == "CZYX"
        np.testing.assert_array_equal(series.asarray(), zcyx.transpose(1, 0, 2, 3))
        xml = tif.ome_metadata
    assert 'SizeC="2"' in xml and 'SizeZ="3"' in xml
    assert 'Name="cells 0"' in xml and 'Name="cells 1"' in xml


# --- the layer translation itself (what the writer and export widget share) --


def test_translation_keeps_levels_only_when_all_layers_share_them():
    from napari_viv._napari.layers import layers_to_export

    l0 = np.zeros((64, 64), np.uint16)
    pyr = [l0, np.zeros((32, 32), np.uint16)]
    both = [(pyr, {"name": "a", "multiscale": True}, "image"), (pyr, {"name": "b", "multiscale": True}, "image")]
    assert [lv.shape for lv in layers_to_export(both).levels] == [(2, 64, 64), (2, 32, 32)]
    assert len(layers_to_export(both, keep_levels=False).levels) == 1
    mixed = [both[0], (l0, {"name": "flat"}, "image")]
    assert [lv.shape for lv in layers_to_export(mixed).levels] == [(2, 64, 64)]


def test_translation_colour_from_a_custom_colormap():
    from napari.utils.colormaps import Colormap

    from napari_viv._napari.layers import layers_to_export

    orange = Colormap([[0, 0, 0, 1], [1.0, 0.5, 0.0, 1]], name="my orange")
    out = layers_to_export([(np.zeros((8, 8), np.uint8), {"name": "o", "colormap": orange}, "image")])
    assert out.metadata.channel_colors == [(255, 128, 0)]


@pytest.mark.parametrize(
    "layer, words",
    [
        ((np.zeros((2,) * 6, np.uint8), {"name": "six"}), ["'six'", "6 dimensions"]),
        ((np.zeros((4, 4), np.uint8), {"name": "s", "units": ["second", "um"]}), ["'s'", "not a length"]),
        ((np.zeros((4, 4), np.uint8), {"name": "r", "axis_labels": ["x", "x"]}), ["'r'", "repeated"]),
    ],
)
def test_translation_refusals_name_the_layer(layer, words):
    from napari_viv._napari.layers import layers_to_export
    from napari_viv.errors import NapariVivError

    with pytest.raises(NapariVivError) as info:
        layers_to_export([(*layer, "image")])
    assert all(w in str(info.value) for w in words), str(info.value)
    assert "\n" not in str(info.value)


def test_look_survives_napari_file_napari(make_napari_viewer, tmp_path):
    """Colours, contrast limits, visibility and gamma: napari -> view.json -> napari."""
    import json

    from napari_viv._napari.reader import read_one

    viewer = make_napari_viewer()
    viewer.add_image(_tissue(1), name="DAPI", colormap="blue", contrast_limits=(100, 3000), gamma=0.7)
    viewer.add_image(_tissue(2), name="CD3", colormap="magenta", contrast_limits=(50, 9000), visible=False)
    viewer.layers.selection = set(viewer.layers)
    save_like_dialog(viewer, tmp_path / "look")
    doc = json.loads((tmp_path / "look.view.json").read_text())
    assert doc["version"] == 1
    assert [c["color"] for c in doc["channels"]] == [[0, 0, 255], [255, 0, 255]]
    assert [c["contrast_limits"] for c in doc["channels"]] == [[100, 3000], [50, 9000]]
    assert [c["visible"] for c in doc["channels"]] == [True, False]
    assert doc["channels"][0]["gamma"] == pytest.approx(0.7) and "gamma" not in doc["channels"][1]

    ((data, meta, kind),) = read_one(tmp_path / "look.ome.tif")
    assert meta["name"] == ["DAPI", "CD3"]
    assert [list(c) for c in meta["contrast_limits"]] == [[100, 3000], [50, 9000]]
    assert meta["visible"] == [True, False]
    assert meta["gamma"] == pytest.approx([0.7, 1.0])
    from napari.utils.colormaps import ensure_colormap

    colours = [tuple(round(v * 255) for v in ensure_colormap(cm).colors[-1][:3]) for cm in meta["colormap"]]
    assert colours == [(0, 0, 255), (255, 0, 255)]


def test_multiscale_layer_reaches_the_writer_as_a_plain_list(make_napari_viewer):
    """napari wraps multiscale data in its own sequence class; the glue hands
    the writer a plain list of the layer's levels instead."""
    from napari_viv._napari.layers import layer_objects_to_export

    level0 = np.arange(128 * 96, dtype=np.uint16).reshape(128, 96)
    level1 = level0[::2, ::2].copy()
    viewer = make_napari_viewer()
    layer = viewer.add_image([level0, level1], multiscale=True, name="pyr")
    assert not isinstance(layer.data, list)  # napari's own class, not what the writer gets

    found = layer_objects_to_export([layer])

    assert type(found.data) is list
    assert [type(level) for level in found.data] == [np.ndarray, np.ndarray]
    np.testing.assert_array_equal(found.data[1], level1)


@pytest.mark.parametrize(("dtype", "top"), [("uint16", 4095), ("uint16", 65535), ("float32", 1.0)])
def test_rgb_layer_that_is_not_8_bit_saves_as_red_green_blue_channels(make_napari_viewer, tmp_path, dtype, top):
    import json

    rgb = (np.random.default_rng(3).random((200, 300, 3)) * top).astype(dtype)
    viewer = make_napari_viewer()
    layer = viewer.add_image(rgb, name="deep rgb", rgb=True)
    layer.contrast_limits = (0, top * 0.8)
    written = write_layers(str(tmp_path / "deep"), [layer.as_layer_data_tuple()])
    assert [p.rsplit("/", 1)[-1] for p in written] == ["deep.ome.tif", "deep.offsets.json", "deep.view.json"]
    with tifffile.TiffFile(tmp_path / "deep.ome.tif") as tif:
        ome = tif.ome_metadata
        planes = [tif.series[0].levels[0].asarray()[c] for c in range(3)]
    for c in range(3):
        np.testing.assert_array_equal(planes[c], rgb[..., c])
    assert ome.count("<Channel ") == 3 and 'Name="Red"' in ome and 'Name="Blue"' in ome
    view = json.loads((tmp_path / "deep.view.json").read_text())
    assert [c["color"] for c in view["channels"]] == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    assert [c["name"] for c in view["channels"]] == ["Red", "Green", "Blue"]
    assert all(c["contrast_limits"] == pytest.approx([0, top * 0.8]) for c in view["channels"])
