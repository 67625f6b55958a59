"""Open ``.npy`` files (memory-mapped) and ``.zarr`` stores.

Zarr stores may be plain arrays or OME-Zarr multiscale groups with their
axes, scales and omero channels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from .. import naming
from ..axes import apply_steps, canonical_axes, guess_axes
from ..errors import NapariVivError
from ..lazy import AxesView, MemmapWindow, from_memmap, memmap_chunks
from ..metadata import MICROMETRE, ImageMetadata, set_physical_sizes
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


def is_zarr_dir(path: Path) -> bool:
    """Say whether this folder holds Zarr (v2 or v3) metadata at its top."""
    return any((path / f).exists() for f in ("zarr.json", ".zarray", ".zgroup", ".zattrs"))


def open_zarr(path: Path, streaming: bool = False) -> SourceImage:
    """Open a Zarr array, a group with a '0' array, or an OME-Zarr multiscale group."""
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001 - zarr raises several types for junk
        raise NapariVivError(f"not a readable Zarr store ({one_line(exc)})", subject=path) from None
    meta = ImageMetadata(name=naming.stem(path))
    token = f"zarr-{path.resolve()}"
    arrays: list[Any]
    if isinstance(node, zarr.Array):
        arrays, axes = [node], None
    else:
        attrs: dict[str, Any] = dict(node.attrs)
        ome: Any = attrs.get("ome", attrs)
        multiscales = ome.get("multiscales")
        if not multiscales:
            if "0" in node and isinstance(node["0"], zarr.Array):
                arrays, axes = [node["0"]], None
            else:
                raise NapariVivError("Zarr group without 'multiscales' metadata or a '0' array", subject=path)
        else:
            ms = multiscales[0]
            try:
                arrays = [node[d["path"]] for d in ms["datasets"]]
            except Exception as exc:  # noqa: BLE001 - a missing or broken member array
                raise NapariVivError(f"multiscales lists a missing array ({one_line(exc)})", subject=path) from None
            axes = _zarr_axes(ms, meta, len(arrays[0].shape))
            _omero(meta, ome.get("omero"))
    first = arrays[0]
    if first.dtype.kind not in "biuf":
        raise NapariVivError(f"unsupported data type {first.dtype}", subject=path)
    try:
        axes = axes or guess_axes(first.shape, first.dtype)
        new_axes, steps = canonical_axes(axes, first.shape)
    except ValueError as exc:
        raise NapariVivError(str(exc), subject=path) from None
    levels = []
    for i, arr in enumerate(arrays):
        if arr.ndim != first.ndim:
            raise NapariVivError(f"level {i} has {arr.ndim} dimensions, level 0 {first.ndim}", subject=path)
        if streaming:
            levels.append(AxesView(arr, steps))
            continue
        import dask.array as da

        lazy = da.from_array(arr, chunks=arr.chunks, name=f"{token}-{i}", lock=False, fancy=False, inline_array=True)
        levels.append(apply_steps(lazy, steps))
    meta.axes = new_axes
    if meta.channel_names is not None:
        nc = levels[0].shape[new_axes.index("C")] if "C" in new_axes else 1
        if len(meta.channel_names) != nc:
            meta.channel_names = meta.channel_colors = meta.contrast_limits = None
    return SourceImage(path=path, levels=levels, metadata=meta)


def _zarr_axes(ms: dict, meta: ImageMetadata, ndim: int) -> str | None:
    raw = ms.get("axes")
    if not raw or len(raw) != ndim:
        return None
    names = [(a.get("name") if isinstance(a, dict) else a) or "" for a in raw]
    letters = "".join(n.upper()[:1] if n.lower() in ("t", "c", "z", "y", "x") else "Q" for n in names)
    scale = None
    for t in ms["datasets"][0].get("coordinateTransformations") or []:
        if t.get("type") == "scale":
            scale = t.get("scale")
    if scale and len(scale) == ndim:
        sizes = {}
        for a, s, n in zip(raw, scale, names, strict=False):
            if n.lower() in ("x", "y", "z"):
                unit = a.get("unit") if isinstance(a, dict) else None
                sizes[n.lower()] = (float(s), unit or MICROMETRE)
        set_physical_sizes(meta, sizes)
    return letters


def _omero(meta: ImageMetadata, omero) -> None:
    if not isinstance(omero, dict) or not omero.get("channels"):
        return
    chans = omero["channels"]
    meta.channel_names = [str(c.get("label") or f"Channel {i}") for i, c in enumerate(chans)]
    colors: list[tuple[int, int, int] | None] = []
    for c in chans:
        hexcol = str(c.get("color") or "")
        rgb = bytes.fromhex(hexcol) if re.fullmatch(r"[0-9A-Fa-f]{6}", hexcol) else None
        colors.append((rgb[0], rgb[1], rgb[2]) if rgb else None)
    meta.channel_colors = colors if any(colors) else None
    windows = [c.get("window") or {} for c in chans]
    if all("start" in w and "end" in w for w in windows):
        meta.contrast_limits = [(float(w["start"]), float(w["end"])) for w in windows]
