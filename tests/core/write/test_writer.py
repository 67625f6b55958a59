"""export_pyramid: pixels, levels, layouts, metadata and streaming behaviour,
checked by reading the written file back with tifffile."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

import numpy as np
import pytest
import tifffile
from helpers.testdata import rand

from napari_viv.errors import Cancelled, NapariVivError
from napari_viv.metadata import ImageMetadata
from napari_viv.naming import output_path
from napari_viv.write.stream import Tuning
from napari_viv.write.writer import export_pyramid

OME = "{http://www.openmicroscopy.org/Schemas/OME/2016-06}"


def mean2(a):
    """Independent reference: 2x2 mean in float64, round half up, floor sizes."""
    h, w = a.shape[0] // 2, a.shape[1] // 2
    b = a[: 2 * h, : 2 * w].astype(np.float64)
    s = b[0::2, 0::2] + b[1::2, 0::2] + b[0::2, 1::2] + b[1::2, 1::2]
    if np.issubdtype(a.dtype, np.integer):
        return np.floor(s / 4 + 0.5).astype(a.dtype)
    return (s / 4).astype(a.dtype)


def read_all(path):
    """{(plane_index, level): array} for every main-chain page and SubIFD."""
    out = {}
    with tifffile.TiffFile(path) as tif:
        for i, page in enumerate(tif.pages):
            out[i, 0] = page.asarray()
            for lvl, off in enumerate(page.subifds or (), start=1):
                tif.filehandle.seek(off)  # a TiffPage is parsed at the file position
                sub = tifffile.TiffPage(tif, index=(i, lvl))
                out[i, lvl] = sub.asarray()
                assert sub.subfiletype == 1
                assert "ImageDescription" not in sub.tags  # OME-XML in IFD 0 only
                assert sub.tilewidth == sub.tilelength == page.tilewidth
    return out


def ome_root(path):
    """The OME-XML of IFD 0, parsed from its raw UTF-8 bytes."""
    with tifffile.TiffFile(path) as tif:
        tag = tif.pages[0].tags["ImageDescription"]
        tif.filehandle.seek(tag.valueoffset)
        raw = tif.filehandle.read(tag.count)
    assert raw.rstrip(b"\0").startswith(b"<?xml")
    return ET.fromstring(raw.rstrip(b"\0"))


DTYPES = ["uint8", "uint16", "uint32", "int8", "int16", "int32", "float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_level_of_every_dtype_is_exact(tmp_path, dtype):
    a = rand((2, 150, 203), dtype)
    tif, js = export_pyramid(a, tmp_path / "d.ome.tif", tile_size=32).paths[:2]
    pages = read_all(tif)
    with tifffile.TiffFile(tif) as t:
        assert t.byteorder == "<" and t.is_bigtiff
        assert t.pages[0].dtype == np.dtype(dtype)
        npages = len(t.pages)
    assert npages == 2
    for c in range(2):
        ref = a[c]
        lvl = 0
        while (c, lvl) in pages:
            got = pages[c, lvl]
            assert got.shape == ref.shape
            np.testing.assert_array_equal(got, ref)
            ref = mean2(ref)
            lvl += 1
        # auto levels: stop when the largest side fits one tile
        assert max(pages[c, lvl - 1].shape) <= 32 < max(pages[c, lvl - 2].shape)


def test_level_shapes_floor_half_for_odd_sizes(tmp_path):
    a = rand((1001, 777), "uint16")
    tif = export_pyramid(a, tmp_path / "odd.ome.tif", tile_size=64).image
    pages = read_all(tif)
    h, w = a.shape
    lvl = 0
    while (0, lvl) in pages:
        assert pages[0, lvl].shape == (h, w)
        h, w = h // 2, w // 2
        lvl += 1
    assert lvl == 5  # 1001 -> 500 -> 250 -> 125 -> 62 (<= 64)


def test_nearest_downsample(tmp_path):
    a = rand((3, 301, 257), "int16")
    tif = export_pyramid(a, tmp_path / "n.ome.tif", tile_size=64, downsample="nearest").image
    pages = read_all(tif)
    for c in range(3):
        ref = a[c]
        for lvl in range(4):
            np.testing.assert_array_equal(pages[c, lvl], ref)
            ref = ref[: ref.shape[0] // 2 * 2 : 2, : ref.shape[1] // 2 * 2 : 2]


def test_converted_dtypes(tmp_path):
    b = rand((70, 90), "bool")
    tif = export_pyramid(b, tmp_path / "b.ome.tif", tile_size=32, levels=1).image
    got = tifffile.imread(tif)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, np.where(b, 255, 0).astype(np.uint8))

    h = rand((70, 90), "float16")
    tif = export_pyramid(h, tmp_path / "h.ome.tif", tile_size=32, levels=2).image
    pages = read_all(tif)
    assert pages[0, 0].dtype == np.float32
    np.testing.assert_array_equal(pages[0, 0], h.astype(np.float32))
    np.testing.assert_array_equal(pages[0, 1], mean2(h.astype(np.float32)))

    big = rand((40, 40), "uint16").astype(">u2")
    tif = export_pyramid(big, tmp_path / "be.ome.tif", tile_size=16, levels=1).image
    got = tifffile.imread(tif)
    assert got.dtype == np.dtype("<u2")
    np.testing.assert_array_equal(got, big)


@pytest.mark.parametrize("dtype", ["int64", "uint64", "complex64"])
def test_unsupported_dtypes_are_refused(tmp_path, dtype):
    a = np.zeros((20, 20), dtype)
    with pytest.raises(NapariVivError, match="not supported"):
        export_pyramid(a, tmp_path / "x.ome.tif")
    assert list(tmp_path.iterdir()) == []


def test_tczyx_from_another_axes_order(tmp_path):
    # source order Z, X, T, Y, C -> written T C Z Y X
    t, c, z, y, x = 2, 3, 2, 70, 50
    canon = rand((t, c, z, y, x), "uint16")
    src = canon.transpose(2, 4, 0, 3, 1)
    tif, js = export_pyramid(src, tmp_path / "tczyx.ome.tif", axes="ZXTYC", tile_size=32).paths[:2]
    pages = read_all(tif)
    assert len({k[0] for k in pages}) == t * c * z
    i = 0
    for ti in range(t):
        for ci in range(c):
            for zi in range(z):  # DimensionOrder XYZCT: Z fastest
                np.testing.assert_array_equal(pages[i, 0], canon[ti, ci, zi])
                np.testing.assert_array_equal(pages[i, 1], mean2(canon[ti, ci, zi]))
                i += 1
    pix = ome_root(tif).find(f"{OME}Image/{OME}Pixels")
    assert pix.get("DimensionOrder") == "XYZCT"
    assert [pix.get(f"Size{k}") for k in "XYZCT"] == [str(v) for v in (x, y, z, c, t)]
    with tifffile.TiffFile(tif) as tf:  # tifffile's OME reader agrees
        s = tf.series[0]
        assert s.axes == "TCZYX" and s.shape == canon.shape
        np.testing.assert_array_equal(s.asarray(), canon)


def test_zyx(tmp_path):
    a = rand((4, 60, 80), "uint8")
    tif = export_pyramid(
        a, tmp_path / "z.ome.tif", axes="ZYX", tile_size=16, physical_sizes={"x": 0.25, "y": 0.25, "z": 2.0}
    ).image
    with tifffile.TiffFile(tif) as tf:
        np.testing.assert_array_equal(tf.series[0].asarray(), a)
    pix = ome_root(tif).find(f"{OME}Image/{OME}Pixels")
    assert pix.get("SizeZ") == "4" and pix.get("SizeC") == "1"
    assert float(pix.get("PhysicalSizeZ")) == 2.0


def test_rgb_interleaved(tmp_path):
    a = rand((130, 170, 3), "uint8")
    tif = export_pyramid(a, tmp_path / "rgb.ome.tif", tile_size=32).image
    pages = read_all(tif)
    with tifffile.TiffFile(tif) as tf:
        p = tf.pages[0]
        assert p.photometric == tifffile.PHOTOMETRIC.RGB
        assert p.samplesperpixel == 3 and p.planarconfig == tifffile.PLANARCONFIG.CONTIG
        assert len(tf.pages) == 1
    ref = a
    for lvl in range(3):
        np.testing.assert_array_equal(pages[0, lvl], ref)
        ref = np.stack([mean2(ref[..., s]) for s in range(3)], axis=-1)
    pix = ome_root(tif).find(f"{OME}Image/{OME}Pixels")
    assert pix.get("Interleaved") == "true" and pix.get("SizeC") == "3"
    chans = pix.findall(f"{OME}Channel")
    assert len(chans) == 1 and chans[0].get("SamplesPerPixel") == "3"


def test_rgba_and_16bit_rgb_become_channels(tmp_path):
    a = rand((40, 50, 4), "uint8")
    tif = export_pyramid(a, tmp_path / "rgba.ome.tif", axes="YXS", tile_size=16).image
    with tifffile.TiffFile(tif) as tf:
        assert len(tf.pages) == 4 and tf.pages[0].samplesperpixel == 1
        np.testing.assert_array_equal(tf.series[0].asarray(), a.transpose(2, 0, 1))
    b = rand((40, 50, 3), "uint16")
    tif = export_pyramid(b, tmp_path / "rgb16.ome.tif", axes="YXS", tile_size=16).image
    with tifffile.TiffFile(tif) as tf:
        assert len(tf.pages) == 3
        np.testing.assert_array_equal(tf.series[0].asarray(), b.transpose(2, 0, 1))


def test_metadata_round_trip(tmp_path):
    names = ['a<b & "c"', "d'e", "Ki-67 µ→✓"]
    md = ImageMetadata(
        axes="CYX",
        name="tissue <1> & 'x'",
        channel_names=names,
        channel_colors=[(255, 0, 0), (0, 255, 0), None],
        physical_sizes={"x": 0.325, "y": 0.5},
        unit="um",
    )
    a = rand((3, 40, 40), "uint16")
    tif = export_pyramid(a, tmp_path / "m.ome.tif", metadata=md, tile_size=16).image
    root = ome_root(tif)
    assert root.tag == f"{OME}OME"  # default namespace
    image = root.find(f"{OME}Image")
    assert image.get("ID") == "Image:0" and image.get("Name") == md.name
    pix = image.find(f"{OME}Pixels")
    assert pix.get("ID") == "Pixels:0" and pix.get("Type") == "uint16"
    assert pix.get("PhysicalSizeXUnit") == "\u00b5m" == pix.get("PhysicalSizeYUnit")
    assert float(pix.get("PhysicalSizeX")) == 0.325 and float(pix.get("PhysicalSizeY")) == 0.5
    chans = pix.findall(f"{OME}Channel")
    assert [ch.get("Name") for ch in chans] == names
    assert [ch.get("ID") for ch in chans] == ["Channel:0:0", "Channel:0:1", "Channel:0:2"]
    # signed 32-bit RGBA: red -> 0xFF0000FF
    assert int(chans[0].get("Color")) == 0xFF0000FF - 2**32
    assert int(chans[1].get("Color")) == 0x00FF00FF
    assert chans[2].get("Color") is None
    td = pix.find(f"{OME}TiffData")
    assert td.get("PlaneCount") == "3"
    with tifffile.TiffFile(tif) as tf:  # only IFD 0 carries OME-XML
        for page in tf.pages[1:]:
            assert "ImageDescription" not in page.tags


def test_keyword_arguments_override_metadata(tmp_path):
    md = ImageMetadata(axes="CYX", name="old", channel_names=["x", "y"])
    a = rand((2, 20, 20), "uint8")
    tif = export_pyramid(
        a,
        tmp_path / "k.ome.tif",
        metadata=md,
        name="new",
        channel_names=["p", "q"],
        physical_sizes={"x": 2, "y": 2},
        unit="nm",
    ).image
    pix = ome_root(tif).find(f"{OME}Image/{OME}Pixels")
    assert ome_root(tif).find(f"{OME}Image").get("Name") == "new"
    assert [c.get("Name") for c in pix.findall(f"{OME}Channel")] == ["p", "q"]
    assert pix.get("PhysicalSizeXUnit") == "nm"
    assert md.name == "old"  # the caller's metadata is not modified


def test_wrong_channel_name_count(tmp_path):
    with pytest.raises(NapariVivError, match="channel names"):
        export_pyramid(np.zeros((3, 20, 20), np.uint8), tmp_path / "x.ome.tif", channel_names=["a", "b"])
    assert list(tmp_path.iterdir()) == []


class Spy:
    """An array-like that records every read."""

    def __init__(self, arr):
        self.arr, self.shape, self.dtype, self.ndim = arr, arr.shape, arr.dtype, arr.ndim
        self.reads = []

    def __getitem__(self, idx):
        out = self.arr[idx]
        self.reads.append((idx, out.nbytes))
        return out


def test_source_is_read_once_in_bands(tmp_path):
    a = rand((3, 300, 170), "uint16")
    spy = Spy(a)
    export_pyramid(spy, tmp_path / "spy.ome.tif", tile_size=64)
    assert sum(n for _, n in spy.reads) == a.nbytes  # every byte exactly once...
    covered = np.zeros(a.shape, int)
    for idx, _ in spy.reads:
        covered[idx] += 1
    assert (covered == 1).all()  # ...and no pixel twice
    for _idx, n in spy.reads:  # never more than one tile row of one plane
        assert n <= 64 * a.shape[2] * a.itemsize


def test_multiscale_input_reuses_matching_levels(tmp_path):
    a = rand((2, 200, 300), "uint16")
    given1 = np.full((2, 100, 150), 7, np.uint16)  # exactly floor(/2): reused as is
    wrong2 = np.full((2, 49, 75), 9, np.uint16)  # not floor(100/2): ignored
    spy0, spy1, spy2 = Spy(a), Spy(given1), Spy(wrong2)
    tif = export_pyramid([spy0, spy1, spy2], tmp_path / "ms.ome.tif", tile_size=32).image
    pages = read_all(tif)
    for c in range(2):
        np.testing.assert_array_equal(pages[c, 0], a[c])
        np.testing.assert_array_equal(pages[c, 1], given1[c])
        np.testing.assert_array_equal(pages[c, 2], mean2(given1[c]))  # from level 1
    assert sum(n for _, n in spy1.reads) == given1.nbytes
    assert spy2.reads == []
    # level 0 was read once even though level 1 was not derived from it
    assert sum(n for _, n in spy0.reads) == a.nbytes


def test_progress_and_cancel(tmp_path):
    from napari_viv.write.plan import plan_pyramid

    a = rand((2, 200, 200), "uint8")
    calls = []
    export_pyramid(a, tmp_path / "p.ome.tif", tile_size=32, progress=lambda d, t: calls.append((d, t)))
    plan = plan_pyramid(a.shape, a.dtype, tile_size=32)
    # independent count: ceil-divided tiles of 200, 100, 50, 25 per plane
    expected = 2 * sum((-(-s // 32)) ** 2 for s in (200, 100, 50, 25))
    assert plan.ntiles == expected
    assert calls[-1] == (expected, expected)
    assert all(t == expected for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(calls) >= 7  # at least once per level-0 tile row

    polls = []

    def cancel():
        polls.append(1)
        return len(polls) > 3

    with pytest.raises(Cancelled):
        export_pyramid(a, tmp_path / "c.ome.tif", tile_size=32, cancel=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.offsets.json", "p.ome.tif"]


def test_output_names(tmp_path):
    assert output_path(tmp_path / "a.ome.tiff") == tmp_path / "a.ome.tiff"
    assert output_path(tmp_path / "a.OME.TIF") == tmp_path / "a.ome.tif"
    assert output_path(tmp_path / "a.tif") == tmp_path / "a.ome.tif"
    assert output_path(tmp_path / "a.TIFF") == tmp_path / "a.ome.tiff"
    assert output_path(tmp_path / "a") == tmp_path / "a.ome.tif"
    assert output_path(tmp_path / "a.b.png") == tmp_path / "a.b.png.ome.tif"
    got = export_pyramid(np.zeros((20, 20), np.uint8), tmp_path / "Mixed.OME.TIFF")
    assert [got.image, got.offsets] == [tmp_path / "Mixed.ome.tiff", tmp_path / "Mixed.offsets.json"]
    assert all(p.is_file() for p in got.paths)


def test_dask_and_zarr_sources(tmp_path):
    da = pytest.importorskip("dask.array")
    zarr = pytest.importorskip("zarr")
    a = rand((2, 130, 90), "uint16")
    d = da.from_array(a, chunks=(1, 50, 50))
    tif = export_pyramid(d, tmp_path / "dask.ome.tif", tile_size=32).image
    np.testing.assert_array_equal(tifffile.imread(tif), a)
    z = zarr.open_array(tmp_path / "z.zarr", mode="w", shape=a.shape, dtype=a.dtype, chunks=(1, 64, 64))
    z[:] = a
    tif = export_pyramid(z, tmp_path / "zarr.ome.tif", tile_size=32).image
    np.testing.assert_array_equal(tifffile.imread(tif), a)


def test_spill_to_scratch_file(tmp_path):
    a = rand((2, 300, 300), "uint16")
    tif = export_pyramid(
        a, tmp_path / "s.ome.tif", tile_size=32, compression="none", tuning=Tuning(spill_threshold=1000)
    ).image  # force lower levels to disk
    pages = read_all(tif)
    for c in range(2):
        ref = a[c]
        for lvl in range(4):
            np.testing.assert_array_equal(pages[c, lvl], ref)
            ref = mean2(ref)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.offsets.json", "s.ome.tif"]


@pytest.mark.parametrize("compression", ["zlib", "zlib:6", "lzw", "none"])
def test_codecs_and_tags(tmp_path, compression):
    a = rand((2, 100, 100), "uint16")
    f = rand((1, 100, 100), "float64")
    for arr, pred in ((a, 2), (f, 3)):
        tif = export_pyramid(
            arr, tmp_path / f"{arr.dtype}.ome.tif", tile_size=32, compression=compression, overwrite=True
        ).image
        with tifffile.TiffFile(tif) as tf:
            p = tf.pages[0]
            code = {"zlib": 8, "zlib:6": 8, "lzw": 5, "none": 1}[compression]
            assert p.compression == code
            assert p.predictor == (1 if compression == "none" else pred)
            assert p.tilewidth == p.tilelength == 32
            np.testing.assert_array_equal(tf.series[0].asarray(), arr.squeeze())


def test_refused_codecs(tmp_path):
    for bad in ("zstd", "jpeg2000", "webp"):
        with pytest.raises(NapariVivError, match="Viv"):
            export_pyramid(np.zeros((20, 20), np.uint8), tmp_path / "x.ome.tif", compression=bad)
    with pytest.raises(NapariVivError, match="RGB"):
        export_pyramid(np.zeros((20, 20, 3), np.uint8), tmp_path / "x.ome.tif", compression="lzw")
    assert list(tmp_path.iterdir()) == []


def test_chunked_sources_are_decoded_once(tmp_path):
    da = pytest.importorskip("dask.array")
    a = rand((2, 300, 170), "uint16")
    spy = Spy(a)
    # 128-row chunks, tiles of 32: a whole chunk row is read at once, so each
    # chunk of the source is fetched exactly once (not once per tile row)
    d = da.from_array(spy, chunks=(1, 128, 100), fancy=False, lock=False, meta=np.empty((0, 0, 0), a.dtype))
    tif = export_pyramid(d, tmp_path / "chunks.ome.tif", tile_size=32).image
    assert sum(n for _, n in spy.reads) == a.nbytes
    pages = read_all(tif)
    for c in range(2):
        np.testing.assert_array_equal(pages[c, 0], a[c])
        np.testing.assert_array_equal(pages[c, 1], mean2(a[c]))


class MultiScaleData(Sequence):
    """Stand-in for napari's class of the same name: a sequence of levels
    that also has an array-like shape and dtype (those of level 0)."""

    def __init__(self, levels):
        self._data = levels
        self.shape, self.dtype = levels[0].shape, levels[0].dtype

    def __getitem__(self, key):
        return self._data[key]

    def __len__(self):
        return len(self._data)


def test_napari_multiscale_data_is_a_list_of_levels(tmp_path):
    a = rand((2, 120, 90), "uint8")
    given = a[:, ::2, ::2]  # nearest-sampled level 1, different from the mean
    tif = export_pyramid(MultiScaleData([a, given]), tmp_path / "napari.ome.tif", tile_size=16).image
    pages = read_all(tif)
    np.testing.assert_array_equal(pages[0, 0], a[0])
    np.testing.assert_array_equal(pages[1, 1], given[1])
