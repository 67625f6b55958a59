"""ome.build: the OME-XML Viv's strict parser needs, checked with lxml (and ome.schema's colour ints)."""

from __future__ import annotations

import pytest
from lxml import etree

from napari_viv.errors import NapariVivError
from napari_viv.metadata import ImageMetadata
from napari_viv.ome import OME_NS, build_ome_xml, color_to_int, int_to_color
from napari_viv.write.plan import plan_pyramid

NS = {"o": OME_NS}


def parse(xml: bytes):
    assert isinstance(xml, bytes)
    xml.decode("utf-8")  # valid UTF-8
    return etree.fromstring(xml)


def test_structure_and_types():
    for dtype, ome in (
        ("uint8", "uint8"),
        ("int32", "int32"),
        ("float32", "float"),
        ("float64", "double"),
        (bool, "uint8"),
        ("float16", "float"),
    ):
        plan = plan_pyramid((2, 3, 4, 50, 60), dtype, tile_size=16)
        root = parse(build_ome_xml(plan, ImageMetadata(), name="x"))
        assert root.tag == f"{{{OME_NS}}}OME" and root.prefix is None
        px = root.find("o:Image/o:Pixels", NS)
        assert px.get("Type") == ome
        assert px.get("DimensionOrder") == "XYZCT"
        assert (px.get("SizeX"), px.get("SizeY"), px.get("SizeZ"), px.get("SizeC"), px.get("SizeT")) == (
            "60",
            "50",
            "4",
            "3",
            "2",
        )
        chans = px.findall("o:Channel", NS)
        assert [c.get("ID") for c in chans] == [f"Channel:0:{i}" for i in range(3)]
        assert all(c.get("SamplesPerPixel") == "1" for c in chans)
        assert px.find("o:TiffData", NS).get("PlaneCount") == "24"


def test_escaping_and_unicode():
    names = ["<b>", "a & b", 'say "hi"', "it's", "CD3 µ ✓ 日本"]
    md = ImageMetadata(name="<&>\"'", channel_names=names)
    plan = plan_pyramid((5, 20, 20), "uint16", tile_size=16)
    xml = build_ome_xml(plan, md)
    root = parse(xml)
    assert root.find("o:Image", NS).get("Name") == "<&>\"'"
    assert [c.get("Name") for c in root.findall("o:Image/o:Pixels/o:Channel", NS)] == names
    assert "µ".encode() in xml


@pytest.mark.parametrize(
    "unit,symbol", [("um", "\u00b5m"), ("\u03bcm", "\u00b5m"), ("micron", "\u00b5m"), ("nm", "nm"), (None, "\u00b5m")]
)
def test_units(unit, symbol):
    md = ImageMetadata(physical_sizes={"x": 0.5, "y": 0.25, "z": 3}, unit=unit)
    plan = plan_pyramid((2, 20, 20), "uint16", axes="ZYX", tile_size=16)
    px = parse(build_ome_xml(plan, md)).find("o:Image/o:Pixels", NS)
    for ax, v in (("X", 0.5), ("Y", 0.25), ("Z", 3.0)):
        assert float(px.get(f"PhysicalSize{ax}")) == v
        assert px.get(f"PhysicalSize{ax}Unit") == symbol


def test_bad_metadata():
    plan = plan_pyramid((2, 20, 20), "uint16", tile_size=16)
    with pytest.raises(NapariVivError, match="furlong"):
        build_ome_xml(plan, ImageMetadata(unit="furlong", physical_sizes={"x": 1}))
    with pytest.raises(NapariVivError, match="positive"):
        build_ome_xml(plan, ImageMetadata(physical_sizes={"x": -1.0}))
    with pytest.raises(NapariVivError, match="colours"):
        build_ome_xml(plan, ImageMetadata(channel_colors=[(1, 2, 3)]))
    with pytest.raises(NapariVivError, match="colour"):
        build_ome_xml(plan, ImageMetadata(channel_colors=[(1, 2, 300), None]))


def test_colour_integers():
    # OME colours are signed 32-bit RGBA
    assert color_to_int((255, 0, 0)) == -16776961
    assert color_to_int((0, 0, 255)) == 0x0000FFFF
    assert color_to_int((255, 255, 255)) == -1
    for rgb in ((1, 2, 3), (255, 128, 0), (0, 0, 0)):
        assert int_to_color(color_to_int(rgb)) == rgb


def test_rgb_channel():
    plan = plan_pyramid((40, 30, 3), "uint8", tile_size=16)
    px = parse(build_ome_xml(plan, ImageMetadata(channel_names=["HE"]))).find("o:Image/o:Pixels", NS)
    assert px.get("Interleaved") == "true" and px.get("SizeC") == "3"
    (ch,) = px.findall("o:Channel", NS)
    assert ch.get("SamplesPerPixel") == "3" and ch.get("Name") == "HE"


def test_characters_xml_cannot_hold_are_dropped():
    md = ImageMetadata(name="a\x00b", channel_names=["bell\x07", "tab\tok"])
    plan = plan_pyramid((2, 20, 20), "uint8", tile_size=16)
    root = parse(build_ome_xml(plan, md))
    assert root.find("o:Image", NS).get("Name") == "ab"
    names = [c.get("Name") for c in root.findall("o:Image/o:Pixels/o:Channel", NS)]
    assert names == ["bell", "tab\tok"]
