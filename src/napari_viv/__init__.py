"""napari-viv: Viv-compatible pyramidal OME-TIFF from Python and napari.

The core (this package, minus ``_napari``) imports neither napari nor Qt.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "ImageMetadata",
    "export_pyramid",
    "__version__",
]

from .metadata import ImageMetadata


def __getattr__(name: str):
    # Heavy modules are imported on first use so `import napari_viv` (which
    # napari does for the manifest) stays cheap.
    if name == "export_pyramid":
        from .write.writer import export_pyramid

        return export_pyramid
    raise AttributeError(name)
