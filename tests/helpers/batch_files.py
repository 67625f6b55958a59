"""Small mixed inputs for the batch tests, and checks of what a batch wrote."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tifffile

from helpers.source_files import ramp
from helpers.vivjs import plane_digest


def make_mixed_inputs(folder: Path) -> dict[str, tuple[Path, np.ndarray | None]]:
    """OME-TIFF, ImageJ TIFF, plain TIFF, .npy and one truncated TIFF in ``folder``.

    Returns name -> (path, the level-0 pixels a conversion must keep), with
    None for the corrupt file. Two inputs share the stem ``slide`` (in
    different subfolders) so the outputs must be renamed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "caseA").mkdir(exist_ok=True)
    (folder / "caseB").mkdir(exist_ok=True)
    files = {}

    ome = ramp((3, 300, 260), "uint16", seed=1)
    p = folder / "caseA" / "slide.ome.tif"
    tifffile.imwrite(p, ome, tile=(128, 128), compression="zlib", metadata={
        "axes": "CYX", "Channel": {"Name": ["DAPI", "CD8", "PanCK"]},
        "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5})
    files["ome"] = (p, ome)

    ij = ramp((2, 200, 330), "uint16", seed=2)
    p = folder / "caseB" / "slide.tif"
    tifffile.imwrite(p, ij, imagej=True, metadata={"axes": "CYX"})
    files["imagej"] = (p, ij)

    plain = ramp((210, 190), "uint8", seed=3)
    p = folder / "plain.tiff"
    tifffile.imwrite(p, plain)
    files["plain"] = (p, plain)

    npy = ramp((2, 150, 170), "uint16", seed=4)
    p = folder / "stack.npy"
    np.save(p, npy)
    files["npy"] = (p, npy)

    p = folder / "broken.tif"
    tifffile.imwrite(p, ramp((600, 600), "uint16", seed=5), tile=(128, 128))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])  # truncated: half the tiles are gone
    files["corrupt"] = (p, None)
    return files


def written_names(folder: Path) -> set[str]:
    """Every entry in ``folder`` (hidden ones too)."""
    return {p.name for p in folder.iterdir()}


def tifffile_levels(path):
    """[level][plane] arrays read by tifffile (SubIFDs by offset), and the tile size."""
    with tifffile.TiffFile(path) as tif:
        planes = []
        for i, page in enumerate(tif.pages):
            per = [page.asarray()]
            for lvl, off in enumerate(page.subifds or (), start=1):
                tif.filehandle.seek(off)
                per.append(tifffile.TiffPage(tif, index=(i, lvl)).asarray())
            planes.append(per)
        tile = tif.pages[0].tilewidth
    nlev = len(planes[0])
    return [[planes[p][lvl] for p in range(len(planes))] for lvl in range(nlev)], tile


def assert_viv_reads_it(viv, tif: Path, level0=None) -> dict:
    """The real Viv loader opens ``tif`` with and without its offsets file and every
    level and plane hashes the same as tifffile's pixels; level 0 equals
    ``level0`` (channels first) when given. Returns the report (with offsets)."""
    from napari_viv import naming

    offsets = naming.offsets_path(tif)
    levels, tile = tifffile_levels(tif)
    assert json.loads(offsets.read_text()) == [p.offset for p in tifffile.TiffFile(tif).pages]
    if level0 is not None:
        got = np.stack(levels[0]) if level0.ndim == 3 else levels[0][0]
        np.testing.assert_array_equal(got, level0)
    h, w = levels[0][0].shape[:2]
    reports = [viv(tif, offsets=offsets), viv(tif)]
    assert reports[0]["offsetsUsed"] == len(levels[0])
    assert reports[1]["offsetsUsed"] == 0
    for rep in reports:
        (img,) = rep["images"]
        assert img["tileSize"] == tile
        assert len(img["levels"]) == len(levels)
        for lvl, (vlev, planes) in enumerate(zip(img["levels"], levels)):
            assert vlev["shape"][-2:] == [h >> lvl, w >> lvl]
            assert len(vlev["planes"]) == len(planes)
            for vp, arr in zip(vlev["planes"], planes):
                assert vp["sha256"] == plane_digest(arr)
    return reports[0]
