"""OME-XML in one place: what it spells, how napari-viv writes it, reads it, and Viv's rules.

- :mod:`.schema`: namespace, pixel types, dimension orders, unit symbols, colour integers;
- :mod:`.build`: the OME-XML napari-viv writes for a planned pyramid;
- :mod:`.parse`: OME-XML read into :class:`~napari_viv.metadata.ImageMetadata`, multi-file sets;
- :mod:`.viv`: Viv 0.21's rules for OME-XML, as functions that fill a check report.
"""

from .build import build_ome_xml
from .parse import binary_only_metadata_file, ome_image_metadata
from .schema import OME_NS, color_to_int, int_to_color, local_name

__all__ = [
    "OME_NS",
    "binary_only_metadata_file",
    "build_ome_xml",
    "color_to_int",
    "int_to_color",
    "local_name",
    "ome_image_metadata",
]
