"""Open ``.npy`` files (memory-mapped). Zarr stores are :mod:`.omezarr`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import NapariVivError
from ..text import one_line
from .. import naming
from ..metadata import ImageMetadata
from ..axes import apply_steps, canonical_axes, guess_axes
from .image import SourceImage
from ..lazy import AxesView, MemmapWindow, from_memmap, memmap_chunks


def open_npy(path: Path, streaming: bool = False) -> SourceImage:
    """A memory-mapped ``.npy`` as one level; axes guessed from the shape."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - numpy raises several types for junk
        raise NapariVivError(f"{path}: not a readable .npy file ({one_line(exc)})") from None
    if arr.dtype.kind not in "biuf":
        raise NapariVivError(f"{path}: unsupported data type {arr.dtype}")
    try:
        axes = guess_axes(arr.shape, arr.dtype)
        new_axes, steps = canonical_axes(axes, arr.shape)
    except ValueError as exc:
        raise NapariVivError(f"{path}: {exc}") from None
    if streaming:
        level = AxesView(MemmapWindow(arr), steps)
    else:
        chunks = memmap_chunks(axes, arr.shape)
        token = f"npy-{path.resolve()}-{path.stat().st_mtime_ns}"
        level = apply_steps(from_memmap(arr, chunks, token), steps)
    return SourceImage(path=path, levels=[level], metadata=ImageMetadata(axes=new_axes, name=naming.stem(path)))
