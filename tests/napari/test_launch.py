"""`napari-viv demo --napari` builds its viewer with _napari.launch."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.napari


def test_demo_viewer_has_the_sample_and_both_widgets(qtbot):
    from napari_viv._napari.launch import EXPORT_WIDGET, SERVE_WIDGET, make_demo_viewer

    viewer = make_demo_viewer(size=256, channels=2)
    try:
        assert len(viewer.layers) == 2
        for layer in viewer.layers:
            base = layer.data[0] if layer.multiscale else layer.data
            assert tuple(base.shape[-2:]) == (256, 256)
        docked = " | ".join(viewer.window.dock_widgets)
        assert EXPORT_WIDGET in docked and SERVE_WIDGET in docked
    finally:
        viewer.close()
