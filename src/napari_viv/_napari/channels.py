"""What layers bring to the channels of one image: colour, pixel type, lazy arrays.

* :func:`colormap_color`: a layer's colormap -> the channel's colour;
* :func:`common_dtype`: the pixel type all channels share, refused when
  a layer would lose values in it;
* :func:`as_dask`: any layer array as a dask array with plane-sized chunks,
  so layers can be stacked and transposed lazily.

napari itself is imported only to resolve a colormap given by name.
"""

from __future__ import annotations

import numpy as np

from ..errors import NapariVivError


def colormap_color(cmap) -> tuple[int, int, int] | None:
    """Find the (r, g, b) a napari colormap ends at.

    Parameters
    ----------
    cmap : str, dict, Colormap or None
        A layer's colormap, as a name, the dict of ``as_layer_data_tuple()``
        or a napari ``Colormap``.

    Returns
    -------
    tuple of int or None
        The brightest colour, 0-255 each, or None if unknown.

    Examples
    --------
    >>> colormap_color({"colors": [[0, 0, 0, 1], [1, 0, 1, 1]]})
    (255, 0, 255)
    >>> colormap_color(None) is None
    True
    """
    if cmap is None:
        return None
    if isinstance(cmap, str):
        try:
            from napari.utils.colormaps import ensure_colormap

            cmap = ensure_colormap(cmap)
        except Exception:  # noqa: BLE001 - not a colormap napari knows: no colour
            return None
    colors = cmap.get("colors") if isinstance(cmap, dict) else getattr(cmap, "colors", None)
    if colors is None:
        return None
    arr = np.asarray(colors, dtype=float)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] < 3:
        return None
    return tuple(int(round(float(v) * 255)) for v in np.clip(arr[-1, :3], 0, 1))


def common_dtype(layers) -> np.dtype:
    """Find the pixel type all channels share.

    Parameters
    ----------
    layers : sequence
        Objects with ``name`` and ``levels`` (level 0 first).

    Returns
    -------
    numpy.dtype
        The smallest type holding every layer's values.

    Raises
    ------
    NapariVivError
        When a layer would lose values in that type (say int64 in float64).
    """
    dtypes = [np.dtype(lay.levels[0].dtype) for lay in layers]
    common = np.result_type(*dtypes)
    lossy = [lay.name for lay, dt in zip(layers, dtypes, strict=True) if not _lossless(dt, common)]
    if lossy:
        listing = ", ".join(f"{lay.name!r} ({dt})" for lay, dt in zip(layers, dtypes, strict=True))
        raise NapariVivError(
            f"layers have pixel types that can't share one type without "
            f"losing values: {listing}; convert them to one type first"
        )
    return common


def _lossless(src: np.dtype, dst: np.dtype) -> bool:
    if src == dst:
        return True
    if not np.can_cast(src, dst, "safe"):
        return False
    if src.kind in "iu" and dst.kind == "f":
        # a float holds every integer only up to its mantissa width
        return src.itemsize * 8 <= np.finfo(dst).nmant + 1
    return True


def as_dask(arr, dtype=None):
    """Wrap ``arr`` as a dask array (unchanged if it is one).

    A numpy array becomes one chunk per plane (the writer cuts its bands out
    of memory directly; smaller chunks only add scheduling work); other
    array-likes get planes of at most 1024 x 1024 so a read stays bounded.

    Parameters
    ----------
    arr : array-like
        numpy, dask, zarr or any sliceable array; a trailing axis of 3 or 4
        is taken as RGB(A) samples.
    dtype : numpy.dtype, optional
        Cast (lazily) to this type.

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> as_dask(np.zeros((2, 8, 8), np.uint8)).chunks
    ((1, 1), (8,), (8,))
    """
    import dask.array as da

    if not isinstance(arr, da.Array):
        shape = [int(n) for n in arr.shape]
        nd = len(shape)
        samples = nd >= 3 and shape[-1] <= 4  # RGB(A): (..., Y, X, S)
        yx = (nd - 3, nd - 2) if samples else (nd - 2, nd - 1)
        in_memory = isinstance(arr, np.ndarray)
        chunks = tuple(
            (n if in_memory else min(n, 1024)) if i in yx else n if i > yx[1] else 1 for i, n in enumerate(shape)
        )
        arr = da.from_array(arr, chunks=chunks)
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr
