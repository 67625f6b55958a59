"""Axis letters of opened images: always a subsequence of ``TCZYX``, or
``YXS`` for RGB(A)."""

from __future__ import annotations

#: Axes assumed by number of dimensions when none are given (3-D arrays may
#: instead be RGB, by rules that differ for API input and for files).
AXES_BY_NDIM = {2: "YX", 3: "CYX", 4: "CZYX", 5: "TCZYX"}

_CANONICAL = "TCZYX"


def guess_axes(shape, dtype=None) -> str:
    """Axes for an array without metadata: YX, CYX (or YXS), CZYX, TCZYX."""
    ndim = len(shape)
    if ndim == 3 and shape[-1] in (3, 4) and min(shape[:2]) > 4:
        return "YXS"  # RGB(A) of any dtype
    if ndim in AXES_BY_NDIM:
        return AXES_BY_NDIM[ndim]
    raise ValueError(f"{ndim} dimensions; napari-viv handles 2 to 5 (TCZYX)")


def canonical_axes(axes: str, shape, rgb: bool | None = None) -> tuple[str, list]:
    """Map file axes to TCZYX/YXS letters.

    Returns ``(new_axes, steps)`` where steps turn an array in the file's
    axis order into one in ``new_axes`` order: ``("squeeze", i)`` and
    ``("transpose", perm)``. Raises ValueError when no mapping exists.

    ``rgb`` says what an ``S`` (samples) axis is: True, RGB colour (kept as
    ``S``, last, even when the file stores it planar, if nothing but Y and X
    is left); False, channels; None, RGB(A) only when it has 3 or 4 samples,
    stored last. Unknown letters (a page stack's ``I`` or ``Q``, ...) become
    the first free of T, Z, C: a stack of pages without metadata is a time
    series, as Bio-Formats reads it.
    """
    axes = axes.upper()
    if "Y" not in axes or "X" not in axes:
        raise ValueError(f"axes {axes!r} have no Y and X")
    shape = list(shape)
    letters = list(axes)
    # Drop length-1 dimensions except Y and X.
    keep = [i for i, (a, n) in enumerate(zip(letters, shape)) if n != 1 or a in "YX"]
    squeeze = tuple(i for i in range(len(letters)) if i not in keep)
    letters = [letters[i] for i in keep]
    shape = [shape[i] for i in keep]
    # Samples: keep as RGB(A) only when nothing else is left; otherwise channels.
    if "S" in letters:
        others = [a for a in letters if a not in "YXS"]
        n = shape[letters.index("S")]
        if rgb is True:
            as_rgb = not others and n == 3
        elif rgb is False:
            as_rgb = False
        else:
            as_rgb = not others and n in (3, 4) and letters[-1] == "S"
        if not as_rgb:
            if "C" in letters:
                raise ValueError(
                    f"axes {axes!r}: both channels and samples per pixel; split the channels first"
                )
            letters[letters.index("S")] = "C"
    # Unknown letters (tifffile's I, Q, E, ...) become the first free of T, Z, C.
    for i, a in enumerate(letters):
        if a not in "TCZYXS":
            free = [f for f in "TZC" if f not in letters]
            if not free:
                raise ValueError(f"axes {axes!r}: too many dimensions for TCZYX")
            letters[i] = free[0]
    if len(set(letters)) != len(letters):
        raise ValueError(f"axes {axes!r} repeat a dimension")
    order = "YXS" if "S" in letters else _CANONICAL
    new = "".join(a for a in order if a in letters)
    perm = tuple(letters.index(a) for a in new)
    return new, [("squeeze", squeeze), ("transpose", perm)]


def apply_steps(arr, steps):
    for kind, arg in steps:
        if kind == "squeeze" and arg:
            arr = arr.squeeze(axis=arg)
        elif kind == "transpose" and arg != tuple(range(len(arg))):
            arr = arr.transpose(arg)
    return arr
