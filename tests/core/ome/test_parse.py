"""ome: OME-XML read back into ImageMetadata, and the package's place in the data flow."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

import napari_viv
from napari_viv.metadata import ImageMetadata
from napari_viv.ome import build_ome_xml, ome_image_metadata
from napari_viv.ome.parse import binary_only_metadata_file, uuid_file_names
from napari_viv.write.plan import plan_pyramid


def test_what_build_writes_parse_reads():
    md = ImageMetadata(
        name="tissue <1>",
        channel_names=["DAPI", "CD3 & CD8"],
        channel_colors=[(0, 0, 255), (255, 128, 0)],
        physical_sizes={"x": 0.25, "y": 0.5},
        unit="nm",
        time_increment=2.5,
    )
    xml = build_ome_xml(plan_pyramid((2, 64, 64), np.uint16, tile_size=32), md)
    back = ImageMetadata()
    ome_image_metadata(back, xml, 0)
    assert back.name == md.name and back.channel_names == md.channel_names
    assert back.channel_colors == md.channel_colors
    assert back.physical_sizes == md.physical_sizes and back.unit == "nm"
    assert back.time_increment == 2.5
    assert back.ome_xml == xml.decode("utf-8")


def test_broken_xml_keeps_only_the_text():
    back = ImageMetadata(name="file")
    ome_image_metadata(back, "<OME><Image", 0)
    assert back.name == "file" and back.ome_xml == "<OME><Image"


def test_multi_file_names():
    ns = 'xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"'
    assert binary_only_metadata_file(f'<OME {ns}><BinaryOnly MetadataFile="set.ome.tif"/></OME>') == "set.ome.tif"
    assert binary_only_metadata_file(f"<OME {ns}><Image/></OME>") is None
    import xml.etree.ElementTree as ET

    root = ET.fromstring(
        f'<OME {ns}><Image><Pixels><TiffData><UUID FileName="a.ome.tif"/></TiffData>'
        '<TiffData><UUID FileName="b.ome.tif"/></TiffData></Pixels></Image></OME>'
    )
    assert uuid_file_names(root) == ["a.ome.tif", "b.ome.tif"]


def test_ome_imports_neither_read_nor_write():
    """read and write both use ome; ome stays below them in the data flow."""
    root = Path(napari_viv.__file__).parent / "ome"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert not (node.module or "").startswith(("read", "write", "check")), (path.name, node.module)
