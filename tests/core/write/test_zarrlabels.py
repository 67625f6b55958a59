"""Label images inside an OME-Zarr store (NGFF ``labels/``), written with the image, atomically.

Judged by ome-zarr-models (the image with its labels group, and each label
image's model) and by ome-zarr-py's Reader (the label node and its level 0).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers.testdata import pyramid_tiles, rand

from napari_viv.errors import Cancelled, NapariVivError
from napari_viv.write.writer import export_pyramid
from napari_viv.write.zarrlabels import LabelImage

zarr = pytest.importorskip("zarr", reason="zarr is needed to read the stores back")
ome_zarr_models = pytest.importorskip("ome_zarr_models", reason="pip install ome-zarr-models (the test extra)")
reader = pytest.importorskip("ome_zarr.reader", reason="pip install ome-zarr (the test extra)")
ome_zarr_io = pytest.importorskip("ome_zarr.io", reason="pip install ome-zarr (the test extra)")


def label_ids(shape=(300, 410), seed=1) -> np.ndarray:
    """Blocks of ids and a one-pixel checkerboard that a mean would blur into new ids."""
    ids = np.zeros(shape, np.uint16)
    ids[20:120, 30:200] = 7
    ids[150:290, 100:400] = 300
    ids[200:240:2, 20:60:2] = 5
    rng = np.random.default_rng(seed)
    ids[rng.integers(0, shape[0], 50), rng.integers(0, shape[1], 50)] = 9
    return ids


def ome_block(folder) -> dict:
    """The NGFF attributes of a group: .zattrs (0.4) or zarr.json's attributes["ome"] (0.5)."""
    if (folder / ".zattrs").is_file():
        return json.loads((folder / ".zattrs").read_text())
    return json.loads((folder / "zarr.json").read_text())["attributes"]["ome"]


def label_models(store, version):
    """ome-zarr-models' ImageLabel model of every label image of the store."""
    from importlib import import_module

    image_label = import_module(f"ome_zarr_models.v0{version[-1]}.image_label")
    names = ome_block(store / "labels")["labels"]
    return {n: image_label.ImageLabel.from_zarr(zarr.open_group(str(store / "labels" / n), mode="r")) for n in names}


@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_labels_go_under_labels_and_every_judge_reads_them(tmp_path, ngff):
    image = rand((2, 300, 410), "uint16")
    ids = label_ids()
    colors = {7: (255, 0, 0, 255), 300: (0, 128, 255, 200), 5: (1, 2, 3, 255), 9: (9, 9, 9, 255)}
    labels = [LabelImage("nuclei", ids, "YX", colors), LabelImage("cells", (ids > 0).astype(np.uint8), "YX")]
    result = export_pyramid(
        image, tmp_path / "s.ome.zarr", tile_size=64, ngff=ngff, physical_sizes={"x": 0.5, "y": 0.5}, labels=labels
    )
    store = result.image
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.ome.zarr"]  # no temporary folder left
    assert ome_block(store / "labels")["labels"] == ["nuclei", "cells"]

    # ome-zarr-models: the image (with its labels group) and each label image validate
    ome_zarr_models.open_ome_zarr(zarr.open_group(str(store), mode="r"))
    models = label_models(store, ngff)
    assert set(models) == {"nuclei", "cells"}
    block = ome_block(store / "labels" / "nuclei")
    label = block["image-label"]
    assert {c["label-value"]: tuple(c["rgba"]) for c in label["colors"]} == colors
    assert label["source"] == {"image": "../../"} and "omero" not in block
    assert (label.get("version") == "0.4") if ngff == "0.4" else ("version" not in label and block["version"] == "0.5")
    # the labels lie on the image's pixels: the same Y and X scale per level
    image_scales = [
        d["coordinateTransformations"][0]["scale"][-2:] for d in ome_block(store)["multiscales"][0]["datasets"]
    ]
    label_scales = [d["coordinateTransformations"][0]["scale"] for d in block["multiscales"][0]["datasets"]]
    assert label_scales == image_scales[: len(label_scales)] and len(label_scales) >= 3

    # ome-zarr-py's Reader finds the label node, with its colours, and reads level 0 equal to the input
    nodes = list(reader.Reader(ome_zarr_io.parse_url(str(store)))())
    np.testing.assert_array_equal(np.asarray(nodes[0].data[0]), image)
    found = {n.zarr.basename(): n for n in nodes if n.load(reader.Label)}
    assert set(found) == {"nuclei", "cells"}, [repr(n.zarr) for n in nodes]
    np.testing.assert_array_equal(np.asarray(found["nuclei"].data[0]), ids)
    assert found["nuclei"].metadata["color"][7] == [1.0, 0.0, 0.0, 1.0]
    # nearest levels: only ids that exist (a mean of 7 and 300 would make others)
    group = zarr.open_group(str(store / "labels" / "nuclei"), mode="r")
    for level in range(1, len(label_scales)):
        lower = np.asarray(group[str(level)][...])
        assert set(np.unique(lower)) <= {0, 5, 7, 9, 300}
        np.testing.assert_array_equal(lower, ids[:: 2**level, :: 2**level][: lower.shape[0], : lower.shape[1]])


def test_labels_only_go_into_a_store(tmp_path):
    with pytest.raises(NapariVivError, match="OME-Zarr"):
        export_pyramid(
            np.zeros((64, 64), np.uint8),
            tmp_path / "a.ome.tif",
            labels=[LabelImage("x", np.zeros((64, 64), "u1"), "YX")],
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "label, words",
    [
        (LabelImage("../up", np.zeros((64, 64), np.uint8), "YX"), "plain folder name"),
        (LabelImage("f", np.zeros((64, 64), np.float32), "YX"), "not integer"),
        (LabelImage("c", np.zeros((2, 64, 64), np.uint8), "CYX"), "axes"),
    ],
)
def test_bad_label_images_are_refused_before_writing(tmp_path, label, words):
    with pytest.raises(NapariVivError, match=words):
        export_pyramid(np.zeros((64, 64), np.uint8), tmp_path / "a.ome.zarr", labels=[label])
    assert list(tmp_path.iterdir()) == []


def test_a_failing_or_cancelled_label_leaves_nothing_and_keeps_the_old_store(tmp_path):
    target = tmp_path / "a.ome.zarr"
    old = export_pyramid(np.full((64, 64), 3, np.uint8), target)
    # a label image that does not fit the plan fails while the store is being finished
    bad = LabelImage("wide", np.zeros((64, 64, 3, 5), np.uint8), "YXZQ")
    with pytest.raises(NapariVivError):
        export_pyramid(np.zeros((64, 64), np.uint8), target, overwrite=True, labels=[bad])

    def cancel():  # the image streams; the labels, once their group exists in the temporary store, are cancelled
        return any(tmp_path.glob(".a.ome.zarr.*.part/labels"))

    with pytest.raises(Cancelled):
        export_pyramid(
            np.zeros((64, 64), np.uint8),
            target,
            overwrite=True,
            cancel=cancel,
            tile_size=16,
            labels=[LabelImage("l", np.ones((64, 64), np.uint8), "YX")],
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ome.zarr"]
    assert not (target / "labels").exists()
    np.testing.assert_array_equal(zarr.open_array(str(old.image / "0"), mode="r")[...], np.full((64, 64), 3))


def test_progress_runs_over_the_image_and_its_labels_tiles(tmp_path):
    calls = []
    labels = [
        LabelImage("cells", label_ids((300, 410)), "YX"),
        LabelImage("nuclei", label_ids((300, 410), seed=2), "YX"),
    ]
    export_pyramid(
        rand((2, 300, 410), "uint16"),
        tmp_path / "a.ome.zarr",
        tile_size=64,
        labels=labels,
        progress=lambda done, total: calls.append((done, total)),
    )
    image, labelled = pyramid_tiles(2, 300, 410, 64), pyramid_tiles(2, 300, 410, 64)  # 2 channels; 2 one-plane labels
    assert {t for _, t in calls} == {image + labelled}
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1] == (image + labelled, image + labelled)
    assert any(d == image for d, _ in calls)  # the image's last tile, before the labels'
    assert any(image < d < image + labelled for d, _ in calls)  # the labels' tiles move it on


@pytest.mark.node
@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_the_viv_loader_reads_a_label_image_and_check_passes_the_store(tmp_path, ngff):
    """The viewer opens a label group with loadOmeZarr (the view file's `file`): the real loader reads it."""
    from helpers.zarr_judges import judge_viv

    from napari_viv.check.zarr import check_store

    ids = label_ids()
    result = export_pyramid(
        rand((2, 300, 410), "uint16"),
        tmp_path / "s.ome.zarr",
        tile_size=128,
        ngff=ngff,
        labels=[LabelImage("n", ids, "YX")],
    )
    report = judge_viv(result.image / "labels" / "n")  # every level and plane's pixels, by digest
    (image,) = report["images"]
    assert image["labels"] == ["y", "x"] and image["levels"][0]["shape"] == list(ids.shape)
    assert check_store(result.image).ok
