"""Open ``.npy`` files (memory-mapped). Zarr stores are :mod:`.omezarr`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import naming
from ..axes import apply_steps, canonical_axes, guess_axes
from ..errors import NapariVivError
from ..lazy import AxesView, MemmapWindow, from_memmap, memmap_chunks
from ..metadata import ImageMetadata
from ..text import one_line
from .image import SourceImage


def open_npy(path: Path, streaming: bool = False) -> SourceImage:
    """Open a memory-mapped ``.npy`` as one level; axes guessed from the shape.

    Parameters
    ----------
    path : pathlib.Path
        The ``.npy`` file.
    streaming : bool
        True: the memory map itself (in a window), not a dask array.

    Returns
    -------
    SourceImage
        One level, axes by :func:`napari_viv.axes.guess_axes`.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rgb.npy"
    >>> np.save(path, np.zeros((20, 30, 3), np.uint16))
    >>> open_npy(path).metadata.axes
    'YXS'
    """
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises several types for junk
        raise NapariVivError(f"not a readable .npy file ({one_line(exc)})", subject=path) from None
    if arr.dtype.kind not in "biuf":
        raise NapariVivError(f"unsupported data type {arr.dtype}", subject=path)
    try:
        axes = guess_axes(arr.shape, arr.dtype)
        new_axes, steps = canonical_axes(axes, arr.shape)
    except ValueError as exc:
        raise NapariVivError(str(exc), subject=path) from None
    if streaming:
        level = AxesView(MemmapWindow(arr), steps)
    else:
        chunks = memmap_chunks(axes, arr.shape)
        token = f"npy-{path.resolve()}-{path.stat().st_mtime_ns}"
        level = apply_steps(from_memmap(arr, chunks, token), steps)
    return SourceImage(path=path, levels=[level], metadata=ImageMetadata(axes=new_axes, name=naming.stem(path)))
