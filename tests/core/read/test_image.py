"""open_image(): every input kind, built for real with tifffile/numpy/zarr in tmp_path."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from helpers.source_files import OME_NS, halves, ome_xml, ramp, write_qptiff, write_subifd_pyramid

from napari_viv.errors import NapariVivError
from napari_viv.lazy import CHUNK_ROWS, MEMMAP_COLS
from napari_viv.read import guess_axes, open_image

# --- OME-TIFF ------------------------------------------------------------------


def test_ome_subifd_pyramid_bioformats_style(tmp_path):
    data = ramp((3, 700, 900))
    colors = [-16776961, 16711935, 65535]  # red, green, blue as signed RGBA
    xml = ome_xml(
        [
            (
                "scan",
                {
                    "DimensionOrder": "XYZCT",
                    "Type": "uint16",
                    "SizeX": 900,
                    "SizeY": 700,
                    "SizeZ": 1,
                    "SizeC": 3,
                    "SizeT": 1,
                    "PhysicalSizeX": 325,
                    "PhysicalSizeXUnit": "nm",
                    "PhysicalSizeY": 0.325,
                    "PhysicalSizeYUnit": "\u00b5m",
                },
                [
                    {"Name": "DAPI", "Color": colors[0]},
                    {"Name": "CD8", "Color": colors[1]},
                    {"Name": "PanCK", "Color": colors[2]},
                ],
            ),
        ]
    )
    path = tmp_path / "bf.ome.tif"
    write_subifd_pyramid(path, data, 3, xml=xml)

    src = open_image(path)
    m = src.metadata
    assert m.axes == "CYX"
    assert [lv.shape for lv in src.levels] == [(3, 700, 900), (3, 350, 450), (3, 175, 225)]
    assert m.channel_names == ["DAPI", "CD8", "PanCK"]
    assert m.channel_colors == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    # X was in nm, Y in µm: both end up in X's unit.
    assert m.unit == "nm"
    assert m.physical_sizes["x"] == pytest.approx(325)
    assert m.physical_sizes["y"] == pytest.approx(325)
    assert m.name == "scan"
    assert m.ome_xml == xml
    np.testing.assert_array_equal(src.levels[0].compute(), data)
    np.testing.assert_array_equal(src.levels[2].compute(), halves(halves(data)))
    # dask chunks are whole tiles (grown to a multiple), one plane deep.
    for lv in src.levels:
        cy, cx = lv.chunksize[-2:]
        assert lv.chunksize[0] == 1
        assert cy % 256 == 0 or cy == lv.shape[-2]
        assert cx % 256 == 0 or cx == lv.shape[-1]


def test_ome_from_tifffile_metadata_tczyx(tmp_path):
    data = ramp((2, 3, 4, 64, 80))
    path = tmp_path / "stack.ome.tiff"
    md = {
        "axes": "TCZYX",
        "PhysicalSizeX": 0.2,
        "PhysicalSizeY": 0.3,
        "PhysicalSizeZ": 1.5,
        "TimeIncrement": 2.0,
        "Channel": {"Name": ["a", "b", "c"]},
    }
    write_subifd_pyramid(path, data, 2, tile=32, metadata=md)
    src = open_image(path)
    assert src.metadata.axes == "TCZYX"
    assert src.shape == data.shape
    assert src.levels[1].shape == (2, 3, 4, 32, 40)
    assert src.metadata.physical_sizes == pytest.approx({"x": 0.2, "y": 0.3, "z": 1.5})
    assert src.metadata.time_increment == 2.0
    assert src.metadata.channel_names == ["a", "b", "c"]
    np.testing.assert_array_equal(src.levels[1][1, 2, 3].compute(), halves(data)[1, 2, 3])


def test_ome_multi_series_and_series_choice(tmp_path):
    a, b = ramp((2, 64, 64), seed=1), ramp((3, 40, 48), seed=2)
    path = tmp_path / "two.ome.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(a, metadata={"axes": "CYX", "Name": "first", "Channel": {"Name": ["x", "y"]}})
        tw.write(b, metadata={"axes": "CYX", "Name": "second", "Channel": {"Name": ["p", "q", "r"]}})
    first = open_image(path)
    second = open_image(path, series=1)
    assert first.metadata.name == "first" and first.shape == (2, 64, 64)
    assert second.metadata.name == "second" and second.shape == (3, 40, 48)
    assert second.metadata.channel_names == ["p", "q", "r"]
    # two unrelated series are not mistaken for a legacy pyramid
    assert len(first.levels) == 1
    np.testing.assert_array_equal(second.levels[0].compute(), b)
    with pytest.raises(NapariVivError, match=r"two\.ome\.tif.*2 image series"):
        open_image(path, series=2)


def test_ome_legacy_pyramid_levels_as_images(tmp_path):
    data = ramp((2, 512, 384))
    levels = [data, halves(data), halves(halves(data))]
    xml = ome_xml(
        [
            (
                f"img #{i + 1}",
                {
                    "DimensionOrder": "XYCZT",
                    "Type": "uint16",
                    "SizeX": lv.shape[2],
                    "SizeY": lv.shape[1],
                    "SizeZ": 1,
                    "SizeC": 2,
                    "SizeT": 1,
                },
                [{"Name": "c0"}, {"Name": "c1"}],
            )
            for i, lv in enumerate(levels)
        ]
    )
    path = tmp_path / "legacy.ome.tif"
    with tifffile.TiffWriter(path) as tw:
        for i, lv in enumerate(levels):
            for c, plane in enumerate(lv):
                first = i == 0 and c == 0
                tw.write(
                    plane,
                    tile=(128, 128),
                    description=xml.encode() if first else None,
                    metadata=None,
                    photometric="minisblack",
                )
    src = open_image(path)
    assert [lv.shape for lv in src.levels] == [lv.shape for lv in levels]
    assert src.metadata.channel_names == ["c0", "c1"]
    np.testing.assert_array_equal(src.levels[2].compute(), levels[2])
    # asking for a series explicitly gives exactly that Image
    assert len(open_image(path, series=1).levels) == 1


def test_writer_output_round_trip(tmp_path):
    from napari_viv.metadata import ImageMetadata
    from napari_viv.write.writer import export_pyramid

    data = ramp((3, 600, 520))
    meta = ImageMetadata(
        axes="CYX",
        name="rt",
        channel_names=["DAPI", "CD3", "CD20"],
        channel_colors=[(0, 0, 255), (0, 255, 0), (255, 0, 0)],
        physical_sizes={"x": 0.5, "y": 0.5},
    )
    tif = export_pyramid(data, tmp_path / "rt.ome.tif", metadata=meta, tile_size=256, levels=3).image
    src = open_image(tif)
    assert src.metadata.axes == "CYX"
    assert src.metadata.channel_names == meta.channel_names
    assert src.metadata.physical_sizes == pytest.approx(meta.physical_sizes)
    assert src.metadata.unit == "\u00b5m"
    assert [lv.shape[-2:] for lv in src.levels] == [(600, 520), (300, 260), (150, 130)]
    if src.metadata.channel_colors is not None:
        assert src.metadata.channel_colors == meta.channel_colors
    np.testing.assert_array_equal(src.levels[0].compute(), data)
    for lv in src.levels:
        assert lv.chunksize[-1] % 256 == 0 or lv.chunksize[-1] == lv.shape[-1]


# --- other TIFF flavours -----------------------------------------------------------


def test_imagej_hyperstack(tmp_path):
    data = ramp((2, 3, 2, 40, 50), dtype="uint16")  # TZCYX
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(4.0, 4.0),
        metadata={
            "axes": "TZCYX",
            "unit": "um",
            "spacing": 2.5,
            "finterval": 10.0,
            "Labels": ["GFP", "RFP"] * 6,
            "ranges": (0.0, 100.0, 5.0, 500.0),
        },
    )
    src = open_image(path)
    m = src.metadata
    assert m.axes == "TCZYX"
    assert src.shape == (2, 2, 3, 40, 50)
    np.testing.assert_array_equal(src.levels[0].compute(), data.transpose(0, 2, 1, 3, 4))
    assert m.physical_sizes == pytest.approx({"x": 0.25, "y": 0.25, "z": 2.5})
    assert m.unit == "\u00b5m"
    assert m.time_increment == 10.0
    assert m.channel_names == ["GFP", "RFP"]
    assert m.contrast_limits == [(0.0, 100.0), (5.0, 500.0)]


def test_qptiff_like(tmp_path):
    data = ramp((4, 512, 640))
    names = ["DAPI", "Opal 520", "Opal 570", "Autofluorescence"]
    colors = [(0, 0, 255), (0, 255, 0), (255, 255, 0), (0, 0, 0)]
    path = tmp_path / "scan.qptiff"
    write_qptiff(path, data, names, colors, cm_res=20000.0)  # 2 µm... per 1/20000 cm = 0.5 µm
    src = open_image(path)
    m = src.metadata
    assert m.axes == "CYX"
    assert [lv.shape for lv in src.levels] == [(4, 512, 640), (4, 256, 320), (4, 128, 160)]
    assert m.channel_names == names
    assert m.channel_colors == colors
    assert m.physical_sizes == pytest.approx({"x": 0.5, "y": 0.5})
    np.testing.assert_array_equal(src.levels[1].compute(), halves(data))
    assert src.levels[0].chunksize[-2:] == (512, 640)  # 128-px tiles grown to a 512-row band


FUSION_XML = (
    '<?xml version="1.0" encoding="utf-16"?>\r\n<PerkinElmer-QPI-ImageDescription>\r\n'
    "<ImageType>{kind}</ImageType><Name>{filter}</Name><Biomarker>{marker}</Biomarker>"
    "<ScanProfile><root><Name>profile-name</Name><ScanResolution>"
    "<PixelSizeMicrons>0.377</PixelSizeMicrons></ScanResolution></root></ScanProfile>"
    "</PerkinElmer-QPI-ImageDescription>"
)


def test_qptiff_fusion_style_biomarkers_and_scan_profile_pixel_size(tmp_path):
    """PhenoCycler-style pages: a utf-16 declaration on plain text, <Biomarker>
    for the marker, <Name> for the filter, the pixel size only in ScanProfile."""
    data = ramp((3, 256, 256))
    markers, filters = ["DAPI", "CD45", "Ki67"], ["DAPI", "Cy5", "Cy7"]
    path = tmp_path / "fusion.qptiff"
    with tifffile.TiffWriter(path) as tw:
        for c in range(3):
            tw.write(
                data[c],
                tile=(128, 128),
                software="PerkinElmer-QPI",
                metadata=None,
                photometric="minisblack",
                description=FUSION_XML.format(kind="FullResolution", filter=filters[c], marker=markers[c]),
            )
        tw.write(
            np.zeros((16, 16, 3), np.uint8),
            software="PerkinElmer-QPI",
            metadata=None,
            photometric="rgb",
            description=FUSION_XML.format(kind="Thumbnail", filter="", marker=""),
        )
    src = open_image(path)
    assert src.metadata.channel_names == markers
    assert src.metadata.channel_colors is None
    assert src.metadata.physical_sizes == pytest.approx({"x": 0.377, "y": 0.377})
    np.testing.assert_array_equal(src.levels[0].compute(), data)


def test_svs_like(tmp_path):
    rgb = ramp((512, 768, 3), dtype="uint8")
    desc = "Aperio Image Library v10.0.50\r\n768x512 [0,0 768x512] (256x256) JPEG/RGB Q=90|AppMag = 40|MPP = 0.2500"
    path = tmp_path / "slide.svs"
    with tifffile.TiffWriter(path) as tw:
        tw.write(rgb, tile=(256, 256), description=desc, metadata=None, photometric="rgb", compression="zlib")
        tw.write(rgb[::8, ::8], description="Aperio thumbnail", metadata=None, photometric="rgb")
        tw.write(rgb[::4, ::4], tile=(256, 256), description=desc, metadata=None, photometric="rgb", compression="zlib")
    src = open_image(path)
    assert src.metadata.axes == "YXS"
    assert [lv.shape for lv in src.levels] == [(512, 768, 3), (128, 192, 3)]
    assert src.metadata.physical_sizes == pytest.approx({"x": 0.25, "y": 0.25})
    assert src.metadata.channel_names is None
    np.testing.assert_array_equal(src.levels[0].compute(), rgb)


def test_plain_multipage_tiff_with_resolution(tmp_path):
    pages = ramp((3, 100, 120), dtype="uint8")
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as tw:
        for p in pages:  # three separate writes: tifffile sees 3 pages of one shape
            tw.write(p, resolution=(25400.0, 25400.0), resolutionunit="INCH", metadata=None, photometric="minisblack")
    src = open_image(path)
    assert src.metadata.axes == "TYX"  # a page stack without metadata is a time series (issue 13)
    assert src.shape == (3, 100, 120)
    assert src.metadata.physical_sizes == pytest.approx({"x": 1.0, "y": 1.0})  # 25400 dpi = 1 µm
    np.testing.assert_array_equal(src.levels[0].compute(), pages)


def test_plain_rgb_and_uncompressed_memmap_chunks(tmp_path):
    rgb = ramp((300, 2500, 3), dtype="uint8")
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, photometric="rgb")
    src = open_image(path)
    assert src.metadata.axes == "YXS"
    assert src.metadata.physical_sizes == {}
    lv = src.levels[0]
    assert lv.chunksize[0] <= CHUNK_ROWS  # the single 300-row strip...
    assert lv.chunksize[1] == 2500  # ...is read in full-width bands
    np.testing.assert_array_equal(lv[100:200, 1500:2400].compute(), rgb[100:200, 1500:2400])


def test_tiff_with_unknown_and_sample_axes(tmp_path):
    # 16-bit 2-sample pixels: not RGB, so samples become channels.
    data = ramp((60, 70, 2))
    path = tmp_path / "two_samples.tif"
    tifffile.imwrite(path, data, photometric="minisblack", planarconfig="contig", extrasamples=[0])
    src = open_image(path)
    assert src.metadata.axes == "CYX"
    np.testing.assert_array_equal(src.levels[0].compute(), data.transpose(2, 0, 1))


# --- laziness -----------------------------------------------------------------------


def test_open_reads_no_pixels(tmp_path):
    """Scramble every tile's bytes after writing: opening still works, reading fails."""
    data = ramp((2, 1024, 1024))
    path = tmp_path / "lazy.ome.tif"
    write_subifd_pyramid(path, data, 2, tile=256, metadata={"axes": "CYX"})
    with tifffile.TiffFile(path) as t:
        spans = [(o, n) for page in t.pages for o, n in zip(page.dataoffsets, page.databytecounts, strict=False)]
    with open(path, "r+b") as fh:
        for offset, count in spans:
            fh.seek(offset)
            fh.write(b"\xff" * count)
    src = open_image(path)  # no tile touched
    assert src.shape == (2, 1024, 1024)
    assert src.levels[0].chunksize == (1, 512, 1024)  # 2 x 4 tiles of 256
    with pytest.raises(Exception):  # noqa: B017 - any decoder error: the tile is broken
        src.levels[0][0, :256, :256].compute()


def test_open_large_file_is_lazy(tmp_path):
    """A ~400 MB tiled file: graph only, chunk grid follows the 512-px tiles."""
    shape = (3, 8192, 8192)
    path = tmp_path / "big.ome.tif"
    # Uncompressed tiles of zeros written from a tiny repeated tile iterator.
    tile = np.zeros((512, 512), np.uint16)
    ntiles = shape[0] * (shape[1] // 512) * (shape[2] // 512)
    tifffile.imwrite(
        path,
        (tile for _ in range(ntiles)),
        shape=shape,
        dtype="uint16",
        tile=(512, 512),
        metadata={"axes": "CYX"},
        photometric="minisblack",
    )
    assert path.stat().st_size > 350e6
    src = open_image(path)
    lv = src.levels[0]
    assert lv.shape == shape
    assert lv.chunksize == (1, 512, 2048)  # one 512-row band of 4 tiles
    assert lv.numblocks == (3, 16, 4)
    assert int(lv[2, 8000:8100, 8000:8100].compute().sum()) == 0
    # for streaming (convert): tifffile's Zarr array itself, no dask in between
    streamed = open_image(path, streaming=True).levels[0]
    assert not hasattr(streamed, "dask") and streamed.shape == shape
    assert streamed.chunks == (1, 512, 512)  # the file's own tiles
    assert int(streamed[2, 8000:8100, 8000:8100].sum()) == 0


# --- .npy and .zarr -----------------------------------------------------------------------


def test_npy(tmp_path):
    data = ramp((3, 200, 300), dtype="float32")
    path = tmp_path / "a.npy"
    np.save(path, data)
    src = open_image(path)
    assert src.metadata.axes == "CYX"
    assert src.metadata.name == "a"
    np.testing.assert_array_equal(src.levels[0].compute(), data)
    rgb = tmp_path / "rgb.npy"
    np.save(rgb, ramp((50, 60, 3), dtype="uint8"))
    assert open_image(rgb).metadata.axes == "YXS"


@pytest.mark.parametrize("fmt", [2, 3])
def test_zarr_plain_array(tmp_path, fmt):
    import zarr

    data = ramp((2, 3, 64, 96))
    path = tmp_path / "arr.zarr"
    z = zarr.create_array(str(path), shape=data.shape, chunks=(1, 1, 32, 32), dtype=data.dtype, zarr_format=fmt)
    z[:] = data
    src = open_image(path)
    assert src.metadata.axes == "CZYX"
    assert src.levels[0].chunksize == (1, 1, 32, 32)
    np.testing.assert_array_equal(src.levels[0].compute(), data)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_multiscales(tmp_path, version):
    """OME-Zarr 0.4 (Zarr v2, attributes at the top) and 0.5 (Zarr v3, under "ome")."""
    import zarr

    data = ramp((2, 128, 96))
    path = tmp_path / "img.ome.zarr"
    root = zarr.open_group(str(path), mode="w", zarr_format=2 if version == "0.4" else 3)
    levels = [data, halves(data)]
    for i, lv in enumerate(levels):
        a = root.create_array(str(i), shape=lv.shape, chunks=(1, 64, 64), dtype=lv.dtype)
        a[:] = lv
    attrs = {}
    attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [
                {"name": "c", "type": "channel"},
                {"name": "y", "type": "space", "unit": "micrometer"},
                {"name": "x", "type": "space", "unit": "micrometer"},
            ],
            "datasets": [
                {
                    "path": str(i),
                    "coordinateTransformations": [{"type": "scale", "scale": [1.0, 0.4 * 2**i, 0.4 * 2**i]}],
                }
                for i in range(2)
            ],
        }
    ]
    attrs["omero"] = {
        "channels": [
            {"label": "DAPI", "color": "0000FF", "window": {"start": 0, "end": 3000}},
            {"label": "CD45", "color": "FF0000", "window": {"start": 10, "end": 900}},
        ]
    }
    if version == "0.4":
        root.attrs.update(attrs)
    else:
        root.attrs["ome"] = {"version": "0.5", **attrs}
    src = open_image(path)
    m = src.metadata
    assert m.axes == "CYX"
    assert [lv.shape for lv in src.levels] == [(2, 128, 96), (2, 64, 48)]
    assert m.channel_names == ["DAPI", "CD45"]
    assert m.channel_colors == [(0, 0, 255), (255, 0, 0)]
    assert m.contrast_limits == [(0.0, 3000.0), (10.0, 900.0)]
    assert m.physical_sizes == pytest.approx({"x": 0.4, "y": 0.4})
    np.testing.assert_array_equal(src.levels[1].compute(), halves(data))


# --- bad input ----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(NapariVivError, match=r"nope\.tif: no such file"):
        open_image(tmp_path / "nope.tif")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.ome.tif"
    p.write_bytes(b"")
    with pytest.raises(NapariVivError, match=r"empty\.ome\.tif: file is empty"):
        open_image(p)


def test_not_a_tiff(tmp_path):
    p = tmp_path / "notes.ome.tif"
    p.write_text("hello, I am text")
    with pytest.raises(NapariVivError, match=r"notes\.ome\.tif: not a TIFF"):
        open_image(p)


def test_plain_folder(tmp_path):
    with pytest.raises(NapariVivError, match="is a folder"):
        open_image(tmp_path)


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_tiff(tmp_path, keep):
    data = ramp((2, 512, 512))
    p = tmp_path / "cut.ome.tif"
    write_subifd_pyramid(p, data, 2, tile=256, metadata={"axes": "CYX"})
    raw = p.read_bytes()
    # tifffile writes image data before each IFD, so cutting inside it leaves
    # a header pointing past the end of the file (or a broken IFD chain).
    p.write_bytes(raw[: int(len(raw) * keep)])
    with pytest.raises(NapariVivError, match=r"cut\.ome\.tif"):
        src = open_image(p)
        src.levels[-1].compute()  # (only reached if open_image missed it)


def test_bad_header_only_tiff(tmp_path):
    p = tmp_path / "stub.tif"
    p.write_bytes(b"II*\x00" + b"\x00" * 4)  # magic, IFD offset 0
    with pytest.raises(NapariVivError, match=r"stub\.tif"):
        open_image(p)


def test_bad_npy_and_too_many_dims(tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(NapariVivError, match=r"bad\.npy: not a readable \.npy"):
        open_image(bad)
    six = tmp_path / "six.npy"
    np.save(six, np.zeros((2, 2, 2, 2, 8, 8), np.uint8))
    with pytest.raises(NapariVivError, match=r"six\.npy: 6 dimensions"):
        open_image(six)


def test_zarr_group_without_image(tmp_path):
    import zarr

    zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    with pytest.raises(NapariVivError, match=r"g\.zarr: Zarr group without"):
        open_image(tmp_path / "g.zarr")


def test_guess_axes():
    assert guess_axes((10, 20)) == "YX"
    assert guess_axes((5, 20, 30)) == "CYX"
    assert guess_axes((20, 30, 3)) == "YXS"
    assert guess_axes((2, 5, 20, 30)) == "CZYX"
    assert guess_axes((1, 2, 5, 20, 30)) == "TCZYX"


def test_bioformats_written_pyramid(tmp_path):
    """A pyramid written by bfconvert (Bio-Formats' own OME-TIFF flavour)."""
    import os
    import shutil
    import subprocess

    jar = os.environ.get("NAPARI_VIV_BIOFORMATS_JAR")
    if not jar or not os.path.exists(jar) or shutil.which("java") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("NAPARI_VIV_BIOFORMATS_JAR / java missing in CI")
        pytest.skip("Bio-Formats jar or java not available (run .ci/run)")
    data = ramp((2, 600, 800))
    src_tif = tmp_path / "in.ome.tif"
    tifffile.imwrite(
        src_tif,
        data,
        metadata={"axes": "CYX", "Channel": {"Name": ["one", "two"]}, "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65},
    )
    out = tmp_path / "bf.ome.tif"
    subprocess.run(
        [
            "java",
            "-cp",
            jar,
            "loci.formats.tools.ImageConverter",
            "-noflat",
            "-pyramid-resolutions",
            "3",
            "-pyramid-scale",
            "2",
            "-tilex",
            "256",
            "-tiley",
            "256",
            "-compression",
            "LZW",
            str(src_tif),
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    src = open_image(out)
    assert src.metadata.axes == "CYX"
    assert [lv.shape for lv in src.levels] == [(2, 600, 800), (2, 300, 400), (2, 150, 200)]
    assert src.metadata.channel_names == ["one", "two"]
    assert src.metadata.physical_sizes == pytest.approx({"x": 0.65, "y": 0.65})
    np.testing.assert_array_equal(src.levels[0].compute(), data)


test_bioformats_written_pyramid = pytest.mark.bioformats(pytest.mark.slow(test_bioformats_written_pyramid))


def test_memory_maps_open_lazily_in_bands(tmp_path):
    """A 1 GiB .npy (sparse on disk) opens as a lazy memory map in row bands.

    (How much memory a read takes is measured in benchmarks/, not asserted.)
    """
    path = tmp_path / "big.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype="uint16", shape=(8, 8192, 8192)).flush()
    src = open_image(path)
    assert src.levels[0].chunksize == (1, CHUNK_ROWS, min(MEMMAP_COLS, 8192))
    assert int(src.levels[0][7, -10:, -10:].compute().sum()) == 0
    for block in src.levels[0][:, :1024].to_delayed().ravel():
        assert not block.compute().any()


def test_multi_file_ome_and_missing_part(tmp_path):
    """Planes split over two files (TiffData UUID FileName); one file gone is refused."""
    u0, u1 = "urn:uuid:00000000-0000-0000-0000-000000000001", "urn:uuid:00000000-0000-0000-0000-000000000002"
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><OME xmlns="{OME_NS}" UUID="{u0}">'
        '<Image ID="Image:0" Name="mf"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint8" '
        'SizeX="40" SizeY="30" SizeC="2" SizeZ="1" SizeT="1">'
        '<Channel ID="Channel:0:0" SamplesPerPixel="1" Name="A"/>'
        '<Channel ID="Channel:0:1" SamplesPerPixel="1" Name="B"/>'
        f'<TiffData FirstC="0" IFD="0" PlaneCount="1"><UUID FileName="mf0.ome.tif">{u0}</UUID></TiffData>'
        f'<TiffData FirstC="1" IFD="0" PlaneCount="1"><UUID FileName="mf1.ome.tif">{u1}</UUID></TiffData>'
        "</Pixels></Image></OME>"
    )
    a, b = ramp((30, 40), "uint8", seed=3), ramp((30, 40), "uint8", seed=4)
    tifffile.imwrite(tmp_path / "mf0.ome.tif", a, description=xml.encode(), metadata=None)
    # the second file is larger than the first: offsets are checked against their own file
    tifffile.imwrite(
        tmp_path / "mf1.ome.tif", b, description=(xml.replace(u0, u1) + " " * 5000).encode(), metadata=None
    )
    src = open_image(tmp_path / "mf0.ome.tif")
    assert src.metadata.channel_names == ["A", "B"]
    np.testing.assert_array_equal(src.levels[0].compute(), np.stack([a, b]))
    (tmp_path / "mf1.ome.tif").unlink()
    with pytest.raises(NapariVivError, match=r"mf0\.ome\.tif: 1 of 2 planes are missing"):
        open_image(tmp_path / "mf0.ome.tif")


def test_series_on_single_image_inputs(tmp_path):
    np.save(tmp_path / "one.npy", ramp((8, 8)))
    assert open_image(tmp_path / "one.npy", series=0).shape == (8, 8)
    with pytest.raises(NapariVivError, match=r"one\.npy: holds a single image"):
        open_image(tmp_path / "one.npy", series=1)


@pytest.mark.parametrize("compressed", [False, True])
def test_big_endian_tiff_reads_native(tmp_path, compressed):
    data = ramp((2, 90, 110))
    path = tmp_path / "be.tif"
    kw = {"compression": "zlib", "tile": (64, 64)} if compressed else {}
    tifffile.imwrite(path, data, byteorder=">", photometric="minisblack", **kw)
    lv = open_image(path).levels[0]
    assert lv.dtype == np.dtype("uint16") and lv.dtype.isnative
    got = lv.compute()
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, data)


def test_one_tall_strip_per_plane_is_read_in_bands(tmp_path, monkeypatch):
    """Compressed single-strip planes of odd height: 512-row bands from one decode."""
    import napari_viv.read.tiff as sources_tiff

    caches = []

    class Recorded(sources_tiff.StripCache):
        def __init__(self, *args):
            super().__init__(*args)
            caches.append(self)

    monkeypatch.setattr(sources_tiff, "StripCache", Recorded)
    data = ramp((2, 1500, 700))
    path = tmp_path / "strip.tif"
    tifffile.imwrite(path, data, compression="zlib", rowsperstrip=1500, photometric="minisblack")
    with tifffile.TiffFile(path) as t:
        assert len(t.pages.first.dataoffsets) == 1
    lv = open_image(path).levels[0]
    assert lv.chunks[1] == (512, 512, 476)
    for plane in range(2):  # band by band, as the writer reads
        for y0 in range(0, 1500, 512):
            np.testing.assert_array_equal(
                lv[plane, y0 : y0 + 512].compute(scheduler="sync"), data[plane, y0 : y0 + 512]
            )
    assert [c.decodes for c in caches] == [2]  # one decode per plane, not per band
    np.testing.assert_array_equal(lv.compute(), data)
    np.testing.assert_array_equal(lv[1, 1000:1100, 5:9].compute(), data[1, 1000:1100, 5:9])
    np.testing.assert_array_equal(lv[:, ::7, 3].compute(), data[:, ::7, 3])


def test_unknown_compression_is_refused_at_open(tmp_path):
    path = tmp_path / "odd.tif"
    tifffile.imwrite(path, ramp((64, 64)), tile=(32, 32), photometric="minisblack")
    with tifffile.TiffFile(path) as t:
        tag = t.pages.first.tags[259]  # Compression, a SHORT stored in the IFD entry
        offset = tag.valueoffset
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write((50123).to_bytes(2, "little"))  # a code no codec claims
    with pytest.raises(NapariVivError, match=r"odd\.tif: .*compression.*cannot be decoded"):
        open_image(path)


def test_read_exports_no_chunk_constants():
    """Chunk sizes live in lazy.py; read/ exports openers, not their tuning."""
    import napari_viv.read

    assert not {"CHUNK_COLS", "CHUNK_ROWS", "MEMMAP_COLS"} & set(napari_viv.read.__all__)
    assert not hasattr(napari_viv.read, "CHUNK_ROWS")
