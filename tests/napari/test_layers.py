"""layers.py's translation, layer data -> export input, without Qt or a viewer.

The inputs are the ``(data, meta, layer_type)`` tuples napari hands a
writer (what ``Layer.as_layer_data_tuple()`` gives), written out by hand.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from napari_viv._napari.layers import layers_to_export
from napari_viv.errors import NapariVivError

NOTE = "assumed µm; set the layer's units to choose another"


def image(name, shape=(64, 80), dtype=np.uint16, **meta):
    return (np.zeros(shape, dtype), {"name": name, **meta}, "image")


def test_translation_imports_neither_qt_nor_napari():
    code = (
        "import sys, numpy as np\n"
        "from napari_viv._napari.layers import layers_to_export\n"
        "layers_to_export([(np.zeros((8, 8), np.uint8), {'name': 'a', 'scale': [2, 2]}, 'image')])\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('napari', 'qtpy', 'PyQt6', 'PyQt5', 'PySide6', 'magicgui'))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_scale_without_units_is_taken_as_micrometres():
    found = layers_to_export([image("cells", scale=[0.65, 0.65], units=["pixel", "pixel"])])
    md = found.metadata
    assert md.physical_sizes == pytest.approx({"x": 0.65, "y": 0.65})
    assert md.unit == "µm"
    assert found.assumed_um == ["cells"]
    assert NOTE in found.unit_note and "'cells'" in found.unit_note


def test_scale_without_units_field_at_all_is_taken_as_micrometres():
    found = layers_to_export([image("cells", scale=[0.3, 0.3])])
    assert found.metadata.physical_sizes == pytest.approx({"x": 0.3, "y": 0.3})
    assert found.assumed_um == ["cells"]


def test_units_given_are_kept_without_a_note():
    found = layers_to_export([image("em", scale=[4, 4], units=["nm", "nm"])])
    assert found.metadata.physical_sizes == pytest.approx({"x": 4, "y": 4})
    assert found.metadata.unit == "nm"
    assert found.assumed_um == [] and found.unit_note is None


def test_scale_one_in_pixels_means_no_physical_size():
    found = layers_to_export([image("plain", scale=[1, 1], units=["pixel", "pixel"])])
    assert not found.metadata.physical_sizes
    assert found.unit_note is None


def test_one_scaled_side_gives_both_sides_a_size():
    found = layers_to_export([image("odd", scale=[0.5, 1.0])])
    assert found.metadata.physical_sizes == pytest.approx({"y": 0.5, "x": 1.0})
    assert found.assumed_um == ["odd"]


def test_z_step_without_units_and_time_in_minutes():
    stack = image(
        "stack",
        shape=(3, 2, 32, 32),
        scale=[2.0, 1.5, 0.5, 0.5],
        units=["minute", "pixel", "pixel", "pixel"],
        axis_labels=["t", "z", "y", "x"],
    )
    found = layers_to_export([stack])
    md = found.metadata
    assert md.axes == "TZYX"
    assert md.physical_sizes == pytest.approx({"z": 1.5, "y": 0.5, "x": 0.5})
    assert md.time_increment == pytest.approx(120.0)
    assert found.assumed_um == ["stack"]


def test_several_layers_become_channels_in_order_with_one_note():
    layers = [image(n, scale=[0.5, 0.5]) for n in ("DAPI", "CD3", "CD8")]
    found = layers_to_export(layers)
    assert found.metadata.axes == "CYX"
    assert found.shape == (3, 64, 80)
    assert found.metadata.channel_names == ["DAPI", "CD3", "CD8"]
    assert found.assumed_um == ["DAPI", "CD3", "CD8"]
    assert found.unit_note.count(NOTE) == 1 and "3 layers" in found.unit_note


def test_channel_colour_from_the_colormap_dict():
    red_cmap = {"name": "r", "colors": [[0, 0, 0, 1], [1, 0, 0, 1]]}
    found = layers_to_export(
        [
            image("a", colormap=red_cmap, contrast_limits=[0, 100]),
            image("b", colormap={"name": "g", "colors": [[0, 0, 0, 1], [0, 1, 0, 1]]}, contrast_limits=[5, 50]),
        ]
    )
    assert found.metadata.channel_colors == [(255, 0, 0), (0, 255, 0)]
    assert found.metadata.contrast_limits == [(0.0, 100.0), (5.0, 50.0)]


def test_mixed_units_and_assumed_micrometres_agree():
    found = layers_to_export(
        [
            image("given", scale=[0.5, 0.5], units=["um", "um"]),
            image("assumed", scale=[0.5, 0.5]),
        ]
    )
    assert found.metadata.unit == "µm"
    assert found.assumed_um == ["assumed"]


@pytest.mark.parametrize(
    "layers, words",
    [
        ([image("small", (30, 40)), image("taller", (32, 40))], ["small", "taller", "shapes"]),
        ([image("a", scale=[0.5, 0.5]), image("b", scale=[0.25, 0.25])], ["'a'", "'b'", "pixel sizes"]),
        ([image("s", units=["second", "um"], scale=[2, 2])], ["'s'", "not a length"]),
        ([image("a"), (np.zeros((3, 2)), {"name": "pts"}, "points")], ["pts", "points"]),
    ],
)
def test_refusals_name_the_layers(layers, words):
    with pytest.raises(NapariVivError) as err:
        layers_to_export(layers)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize("module", ["napari_viv._napari.units", "napari_viv._napari.channels"])
def test_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module} has no examples"
    assert result.failed == 0
