"""What `publish` publishes: exports and stores as they are, folders of them, conversions when asked."""

from __future__ import annotations

import numpy as np
import pytest

from napari_viv import export_pyramid, open_image
from napari_viv.convert import ConvertOptions
from napari_viv.errors import NapariVivError
from napari_viv.publish.sources import exports_for, is_store


@pytest.fixture
def outputs(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    data = np.arange(2 * 80 * 90, dtype=np.uint16).reshape(2, 80, 90)
    tif = export_pyramid(data, folder / "a.ome.tif").image
    store = export_pyramid(data, folder / "b.ome.zarr").image
    (folder / "notes.txt").write_text("not an image")
    return folder, tif, store, data


def test_exports_and_stores_go_as_they_are(outputs, tmp_path):
    folder, tif, store, _ = outputs
    work = tmp_path / "work"
    work.mkdir()
    assert is_store(store) and not is_store(tif)
    assert exports_for([folder], work) == [tif, store]
    assert exports_for([store, tif], work) == [store, tif]
    assert list(work.iterdir()) == []


def test_a_forced_format_converts_the_other_one(outputs, tmp_path):
    folder, tif, store, data = outputs
    work = tmp_path / "work"
    work.mkdir()
    as_zarr = exports_for([folder], work, convert=ConvertOptions(format="ome-zarr", ngff="0.5"))
    assert as_zarr[1] == store and as_zarr[0] == work / "a.ome.zarr" and is_store(as_zarr[0])
    assert (as_zarr[0] / "zarr.json").is_file()
    as_tiff = exports_for([store], work, convert=ConvertOptions(format="ome-tiff"))
    assert as_tiff == [work / "b.ome.tif"] and np.array_equal(np.asarray(open_image(as_tiff[0]).levels[0]), data)


def test_a_zarr_named_folder_without_metadata_and_an_empty_folder_are_refused(tmp_path):
    empty = tmp_path / "nothing.ome.zarr"
    empty.mkdir()
    with pytest.raises(NapariVivError) as err:
        exports_for([empty], tmp_path)
    assert "nothing.ome.zarr" in str(err.value)
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(NapariVivError, match="holds no exported .ome.tif .* or .ome.zarr store"):
        exports_for([plain], tmp_path)


def test_a_store_viv_cannot_open_is_refused_in_one_line(tmp_path):
    import zarr

    plain = tmp_path / "plain.zarr"
    zarr.open_array(str(plain), mode="w", shape=(64, 64), chunks=(32, 32), dtype="uint16", zarr_format=2)
    with pytest.raises(NapariVivError) as err:
        exports_for([plain], tmp_path)
    text = str(err.value)
    assert text.startswith(f"{plain}: Viv cannot open this store: ") and "\n" not in text
