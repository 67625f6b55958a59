"""Finding level-0 tiles of a source that an export can copy as they are."""

from __future__ import annotations

from pathlib import Path

from ..encoded import EncodedTiles

#: Photometric values (TIFF codes) whose JPEG tiles Viv draws correctly.
_PHOTOMETRIC = {2: "rgb", 6: "ycbcr"}


def jpeg_level0(path, series: int | None = None) -> tuple[EncodedTiles | None, str | None]:
    """The JPEG tiles of level 0 of ``path`` if they can be copied into a Viv export.

    Returns ``(tiles, None)`` when level 0 is tiled 8-bit RGB JPEG (YCbCr or RGB
    photometric, interleaved) with square power-of-two tiles; ``(None, reason)``
    when it is JPEG but cannot be copied (the reason is one line for the user);
    ``(None, None)`` when it is not JPEG RGB at all.
    """
    import tifffile

    path = Path(path)
    with tifffile.TiffFile(path) as tif:
        s = tif.series[series or 0]
        page = s.pages[0] if s.pages else None
        if page is None or not hasattr(page, "compression") or int(page.compression) != 7:
            return None, None
        if page.samplesperpixel != 3 or page.dtype is None or page.dtype.itemsize != 1:
            return None, None
        if int(page.photometric) not in _PHOTOMETRIC or int(page.planarconfig) != 1:
            return None, (
                f"{path.name}: level 0 is JPEG with photometric {page.photometric.name}; its tiles are re-encoded"
            )
        if not page.is_tiled:
            return None, f"{path.name}: level 0 is JPEG in strips, not tiles; it is re-encoded"
        t = page.tilewidth
        if page.tilelength != t or t < 16 or t & (t - 1):
            return None, (
                f"{path.name}: JPEG tiles are {page.tilewidth}x{page.tilelength}, "
                "not a square power of two as Viv needs; they are re-encoded"
            )
        sub = page.tags.get("YCbCrSubSampling")
        return EncodedTiles(
            path=path,
            compression=7,
            photometric=_PHOTOMETRIC[int(page.photometric)],
            subsampling=tuple(sub.value) if sub is not None and int(page.photometric) == 6 else None,
            jpegtables=page.jpegtables,
            tile=t,
            shape=(page.imagelength, page.imagewidth, 3),
            offsets=tuple(page.dataoffsets),
            bytecounts=tuple(page.databytecounts),
        ), None
