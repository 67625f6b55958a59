"""Streaming export: open_image(streaming=True) levels, column-block reads,
read_shape, producer errors and cancel, and a dask-free `napari-viv convert`."""

from __future__ import annotations

import math
import subprocess
import sys
import threading

import numpy as np
import pytest
import tifffile
from helpers.testdata import rand

import napari_viv.write.stream as stream
from napari_viv.errors import Cancelled, NapariVivError
from napari_viv.read import open_image
from napari_viv.write.layout import resolve_layout
from napari_viv.write.stream import Tuning
from napari_viv.write.writer import export_pyramid

#: Blocks of 64 columns: small images read, halve and encode in several blocks.
NARROW = Tuning(columns=64)


def mean2x2(a):
    """Independent reference for one level: floor sizes; ints round half up."""
    h, w = a.shape[0] // 2, a.shape[1] // 2
    if np.issubdtype(a.dtype, np.integer):
        b = a[: 2 * h, : 2 * w].astype(np.int64)
        s = b[0::2, 0::2] + b[1::2, 0::2] + b[0::2, 1::2] + b[1::2, 1::2]
        return ((s + 2) // 4).astype(a.dtype)
    b = a[: 2 * h, : 2 * w].astype(np.float64)
    s = b[0::2, 0::2] + b[1::2, 0::2] + b[0::2, 1::2] + b[1::2, 1::2]
    return (s / 4).astype(a.dtype)


def written_levels(path):
    with tifffile.TiffFile(path) as tif:
        return [lvl.asarray() for lvl in tif.series[0].levels]


# --- 1. streaming levels read like the dask ones ----------------------------------


def _npy(path, data):
    np.save(path, data)


def _tiff(**kw):
    return lambda path, data: tifffile.imwrite(path, data, **kw)


def _tiled_pyramid(path, data):
    kw = {"tile": (256, 256), "compression": "zlib", "photometric": "minisblack"}
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        tw.write(data, subifds=1, metadata={"axes": "CYX"}, **kw)
        tw.write(data[:, ::2, ::2], subfiletype=1, **kw)


def _zarr(path, data):
    import zarr

    z = zarr.create_array(str(path), shape=data.shape, chunks=(1, 1, 32, 48), dtype=data.dtype)
    z[:] = data


# name: (file name, data, writer, expected axes, class under the streaming view)
CASES = {
    "npy_yx": ("a.npy", rand((300, 257), "uint16"), _npy, "YX", "MemmapWindow"),
    "npy_cyx": ("b.npy", rand((3, 120, 90), "float32"), _npy, "CYX", "MemmapWindow"),
    "npy_rgb": ("c.npy", rand((70, 90, 3), "uint8"), _npy, "YXS", "MemmapWindow"),
    "tiled_ome": ("t.ome.tif", rand((2, 600, 700), "uint16"), _tiled_pyramid, "CYX", "Array"),
    "tall_strips": (
        "s.tif",
        rand((2, 2100, 300), "uint16"),
        _tiff(compression="zlib", rowsperstrip=1500, photometric="minisblack"),
        "TYX",
        "StripCache",
    ),  # a page stack without axes is a time series
    "contiguous": ("m.tif", rand((2, 300, 257), "int16"), _tiff(photometric="minisblack"), "TYX", "MemmapWindow"),
    "imagej_zcyx": (
        "ij.tif",
        rand((1, 3, 2, 40, 50), "uint16"),
        _tiff(imagej=True, compression="zlib", metadata={"axes": "TZCYX"}),
        "CZYX",
        "Array",
    ),
    "zyxs_singleton": (
        "q.tif",
        rand((1, 60, 70, 2), "uint16"),
        _tiff(compression="zlib", photometric="minisblack", planarconfig="contig", metadata={"axes": "ZYXS"}),
        "CYX",
        "Array",
    ),
    "zyxs_memmap": (
        "r.tif",
        rand((1, 60, 70, 2), "uint16"),
        _tiff(photometric="minisblack", planarconfig="contig", metadata={"axes": "ZYXS"}),
        "CYX",
        "MemmapWindow",
    ),
    "zarr_czyx": ("z.zarr", rand((3, 1, 90, 130), "uint16"), _zarr, "CYX", "Array"),
}
# what the file holds, in canonical axis order
CANONICAL = {
    "imagej_zcyx": lambda d: d[0].transpose(1, 0, 2, 3),
    "zyxs_singleton": lambda d: d[0].transpose(2, 0, 1),
    "zyxs_memmap": lambda d: d[0].transpose(2, 0, 1),
    "zarr_czyx": lambda d: d[:, 0],
}
KEYS = [
    (-1,),
    (np.int64(1),),
    (0, slice(2, 50)),
    (slice(None), -2),
    (-1, slice(-7, None)),
    (slice(1, None), slice(None, -3)),
    (slice(None, None, 2), slice(3, 40, 5)),
]


@pytest.mark.parametrize("case", sorted(CASES))
def test_streaming_levels_match_dask_levels(tmp_path, case):
    fname, data, write, axes, base = CASES[case]
    path = tmp_path / fname
    write(path, data)
    expected = CANONICAL.get(case, lambda d: d)(data)
    lazy, streamed = open_image(path), open_image(path, streaming=True)
    assert streamed.metadata.axes == lazy.metadata.axes == axes
    assert len(streamed.levels) == len(lazy.levels)
    for i, (d, s) in enumerate(zip(lazy.levels, streamed.levels, strict=True)):
        assert hasattr(d, "dask") and not hasattr(s, "dask")
        assert not type(s).__module__.startswith("dask")
        assert type(getattr(s, "_base", None)).__name__ == base  # the intended reader
        assert (s.shape, s.dtype, s.ndim, s.nbytes) == (d.shape, d.dtype, d.ndim, d.nbytes)
        whole = np.asarray(s[:])
        assert whole.dtype == d.dtype and whole.shape == d.shape
        np.testing.assert_array_equal(whole, d.compute())
        if i == 0:
            np.testing.assert_array_equal(whole, expected)
        for key in KEYS:
            np.testing.assert_array_equal(s[key], d[key].compute(), err_msg=str(key))
        last = tuple(-1 for _ in range(s.ndim))  # every axis an int: one pixel
        assert np.asarray(s[last]).shape == () and s[last] == d[last].compute()


def test_streaming_view_refuses_fancy_keys(tmp_path):
    np.save(tmp_path / "a.npy", rand((3, 40, 50), "uint16"))
    s = open_image(tmp_path / "a.npy", streaming=True).levels[0]
    for key in ([0, 1], (Ellipsis, 0), (0, 0, 0, 0)):
        with pytest.raises(IndexError):
            s[key]
    with pytest.raises(IndexError):
        s[3]  # out of bounds, as for numpy
    np.testing.assert_array_equal(s[-3], np.load(tmp_path / "a.npy")[0])


def test_strip_cache_empty_reversed_slice(tmp_path):
    data = rand((2, 3000, 70), "uint16")
    tifffile.imwrite(tmp_path / "s.tif", data, compression="zlib", rowsperstrip=1500, photometric="minisblack")
    s = open_image(tmp_path / "s.tif", streaming=True).levels[0]
    assert s[0, 1600:200].shape == data[0, 1600:200].shape == (0, 70)


# --- 2. exports read in column blocks --------------------------------------------


class Spy:
    """An array-like recording the shape of every read."""

    def __init__(self, arr, chunks=None):
        self.arr, self.shape, self.dtype, self.ndim = arr, arr.shape, arr.dtype, arr.ndim
        if chunks is not None:
            self.chunks = chunks
        self.reads = []
        self.threads = []  # the name of the thread of every read

    def __getitem__(self, key):
        out = self.arr[key]
        self.reads.append(out.shape)
        self.threads.append(threading.current_thread().name.rsplit("_", 1)[0])
        return out


def _check_pyramid(path, canon, rgb):
    """Every level of every plane against 2x2 means of the level above."""
    got = written_levels(path)
    planes = [canon] if rgb else list(canon.reshape((-1,) + canon.shape[-2:]))
    for p, plane in enumerate(planes):
        ref = plane
        for lvl, level in enumerate(got):
            page = level if rgb else level.reshape((-1,) + level.shape[-2:])[p]
            assert page.shape == ref.shape, (p, lvl)
            np.testing.assert_array_equal(page, ref, err_msg=f"plane {p} level {lvl}")
            ref = np.stack([mean2x2(ref[..., s]) for s in range(3)], -1) if rgb else mean2x2(ref)
    return got


EXPORTS = {  # name: (data, axes or None, chunks for the Spy)
    "u16_channels": (rand((3, 151, 203), "uint16"), None, None),
    "u8_rgb": (rand((97, 211, 3), "uint8"), None, None),
    "f32_zyx": (rand((2, 77, 165), "float32"), "ZYX", None),
    "i16_odd": (rand((131, 99), "int16"), None, None),
    "x_chunks_48": (rand((2, 90, 250), "uint16"), None, (1, 40, 48)),  # lcm 96 > 64 columns
    "row_chunks_64": (rand((2, 150, 203), "uint16"), None, (1, 64, 203)),  # whole chunk rows
}


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_column_block_export_is_exact(tmp_path, name):
    data, axes, chunks = EXPORTS[name]
    spy = Spy(data, chunks)
    tif = export_pyramid(spy, tmp_path / "x.ome.tif", tuning=NARROW, axes=axes, tile_size=32).image
    rgb = data.shape[-1] == 3
    got = _check_pyramid(tif, data, rgb)
    assert len(got) >= 3
    width = data.shape[1] if rgb else data.shape[-1]
    cols = [shape[1] if rgb else shape[-1] for shape in spy.reads]
    rows = [shape[0] if rgb else shape[-2] for shape in spy.reads]
    if chunks is None:  # one tile row by 64 columns (the last block narrower)
        assert max(cols) == 64 and max(rows) == 32 and width % 64 != 0
        assert sorted(set(cols)) == [width % 64, 64]
    elif chunks[-1] == 48:
        assert max(cols) == 96 and max(rows) == 32
    else:
        assert set(cols) == {width} and max(rows) == 64


def test_the_next_block_is_read_while_this_one_is_halved_and_encoded(tmp_path):
    data = rand((2, 150, 203), "uint16")
    spy = Spy(data)
    tif = export_pyramid(spy, tmp_path / "p.ome.tif", tuning=NARROW, tile_size=32).image
    _check_pyramid(tif, data, rgb=False)
    per_plane = len(spy.reads) // 2
    assert per_plane > 2 and len(spy.reads) == 2 * per_plane
    # each plane's first block is read by the producer, every later one ahead of
    # time on the prefetch thread (one block in flight: memory stays flat)
    assert spy.threads == (["napari-viv-read"] + ["napari-viv-prefetch"] * (per_plane - 1)) * 2


def test_multiscale_input_reuses_level_one_in_column_blocks(tmp_path):
    a = rand((2, 150, 203), "uint16")
    given = rand((2, 75, 101), "uint16", seed=1)  # exactly floor(/2): copied, not recomputed
    spies = [Spy(a), Spy(given)]
    tif = export_pyramid(spies, tmp_path / "ms.ome.tif", tuning=NARROW, tile_size=32).image
    got = written_levels(tif)
    assert [lv.shape for lv in got] == [(2, 150, 203), (2, 75, 101), (2, 37, 50), (2, 18, 25)]
    np.testing.assert_array_equal(got[0], a)
    for c in range(2):
        ref = given[c]
        for level in got[1:]:
            np.testing.assert_array_equal(level[c], ref)
            ref = mean2x2(ref)
    assert max(s[-1] for s in spies[1].reads) == 64  # level 1 also read in blocks
    assert sum(math.prod(s) for s in spies[1].reads) == given.size


# --- 3. read_shape ---------------------------------------------------------------


def _shape(src, tile, **columns):
    layout = resolve_layout(src.shape, src.dtype)
    width = src.shape[-1]
    return stream.read_shape(src, layout, tile, width, width * np.dtype(src.dtype).itemsize, **columns)


def test_read_shape_numpy():
    a = np.zeros((2, 1000, 10000), np.uint16)
    assert _shape(a, 512) == (512, 4096)
    assert _shape(a, 1024) == (1024, 4096)
    assert _shape(a[:, :, :300], 512) == (512, 300)  # narrower than a block: full width
    assert _shape(a, 256, columns=1000) == (256, 768)  # the largest multiple of 256 up to 1000


def test_read_shape_dask():
    da = pytest.importorskip("dask.array")
    rows = da.zeros((2, 4096, 3000), chunks=(1, 1024, 3000), dtype=np.uint16)
    assert _shape(rows, 512) == (1024, 3000)  # a whole chunk row
    squares = da.zeros((2, 2048, 10000), chunks=(1, 512, 512), dtype=np.uint16)
    assert _shape(squares, 512) == (512, 4096)


def test_read_shape_zarr():
    import zarr

    def z(width):
        return zarr.create_array(
            zarr.storage.MemoryStore(), shape=(2, 2048, width), chunks=(1, 512, 768), dtype="uint16"
        )

    rows, cols = _shape(z(10000), 512)
    assert rows == 512 and cols % math.lcm(768, 512) == 0 and cols <= 4096
    assert cols == 3072  # 2 x 1536: every source chunk is read whole, once
    assert _shape(z(1200), 512) == (512, 1200)  # less than one lcm block: full width


# --- 4. errors and cancel in the producer ------------------------------------


class Failing:
    """A source whose read of some rows (and planes) raises."""

    def __init__(self, arr, bad_row, bad_plane=None, before=None):
        self.arr, self.shape, self.dtype, self.ndim = arr, arr.shape, arr.dtype, arr.ndim
        self.bad_row, self.bad_plane, self.before = bad_row, bad_plane, before

    def __getitem__(self, key):
        plane_ok = self.bad_plane is None or key[0] == self.bad_plane
        if plane_ok and key[-2].start == self.bad_row:
            if self.before is not None:
                self.before()
            raise ValueError("disk on fire")
        return self.arr[key]


def test_read_error_names_rows_and_leaves_nothing(tmp_path):
    src = Failing(rand((150, 203), "uint16"), bad_row=64)
    with pytest.raises(NapariVivError, match=r"reading rows 64-96 failed: disk on fire") as err:
        export_pyramid(src, tmp_path / "e.ome.tif", tuning=NARROW, tile_size=32)
    assert isinstance(err.value.__cause__, ValueError)
    assert list(tmp_path.iterdir()) == []


def test_cancel_in_producer_leaves_nothing(tmp_path):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(Cancelled):
        export_pyramid(rand((2, 300, 300), "uint8"), tmp_path / "c.ome.tif", tile_size=32, cancel=cancel)
    assert len(calls) > 5
    assert list(tmp_path.iterdir()) == []


def test_error_in_a_later_plane_leaves_nothing(tmp_path):
    planes, per_plane = 6, 9 + 4 + 1  # 96x96 tiles of 32: 3x3, 2x2, 1x1 per plane
    reported, caught_up = [0], threading.Event()

    def progress(done, total):
        reported[0] = done
        if done >= 4 * per_plane:
            caught_up.set()

    def wait_for_writer():  # planes 0-3 handed to tifffile before plane 4 fails
        assert caught_up.wait(30)

    src = Failing(rand((planes, 96, 96), "uint8"), bad_row=0, bad_plane=4, before=wait_for_writer)
    with pytest.raises(NapariVivError, match=r"reading rows 0-32 at C=4 failed"):
        export_pyramid(src, tmp_path / "late.ome.tif", tile_size=32, progress=progress)
    assert caught_up.is_set() and reported[0] >= 4 * per_plane
    assert list(tmp_path.iterdir()) == []


# --- 5. convert does not import dask ----------------------------------------------


def test_convert_streams_without_dask(tmp_path):
    data = rand((2, 300, 334), "uint16")  # even: the input's level 1 is exactly half
    src = tmp_path / "in.ome.tif"
    _tiled_pyramid(src, data)
    out = tmp_path / "out.ome.tif"
    code = (
        "import sys\n"
        "from napari_viv.cli import main\n"
        f"rc = main(['convert', {str(src)!r}, {str(out)!r}, '--tile-size', '64', '--no-progress'])\n"
        "assert rc == 0, rc\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'dask')\n"
        "assert not loaded, loaded\n"
        "assert 'zarr' in sys.modules\n"  # the tiled input really went through Zarr
        "print('ok')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("ok")
    got = written_levels(out)
    np.testing.assert_array_equal(got[0], data)
    # level 1 of the input (data[:, ::2, ::2]) is exactly half: it is copied
    np.testing.assert_array_equal(got[1], data[:, ::2, ::2])
    for c in range(2):
        np.testing.assert_array_equal(got[2][c], mean2x2(data[c, ::2, ::2]))


# --- 6. raw memory maps given to the writer ----------------------------------------


def test_memmap_window_integer_keys(tmp_path):
    from napari_viv.lazy import MemmapWindow

    data = rand((3, 70, 45), "uint16")
    np.save(tmp_path / "w.npy", data)
    window = MemmapWindow(np.load(tmp_path / "w.npy", mmap_mode="r"))
    for key in [
        (1, slice(2, 9), slice(None)),
        (-1, 5, slice(1, 7)),
        (0, -1, -1),
        (slice(0, 2), slice(None), 3),
        (np.int64(2), slice(60, 70), slice(40, 45)),
    ]:
        np.testing.assert_array_equal(window[key], data[key])
    for key in [(3, 0, 0), (-4, 0, 0), (0, 70, slice(None))]:
        with pytest.raises(IndexError):
            window[key]


def test_export_of_a_raw_memmap_is_exact(tmp_path):
    """A numpy memmap handed to export_pyramid is read through MemmapWindow,
    in 2 MB pieces (1000 bytes here, so that a small file has several)."""
    data = rand((2, 150, 97), "uint16")
    np.save(tmp_path / "m.npy", data)
    mm = np.load(tmp_path / "m.npy", mmap_mode="r")
    tif = export_pyramid(mm, tmp_path / "m.ome.tif", tuning=Tuning(memmap_span=1000), tile_size=32).image
    levels = written_levels(tif)
    ref = data
    for level in levels:
        np.testing.assert_array_equal(level, ref)
        ref = np.stack([mean2x2(p) for p in ref])
