"""read/omezarr.py: open_image on OME-Zarr 0.4 (Zarr v2) and 0.5 (Zarr v3, also sharded) stores
written by ome-zarr-py, the reference implementation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.zarr_judges import CHANNELS, reference_pixels, write_reference_store

from napari_viv import NapariVivError, open_image

VERSIONS = [
    pytest.param({"version": "0.4"}, id="0.4"),
    pytest.param({"version": "0.5"}, id="0.5"),
    pytest.param({"version": "0.5", "shards": (1, 256, 256)}, id="0.5-sharded"),
]


@pytest.fixture(scope="module")
def pixels():
    return reference_pixels((3, 300, 400))


@pytest.mark.parametrize("kind", VERSIONS)
def test_opens_reference_store_lazily_with_metadata(tmp_path, pixels, kind):
    import dask.array as da

    store = write_reference_store(
        tmp_path / "tissue.ome.zarr",
        pixels,
        scale={"y": 0.25, "x": 0.25},
        units={"y": "micrometer", "x": "micrometer"},
        **kind,
    )
    src = open_image(store)
    md = src.metadata
    assert md.axes == "CYX"
    assert md.name == "tissue"
    assert [tuple(lvl.shape) for lvl in src.levels] == [(3, 300, 400), (3, 150, 200), (3, 75, 100)]
    assert all(isinstance(lvl, da.Array) for lvl in src.levels)
    # one dask chunk per Zarr chunk (a 128 x 128 plane tile)
    assert src.levels[0].chunksize == (1, 128, 128)
    np.testing.assert_array_equal(np.asarray(src.levels[0]), pixels)
    assert md.channel_names == [c["label"] for c in CHANNELS]
    assert md.channel_colors == [(0, 0, 255), (0, 255, 0), (255, 0, 255)]
    assert md.contrast_limits == [(c["window"]["start"], c["window"]["end"]) for c in CHANNELS]
    assert md.channel_visible == [True, True, True]
    assert md.physical_sizes["x"] == pytest.approx(0.25)
    assert md.physical_sizes["y"] == pytest.approx(0.25)
    assert md.unit == "\u00b5m"


@pytest.mark.parametrize("kind", VERSIONS[:2])
def test_streaming_gives_zarr_arrays_in_canonical_order(tmp_path, kind):
    data = reference_pixels((2, 1, 3, 64, 96))  # t c z y x, one channel (dropped)
    store = write_reference_store(tmp_path / "tz.ome.zarr", data, axes="tczyx", levels=2, channels=None, **kind)
    src = open_image(store, streaming=True)
    assert src.metadata.axes == "TZYX"
    level0 = src.levels[0]
    assert "dask" not in type(level0).__module__
    assert tuple(level0.shape) == (2, 3, 64, 96)
    np.testing.assert_array_equal(np.asarray(level0[1, 2, :, :]), data[1, 0, 2])


def test_units_other_than_micrometre_and_z_scale(tmp_path):
    data = reference_pixels((4, 64, 64))
    store = write_reference_store(
        tmp_path / "stack.ome.zarr",
        data,
        axes="zyx",
        channels=None,
        levels=2,
        scale={"z": 2.0, "y": 500.0, "x": 500.0},
        units={"z": "micrometer", "y": "nanometer", "x": "nanometer"},
    )
    md = open_image(store).metadata
    assert md.axes == "ZYX"
    assert md.unit == "nm"
    assert md.physical_sizes == {"x": pytest.approx(500.0), "y": pytest.approx(500.0), "z": pytest.approx(2000.0)}


def test_inactive_channels_and_view_file(tmp_path, pixels):
    channels = [dict(c) for c in CHANNELS]
    store = write_reference_store(tmp_path / "look.ome.zarr", pixels, channels=channels, levels=2)
    attrs_file = store / ".zattrs"
    attrs = json.loads(attrs_file.read_text())
    attrs["omero"]["channels"][1]["active"] = False
    attrs_file.write_text(json.dumps(attrs))
    assert open_image(store).metadata.channel_visible == [True, False, True]
    # our view file beside the store adds the camera, as for an OME-TIFF
    view = {
        "version": 1,
        "channels": [{"name": "DAPI"}, {"name": "CD3"}, {"name": "PanCK"}],
        "camera": {"center": [10, 20], "zoom": -1},
    }
    (tmp_path / "look.view.json").write_text(json.dumps(view))
    assert open_image(store).metadata.camera == {"center": (10.0, 20.0), "zoom": -1.0}


def test_a_level_array_missing(tmp_path, pixels):
    import shutil

    store = write_reference_store(tmp_path / "broken.ome.zarr", pixels, levels=3)
    shutil.rmtree(store / "s1")
    with pytest.raises(NapariVivError, match=r"broken\.ome\.zarr: multiscales lists a missing array") as err:
        open_image(store)
    assert err.value.subject == str(store)


def test_unsupported_dtype(tmp_path):
    import zarr

    store = tmp_path / "c.zarr"
    zarr.create_array(str(store), shape=(8, 8), dtype="complex64", zarr_format=2)
    with pytest.raises(NapariVivError, match="unsupported data type complex64"):
        open_image(store)


@pytest.mark.node
@pytest.mark.parametrize(
    ("version", "per_shard"), [("0.4", None), ("0.5", None), ("0.5", 2)], ids=["0.4", "0.5", "0.5-sharded"]
)
def test_ngff_zarr_stores(tmp_path, pixels, version, per_shard):
    """Another writer's layout (ngff-zarr: levels at scaleN/<name>, translations, no omero) reads,
    checks and passes the judges; check says Avivator needs the omero block it lacks."""
    nz = pytest.importorskip("ngff_zarr", reason="ngff-zarr (the test extra) is not installed")
    from helpers.zarr_judges import judge_all

    from napari_viv import check_file

    image = nz.to_ngff_image(
        pixels,
        dims=["c", "y", "x"],
        scale={"y": 0.5, "x": 0.5},
        axes_units={"y": "micrometer", "x": "micrometer"},
        name="img",
    )
    multiscales = nz.to_multiscales(image, scale_factors=[2, 4], chunks={"c": 1, "y": 128, "x": 128})
    store = tmp_path / "peer.ome.zarr"
    nz.to_ngff_zarr(str(store), multiscales, version=version, chunks_per_shard=per_shard)
    src = open_image(store)
    assert src.metadata.axes == "CYX" and len(src.levels) == 3
    assert src.metadata.physical_sizes == {"x": 0.5, "y": 0.5}
    np.testing.assert_array_equal(np.asarray(src.levels[0]), pixels)
    report = check_file(store)
    assert [f.message.split(";")[0] for f in report.errors] == ["no 'omero' channel metadata"]
    judge_all(store, pixels)
