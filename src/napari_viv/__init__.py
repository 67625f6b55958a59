"""napari-viv: Viv-compatible pyramidal OME-TIFF from Python and napari.

The public API, in the order data flows:

- :func:`open_image` reads a file lazily into levels plus :class:`ImageMetadata`;
- :func:`export_pyramid` writes a Viv pyramidal OME-TIFF and its offsets;
- :func:`write_offsets` writes ``offsets.json`` for an existing OME-TIFF;
- :func:`check_file` says whether Viv and Avivator will open a file;
- :class:`RangeServer` serves an export over HTTP;
- :class:`NapariVivError` is the one-line, user-facing error they raise.

The core (this package, minus ``_napari``) imports neither napari nor Qt.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> import napari_viv
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> tif = napari_viv.export_pyramid(np.ones((600, 800), np.uint8), folder / "a.tif").image
>>> napari_viv.check_file(tif).ok
True
>>> src = napari_viv.open_image(tif)
>>> src.metadata.axes, src.levels[0].shape
('YX', (600, 800))
"""

from __future__ import annotations

__version__ = "0.1.0"

from .check import CheckReport, check_file
from .errors import Cancelled, NapariVivError
from .metadata import ImageMetadata
from .read import open_image
from .serve.server import RangeServer
from .write.offsets import write_offsets
from .write.writer import export_pyramid

__all__ = [
    "Cancelled",
    "CheckReport",
    "ImageMetadata",
    "NapariVivError",
    "RangeServer",
    "__version__",
    "check_file",
    "export_pyramid",
    "open_image",
    "write_offsets",
]
