"""axes: the defaults of each context, from their named tables, and the file-axes mapping."""

from __future__ import annotations

import numpy as np
import pytest

from napari_viv import axes
from napari_viv.errors import NapariVivError
from napari_viv.write.layout import default_axes


def test_every_default_is_canonical():
    for table in (axes.FILE_AXES_BY_NDIM, axes.ARRAY_AXES_BY_NDIM, axes.NAPARI_AXES_BY_NDIM):
        for ndim, letters in table.items():
            assert len(letters) == ndim
            assert axes.canonical_order(letters) == letters


@pytest.mark.parametrize("ndim", [2, 3, 4, 5])
def test_contexts_read_their_own_table(ndim):
    shape = (2,) * (ndim - 2) + (16, 16)
    assert axes.guess_axes(shape, "uint16") == axes.FILE_AXES_BY_NDIM[ndim]
    assert axes.array_axes(shape, "uint16") == axes.ARRAY_AXES_BY_NDIM[ndim]
    assert default_axes(shape, "uint16") == axes.ARRAY_AXES_BY_NDIM[ndim]
    assert axes.napari_axes(ndim) == axes.NAPARI_AXES_BY_NDIM[ndim]


def test_rgb_rule_differs_by_context():
    """A file is RGB(A) whatever its dtype; an API array only when it is written as RGB."""
    for shape, dtype, in_file, in_array in [
        ((20, 30, 3), "uint8", True, True),
        ((20, 30, 3), "uint16", True, False),
        ((20, 30, 4), "uint8", True, False),
        ((3, 20, 30), "uint8", False, False),
        ((4, 4, 3), "uint8", False, True),
    ]:
        assert axes.file_is_rgb(shape) is in_file, shape
        assert axes.array_is_rgb(shape, np.dtype(dtype)) is in_array, (shape, dtype)
        assert (axes.guess_axes(shape, dtype) == "YXS") is in_file
        assert (axes.array_axes(shape, dtype) == "YXS") is in_array


@pytest.mark.parametrize("ndim", [1, 6])
def test_outside_two_to_five_dimensions(ndim):
    with pytest.raises(ValueError, match="2 to 5"):
        axes.guess_axes((4,) * ndim)
    with pytest.raises(ValueError, match="2 to 5"):
        axes.napari_axes(ndim)
    with pytest.raises(NapariVivError, match="pass axes"):
        default_axes((4,) * ndim, "uint8")


def test_canonical_axes_maps_and_steps():
    new, steps = axes.canonical_axes("ZCYX", (3, 2, 10, 20))
    assert new == "CZYX"
    assert axes.apply_steps(np.zeros((3, 2, 10, 20)), steps).shape == (2, 3, 10, 20)
    assert axes.canonical_axes("IYX", (5, 10, 20))[0] == "TYX"  # a page stack is a time series
    assert axes.canonical_axes("YXS", (10, 20, 3), rgb=False)[0] == "CYX"
    with pytest.raises(ValueError, match="both channels and samples"):
        axes.canonical_axes("CYXS", (2, 10, 20, 3), rgb=False)
