"""Small mixed inputs for the batch tests, and checks of what a batch wrote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from helpers.source_files import ramp
from helpers.vivjs import assert_viv_matches_tifffile, tiff_levels


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
    tifffile.imwrite(
        p,
        ome,
        tile=(128, 128),
        compression="zlib",
        metadata={
            "axes": "CYX",
            "Channel": {"Name": ["DAPI", "CD8", "PanCK"]},
            "PhysicalSizeX": 0.5,
            "PhysicalSizeY": 0.5,
        },
    )
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


def assert_viv_reads_it(viv, tif: Path, level0=None) -> dict:
    """The real Viv loader shows ``tif`` exactly as tifffile reads it, with and
    without its offsets file (see assert_viv_matches_tifffile); level 0 equals
    ``level0`` (channels first) when given. Returns the report (with offsets)."""
    from napari_viv import naming

    if level0 is not None:
        levels, _ = tiff_levels(tif)
        got = np.stack(levels[0]) if level0.ndim == 3 else levels[0][0]
        np.testing.assert_array_equal(got, level0)
    return assert_viv_matches_tifffile(viv, tif, naming.offsets_path(tif))[0]


def make_series_inputs(folder: Path) -> dict[str, tuple[Path, list[np.ndarray] | None]]:
    """For ``--all-series``: an OME-TIFF of two images (series), a single-series
    .npy, a truncated TIFF (its series is listed; converting it fails) and a file
    that is not an image at all (listing its series fails).

    Returns name -> (path, the level-0 pixels of each series), None for the
    file that cannot be listed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    first, second = ramp((2, 140, 150), "uint16", seed=11), ramp((3, 90, 120), "uint16", seed=12)
    p = folder / "two.ome.tif"
    with tifffile.TiffWriter(p) as tw:
        tw.write(first, metadata={"axes": "CYX", "Name": "first"})
        tw.write(second, metadata={"axes": "CYX", "Name": "second"})
    files["multi"] = (p, [first, second])

    one = ramp((2, 100, 80), "uint16", seed=13)
    p = folder / "one.npy"
    np.save(p, one)
    files["single"] = (p, [one])

    p = folder / "broken.tif"
    tifffile.imwrite(p, ramp((600, 600), "uint16", seed=14), tile=(128, 128))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    files["truncated"] = (p, [None])

    p = folder / "junk.ome.tif"
    p.write_bytes(b"not a tiff at all")
    files["junk"] = (p, None)
    return files


class StallingZarr:
    """A ``.zarr`` input one of whose chunk files is a named pipe: a real input that stalls.

    A conversion reads the chunks in order; when it reaches the pipe it blocks
    in ``read()`` (the test holds the pipe open, so the open succeeds and no
    data comes) with the earlier chunks' tiles already written. :meth:`reader`
    finds the process blocked on it in ``/proc``; :meth:`release` sends the
    chunk's bytes through the pipe (the blocked read completes normally) and
    :meth:`replace` puts the real chunk file back for later reads.
    """

    def __init__(self, path: Path, data: np.ndarray, chunks: tuple[int, ...], stall_at: tuple[int, ...]):
        import os

        import zarr

        self.path = Path(path).absolute()
        self.data = data
        z = zarr.create_array(str(self.path), shape=data.shape, chunks=chunks, dtype=data.dtype)
        z[...] = data
        self.chunk = self.path.joinpath("c", *map(str, stall_at))
        self.bytes = self.chunk.read_bytes()
        self.chunk.unlink()
        os.mkfifo(self.chunk)
        # read-write: our end never blocks, and the converter's open() succeeds at once
        self._fd: int | None = os.open(self.chunk, os.O_RDWR)

    def reader(self, pids) -> int | None:
        """The first of ``pids`` holding the pipe open (blocked reading it), or None."""
        import os

        for pid in pids:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == str(self.chunk):
                        return pid
                except OSError:
                    continue
        return None

    def wait_for_reader(self, pids, proc=None, timeout: float = 120) -> int:
        """Wait until one of ``pids()`` is blocked on the pipe; return its pid."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            pid = self.reader(pids())
            if pid is not None:
                return pid
            assert proc is None or proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no conversion reached the stalling chunk"
            time.sleep(0.05)

    def release(self) -> None:
        """Send the chunk through the pipe and close our end: the blocked read gets it whole."""
        import os

        view = memoryview(self.bytes)
        while view:
            view = view[os.write(self._fd, view) :]
        self.close()

    def replace(self) -> None:
        """Put the real chunk file where the pipe was (later reads find a plain file)."""
        import os

        tmp = self.chunk.with_name(".chunk")
        tmp.write_bytes(self.bytes)
        os.replace(tmp, self.chunk)

    def close(self) -> None:
        import os

        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
