"""Sinks: the stream feeds any TileSink without knowing what it is.

An in-memory, unordered sink (the shape a Zarr sink takes: tiles filed by
plane, level, row and column) receives exactly the tiles the TIFF sink writes,
each as soon as it is encoded, with nothing kept in a TileStore.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
import tifffile
from helpers.testdata import rand

from napari_viv.errors import NapariVivError
from napari_viv.write.plan import ExportOptions, plan_export
from napari_viv.write.sink import TileSink
from napari_viv.write.stream import Tuning, run_stream
from napari_viv.write.tiffsink import TiffSink
from napari_viv.write.writer import export_pyramid


class MemorySink(TileSink):
    """Tiles in a dict keyed (plane, level, row, col); any order."""

    ordered = False

    def __init__(self, plan):
        super().__init__(plan)
        self.tiles: dict[tuple[int, int, int, int], bytes] = {}
        self.order: list[tuple[int, int, int, int]] = []  # keys as they came
        self.scratches = 0  # scratch files asked for
        self.committed = False

    def __exit__(self, *exc):
        if not self.committed:
            self.tiles.clear()

    def scratch(self):
        self.scratches += 1
        return tempfile.TemporaryFile()

    def put_tile(self, plane, level, row, col, data):
        assert (plane, level, row, col) not in self.tiles
        self.tiles[plane, level, row, col] = bytes(data)
        self.order.append((plane, level, row, col))

    def commit(self, view=None):
        self.committed = True

    @property
    def nbytes(self):
        return sum(map(len, self.tiles.values()))

    @property
    def paths(self):
        return {"image": None, "offsets": None, "view": None}


def _tiff_tiles(path) -> dict[tuple[int, int, int, int], bytes]:
    """Every stored tile of a pyramidal TIFF, keyed like MemorySink's."""
    out = {}
    with tifffile.TiffFile(path) as tif:
        for plane, page in enumerate(tif.pages):
            levels = [page]
            for k, off in enumerate(page.subifds or (), start=1):
                tif.filehandle.seek(off)  # a TiffPage is parsed at the file position
                levels.append(tifffile.TiffPage(tif, index=(plane, k)))
            for level, p in enumerate(levels):
                cols = -(-p.imagewidth // p.tilewidth)
                segments = tif.filehandle.read_segments(p.dataoffsets, p.databytecounts, sort=False)
                for index, (data, _) in enumerate(segments):
                    out[plane, level, index // cols, index % cols] = data
    return out


@pytest.mark.parametrize("compression", ["zlib", "none"])
def test_an_unordered_sink_gets_the_tiles_the_tiff_sink_writes(tmp_path, compression):
    a = rand((3, 150, 203), "uint16")
    tuning = Tuning(columns=64, spill_threshold=2000)  # blocks stream, lower levels spill
    result = export_pyramid(a, tmp_path / "t", tile_size=32, compression=compression, tuning=tuning)
    plan = plan_export([a], ExportOptions(tile_size=32, compression=compression))
    with MemorySink(plan) as sink:
        run_stream(plan, [a], sink, workers=2, tuning=tuning)
        sink.commit()
    expected = _tiff_tiles(result.image)
    assert len(expected) == plan.ntiles  # independent count: every tile of every level
    assert sink.tiles == expected


def test_an_unordered_sink_takes_every_tile_as_it_comes():
    a = rand((2, 150, 203), "uint16")
    plan = plan_export([a], ExportOptions(tile_size=32))
    progress = []
    with MemorySink(plan) as sink:
        tuning = Tuning(columns=64, spill_threshold=0)  # a TileStore would spill every tile
        run_stream(plan, [a], sink, workers=2, tuning=tuning, progress=lambda done, total: progress.append(done))
        sink.commit()
    assert sink.scratches == 0 and len(sink.tiles) == plan.ntiles
    planes = [key[0] for key in sink.order]
    assert planes == sorted(planes)  # plane by plane
    for plane in range(2):
        mine = [key[1:] for key in sink.order if key[0] == plane]
        for level in range(plan.nlevels):
            rows, cols = plan.tiles_in(level)
            assert [(r, c) for lv, r, c in mine if lv == level] == [(r, c) for r in range(rows) for c in range(cols)]
        first_lower = next(i for i, key in enumerate(mine) if key[0] > 0)
        last_level0 = max(i for i, key in enumerate(mine) if key[0] == 0)
        assert first_lower < last_level0  # level 1 goes out while level 0 is still coming
    assert progress == sorted(progress) and progress[-1] == plan.ntiles


def test_tiff_sink_leaves_nothing_without_commit(tmp_path):
    a = rand((100, 100), "uint8")
    plan = plan_export([a], ExportOptions(tile_size=32))
    with TiffSink(plan, tmp_path / "x.ome.tif", b"<OME/>") as sink:
        run_stream(plan, [a], sink, workers=1)
    assert list(tmp_path.iterdir()) == []
    assert sink.paths["view"] is None


def test_ordered_sinks_refuse_single_tiles(tmp_path):
    plan = plan_export([np.zeros((64, 64), np.uint8)], ExportOptions(tile_size=32))
    with TiffSink(plan, tmp_path / "y.ome.tif", b"<OME/>") as sink, pytest.raises(NotImplementedError):
        sink.put_tile(0, 0, 0, 0, b"")
    assert list(tmp_path.iterdir()) == []


def test_plan_is_built_once_with_reuse_and_refusals():
    a = np.zeros((2, 200, 300), np.uint16)
    half = np.zeros((2, 100, 150), np.uint16)
    odd = np.zeros((2, 49, 75), np.uint16)
    plan = plan_export([a, half, odd], ExportOptions(tile_size=32, downsample="nearest"), subject="cells")
    assert plan.reused == {0: 0, 1: 1}  # level 1 is read; 49x75 is no pyramid level
    assert plan.layout.source_axes == "CYX" and plan.downsample == "nearest"
    assert (plan.codec.name, plan.codec.predictor) == ("zlib", 2)
    with pytest.raises(NapariVivError) as err:
        plan_export([a], ExportOptions(downsample="cubic"), subject="cells")
    assert err.value.subject == "cells" and "downsample" in err.value.problem
    with pytest.raises(NapariVivError) as err:
        plan_export([a], ExportOptions(axes="ZYX", compression="jpeg"), subject="cells")
    assert err.value.subject == "cells" and "8-bit" in err.value.problem
