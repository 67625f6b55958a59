"""Axis letters, and the defaults for data that does not name its axes.

Every stage speaks the letters T, C, Z, Y, X and S (the samples of an RGB
pixel), outermost first. Images are handed on in :data:`CANONICAL` order
(a subsequence of ``TCZYX``) or as :data:`RGB_AXES` (``YXS``).

Three kinds of input may come without axis names, and each has its own
table, because each source means something different by position:

================  ======  ======  ======  =======  =========================
context           2-D     3-D     4-D     5-D      RGB when
================  ======  ======  ======  =======  =========================
file (``.npy``,   YX      CYX     CZYX    TCZYX    the last axis is 3 or 4 and
``.zarr``)                                         both others exceed 4, any dtype
array (API)       YX      CYX     CZYX    TCZYX    the last axis is 3 and the
                                                   dtype is uint8
napari layer      YX      ZYX     TZYX    TCZYX    napari's own ``rgb`` flag
================  ======  ======  ======  =======  =========================

Why they differ:

- A file is shown as it is: an ``H x W x 3`` or ``x 4`` array saved to disk
  is almost always a colour picture, whatever its bit depth, and reading it
  as RGB lets napari show it so (the writer later stores non-8-bit samples
  as channels).
- An array given to :func:`napari_viv.export_pyramid` is taken as RGB only
  when it would be *written* as RGB (Viv shows interleaved RGB only as
  8-bit, 3 samples); anything else must say ``axes="YXS"`` explicitly.
- napari stacks extra dimensions in front of the view's (Y, X) and shows
  the third from last as a Z slider, so an unlabelled 3-D layer is a Z
  stack; napari itself decides whether a layer is RGB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The order of planes and pixels in every image handed between stages.
CANONICAL = "TCZYX"
#: Interleaved colour: rows, columns, then the samples of each pixel.
RGB_AXES = "YXS"
#: Every axis letter napari-viv knows.
AXIS_LETTERS = "TCZYXS"

#: Files without axis metadata (``.npy``, a ``.zarr`` array): channels first.
FILE_AXES_BY_NDIM = {2: "YX", 3: "CYX", 4: "CZYX", 5: "TCZYX"}
#: Arrays given to the export API without ``axes``: as files, channels first.
ARRAY_AXES_BY_NDIM = {2: "YX", 3: "CYX", 4: "CZYX", 5: "TCZYX"}
#: napari layers without axis labels: napari's sliders are Z, then T.
NAPARI_AXES_BY_NDIM = {2: "YX", 3: "ZYX", 4: "TZYX", 5: "TCZYX"}

#: Sample counts read as RGB(A) in a file (a trailing axis of this length).
FILE_RGB_SAMPLES = (3, 4)
#: Sample count written as interleaved RGB (Viv's only RGB layout).
WRITTEN_RGB_SAMPLES = 3


def canonical_order(axes: str) -> str:
    """Return the letters of ``axes`` in :data:`CANONICAL` order (``S`` dropped).

    Parameters
    ----------
    axes : str
        Axis letters in any order.

    Returns
    -------
    str
        The subsequence of ``TCZYX`` that ``axes`` contains.

    Examples
    --------
    >>> canonical_order("ZCYX")
    'CZYX'
    """
    return "".join(a for a in CANONICAL if a in axes)


def file_is_rgb(shape: tuple[int, ...]) -> bool:
    """Say whether a 3-D array in a file without axes is an RGB(A) picture.

    Parameters
    ----------
    shape : tuple of int
        The array's shape.

    Returns
    -------
    bool
        True for ``(H, W, 3)`` or ``(H, W, 4)`` with H and W above 4.

    Examples
    --------
    >>> file_is_rgb((20, 30, 3)), file_is_rgb((3, 20, 30))
    (True, False)
    """
    return len(shape) == 3 and shape[-1] in FILE_RGB_SAMPLES and min(shape[:2]) > 4


def array_is_rgb(shape: tuple[int, ...], dtype: Any) -> bool:
    """Say whether an array given without axes is written as interleaved RGB.

    Parameters
    ----------
    shape : tuple of int
        The array's shape.
    dtype : numpy dtype or str
        Its pixel type.

    Returns
    -------
    bool
        True for a 3-D uint8 array whose last axis has 3 samples.

    Examples
    --------
    >>> array_is_rgb((10, 20, 3), "uint8"), array_is_rgb((10, 20, 3), "uint16")
    (True, False)
    """
    return len(shape) == 3 and shape[-1] == WRITTEN_RGB_SAMPLES and np.dtype(dtype) == np.uint8


def _by_ndim(table: dict[int, str], ndim: int) -> str:
    if ndim in table:
        return table[ndim]
    raise ValueError(f"{ndim} dimensions; napari-viv handles 2 to 5 ({CANONICAL})")


def guess_axes(shape: tuple[int, ...], dtype: Any = None) -> str:
    """Return the axes of an array read from a file that does not name them.

    Parameters
    ----------
    shape : tuple of int
        The array's shape.
    dtype : numpy dtype, optional
        Its pixel type (RGB(A) is recognised whatever it is).

    Returns
    -------
    str
        From :data:`FILE_AXES_BY_NDIM`, or ``"YXS"`` by :func:`file_is_rgb`.

    Raises
    ------
    ValueError
        For fewer than 2 or more than 5 dimensions.

    Examples
    --------
    >>> guess_axes((5, 20, 30)), guess_axes((20, 30, 3), "uint16")
    ('CYX', 'YXS')
    """
    if file_is_rgb(tuple(shape)):
        return RGB_AXES
    return _by_ndim(FILE_AXES_BY_NDIM, len(shape))


def array_axes(shape: tuple[int, ...], dtype: Any) -> str:
    """Return the axes assumed for an array given to the export API without axes.

    Parameters
    ----------
    shape : tuple of int
        The array's shape.
    dtype : numpy dtype or str
        Its pixel type.

    Returns
    -------
    str
        From :data:`ARRAY_AXES_BY_NDIM`, or ``"YXS"`` by :func:`array_is_rgb`.

    Raises
    ------
    ValueError
        For fewer than 2 or more than 5 dimensions.

    Examples
    --------
    >>> array_axes((10, 20, 3), "uint8"), array_axes((10, 20, 3), "uint16")
    ('YXS', 'CYX')
    """
    if array_is_rgb(tuple(shape), dtype):
        return RGB_AXES
    return _by_ndim(ARRAY_AXES_BY_NDIM, len(shape))


def napari_axes(ndim: int) -> str:
    """Return the axes of a napari layer's (non-RGB) dimensions without labels.

    Parameters
    ----------
    ndim : int
        The layer's number of spatial dimensions (RGB samples excluded).

    Returns
    -------
    str
        From :data:`NAPARI_AXES_BY_NDIM`.

    Raises
    ------
    ValueError
        For fewer than 2 or more than 5 dimensions.

    Examples
    --------
    >>> napari_axes(3)
    'ZYX'
    """
    return _by_ndim(NAPARI_AXES_BY_NDIM, ndim)


def _as_rgb(letters: list[str], shape: list[int], rgb: bool | None) -> bool:
    """Whether the ``S`` axis among ``letters`` stays RGB(A) (see :func:`canonical_axes`)."""
    others = [a for a in letters if a not in RGB_AXES]
    n = shape[letters.index("S")]
    if rgb is True:
        return not others and n == WRITTEN_RGB_SAMPLES
    if rgb is False:
        return False
    return not others and n in FILE_RGB_SAMPLES and letters[-1] == "S"


def canonical_axes(axes: str, shape: tuple[int, ...], rgb: bool | None = None) -> tuple[str, list]:
    """Map a file's axes to canonical letters (``TCZYX`` subsequence or ``YXS``).

    ``rgb`` says what an ``S`` (samples) axis is: True, RGB colour (kept as
    ``S``, last, even when the file stores it planar, if nothing but Y and X
    is left); False, channels; None, RGB(A) only when it has 3 or 4 samples,
    stored last. Unknown letters (a page stack's ``I`` or ``Q``, ...) become
    the first free of T, Z, C: a stack of pages without metadata is a time
    series, as Bio-Formats reads it.

    Parameters
    ----------
    axes : str
        The file's axis letters (tifffile's), outermost first.
    shape : tuple of int
        The shape in that order.
    rgb : bool or None
        What an ``S`` axis is (see above).

    Returns
    -------
    tuple of (str, list)
        ``(new_axes, steps)``: steps turn an array in the file's order into
        one in ``new_axes`` order: ``("squeeze", i)`` and ``("transpose", perm)``.

    Raises
    ------
    ValueError
        When no mapping exists.

    Examples
    --------
    >>> canonical_axes("QYX", (4, 10, 20))[0], canonical_axes("CYXS", (1, 10, 20, 3))[0]
    ('TYX', 'YXS')
    """
    axes = axes.upper()
    if "Y" not in axes or "X" not in axes:
        raise ValueError(f"axes {axes!r} have no Y and X")
    # Drop length-1 dimensions except Y and X.
    keep = [i for i, (a, n) in enumerate(zip(axes, shape, strict=True)) if n != 1 or a in "YX"]
    squeeze = tuple(i for i in range(len(axes)) if i not in keep)
    letters = [axes[i] for i in keep]
    sizes = [int(shape[i]) for i in keep]
    # Samples: keep as RGB(A) only when nothing else is left; otherwise channels.
    if "S" in letters and not _as_rgb(letters, sizes, rgb):
        if "C" in letters:
            raise ValueError(f"axes {axes!r}: both channels and samples per pixel; split the channels first")
        letters[letters.index("S")] = "C"
    # Unknown letters (tifffile's I, Q, E, ...) become the first free of T, Z, C.
    for i, a in enumerate(letters):
        if a not in AXIS_LETTERS:
            free = [f for f in "TZC" if f not in letters]
            if not free:
                raise ValueError(f"axes {axes!r}: too many dimensions for {CANONICAL}")
            letters[i] = free[0]
    if len(set(letters)) != len(letters):
        raise ValueError(f"axes {axes!r} repeat a dimension")
    new = RGB_AXES if "S" in letters else canonical_order("".join(letters))
    perm = tuple(letters.index(a) for a in new)
    return new, [("squeeze", squeeze), ("transpose", perm)]


def apply_steps(arr: Any, steps: list) -> Any:
    """Apply :func:`canonical_axes` steps to a numpy or dask array.

    Parameters
    ----------
    arr : array-like
        An array with ``squeeze`` and ``transpose`` methods, in the file's order.
    steps : list
        The steps :func:`canonical_axes` returned.

    Returns
    -------
    array-like
        The array in canonical order.

    Examples
    --------
    >>> new, steps = canonical_axes("YXC", (2, 3, 1))
    >>> new, apply_steps(np.zeros((2, 3, 1)), steps).shape
    ('YX', (2, 3))
    """
    for kind, arg in steps:
        if kind == "squeeze" and arg:
            arr = arr.squeeze(axis=arg)
        elif kind == "transpose" and arg != tuple(range(len(arg))):
            arr = arr.transpose(arg)
    return arr
