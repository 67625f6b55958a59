"""Files and dialogs that the napari tests share (no fixtures here)."""

from __future__ import annotations

import numpy as np


def ome_color(rgb) -> int:
    """OME Channel/@Color: RGBA packed in a signed 32-bit int."""
    r, g, b = rgb
    value = (r << 24) | (g << 16) | (b << 8) | 255
    return value - (1 << 32) if value >= 1 << 31 else value


def write_tifffile_pyramid(
    path,
    levels,
    axes,
    *,
    names=None,
    colors=None,
    pixel_size=None,
    z_size=None,
    time_increment=None,
    tile=128,
):
    """A SubIFD pyramid OME-TIFF from explicit ``levels`` (level 0 first)."""
    import tifffile

    meta: dict = {"axes": axes}
    channel: dict = {}
    if names:
        channel["Name"] = list(names)
    if colors:
        channel["Color"] = [ome_color(c) for c in colors]
    if channel:
        meta["Channel"] = channel
    if pixel_size:
        meta.update(
            PhysicalSizeX=pixel_size,
            PhysicalSizeXUnit="\u00b5m",
            PhysicalSizeY=pixel_size,
            PhysicalSizeYUnit="\u00b5m",
        )
    if z_size:
        meta.update(PhysicalSizeZ=z_size, PhysicalSizeZUnit="\u00b5m")
    if time_increment:
        meta.update(TimeIncrement=time_increment, TimeIncrementUnit="s")
    rgb = axes.endswith("S")
    opts = dict(
        tile=(tile, tile),
        compression="zlib",
        photometric="rgb" if rgb else "minisblack",
    )
    with tifffile.TiffWriter(path, bigtiff=True, ome=True) as tif:
        tif.write(levels[0], subifds=len(levels) - 1, metadata=meta, **opts)
        for level in levels[1:]:
            tif.write(level, subfiletype=1, metadata=None, **opts)
    return path


def halve(a: np.ndarray) -> np.ndarray:
    """2 x 2 mean of the last two dims (floor sizes), in the input dtype."""
    h, w = a.shape[-2] // 2 * 2, a.shape[-1] // 2 * 2
    f = a[..., :h, :w].astype(np.float64)
    out = (f[..., 0::2, 0::2] + f[..., 1::2, 0::2] + f[..., 0::2, 1::2] + f[..., 1::2, 1::2]) / 4
    return out.astype(a.dtype)


#: The entry napari's Save dialog shows for our writer.
FILTER_TITLE = "napari-viv pyramidal OME-TIFF for Viv (*.ome.tif *.ome.tiff)"


def save_like_dialog(viewer, filename, *, selected=True):
    """Do what File > Save Selected Layers… does once the user has typed
    ``filename`` and picked our filter: napari decodes the filter into our
    writer and calls it with the path exactly as typed."""
    from napari._qt.qt_viewer import _npe2_decode_selected_filter
    from napari.plugins import _npe2

    layers = list(viewer.layers.selection) if selected else list(viewer.layers)
    ext_str, writers = _npe2.file_extensions_string_for_layers(layers)
    assert FILTER_TITLE in ext_str.split(";;"), ext_str
    writer = _npe2_decode_selected_filter(ext_str, FILTER_TITLE, writers)
    return viewer.layers.save(str(filename), selected=selected, _writer=writer)


_QPI = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    "<PerkinElmer-QPI-ImageDescription><DescriptionVersion>2</DescriptionVersion>"
    "<AcquisitionSoftware>PerkinElmer-QPI</AcquisitionSoftware>"
    "<ImageType>{kind}</ImageType><Name>{name}</Name><Color>{color}</Color>"
    "</PerkinElmer-QPI-ImageDescription>"
)


def write_qptiff_like(path, levels, names, colors, *, um_per_px=0.5):
    """A Vectra-style QPTIFF: one page per channel and level, QPI XML."""
    import tifffile

    per_cm = 1e4 / um_per_px
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        for i, level in enumerate(levels):
            kind = "FullResolution" if i == 0 else "ReducedResolution"
            for c, plane in enumerate(level):
                desc = _QPI.format(kind=kind, name=names[c], color=",".join(map(str, colors[c])))
                tw.write(
                    plane,
                    tile=(128, 128),
                    compression="zlib",
                    software="PerkinElmer-QPI",
                    description=desc,
                    metadata=None,
                    photometric="minisblack",
                    resolution=(per_cm, per_cm),
                    resolutionunit="CENTIMETER",
                )
            if i == 0:
                tw.write(
                    np.zeros((32, 32, 3), np.uint8),
                    software="PerkinElmer-QPI",
                    description=_QPI.format(kind="Thumbnail", name="", color=""),
                    metadata=None,
                    photometric="rgb",
                )
    return path
