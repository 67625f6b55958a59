"""The TIFF sink: encoded tiles into a Viv pyramidal OME-TIFF.

tifffile's ``TiffWriter`` lays the file out: per plane, level 0 in the main
IFD chain (the OME-XML in the first IFD's description), then the plane's
lower levels as SubIFDs. The file is written into an unnamed temporary file
and published with its ``offsets.json`` and view file by
:class:`~napari_viv.write.atomic.AtomicPair`, so an error or a cancel leaves
nothing at any output path.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from .. import naming
from ..errors import NapariVivError
from .atomic import AtomicPair
from .codecs import Codec
from .offsets import offsets_json, offsets_of
from .plan import PyramidPlan
from .sink import TileSink


def tiff_tags(codec: Codec) -> dict[str, Any]:
    """TiffWriter keywords for tiles encoded with ``codec`` (compression, predictor, photometric)."""
    return {
        "compression": codec.tiff_compression,
        "predictor": codec.predictor,
        "photometric": codec.photometric,
        "subsampling": codec.subsampling,
    }


class TiffSink(TileSink):
    """Write the plan's tiles as a pyramidal OME-TIFF at ``path``, with its sidecars.

    Parameters
    ----------
    plan : PyramidPlan
        What is written.
    path : pathlib.Path
        The ``.ome.tif`` output; ``offsets.json`` and ``view.json`` go beside it.
    description : bytes
        The OME-XML, written into the first IFD.
    overwrite : bool, default False
        Replace existing outputs instead of refusing.
    """

    ordered = True

    def __init__(self, plan: PyramidPlan, path: Path, description: bytes, *, overwrite: bool = False) -> None:
        super().__init__(plan)
        self.path = Path(path)
        self.offsets_path = naming.offsets_path(self.path)
        self.view_path = naming.view_path(self.path)
        self._description = description
        self._view_written = False
        self._pair = AtomicPair(self.path, self.offsets_path, view_path=self.view_path, overwrite=overwrite)
        self._writer: Any = None
        t = plan.tile_size
        self._common = dict(
            dtype=plan.dtype,
            tile=(t, t),
            planarconfig="contig",
            metadata=None,
            software="napari-viv",
            **tiff_tags(plan.codec),
        )
        self._extra = (3,) if plan.rgb else ()

    def __enter__(self) -> TiffSink:
        """Check the folder and outputs and open the unnamed temporary file."""
        import tifffile

        self._pair.__enter__()
        try:
            self._writer = tifffile.TiffWriter(self._pair.file, bigtiff=True, byteorder="<")
        except BaseException:
            self._pair.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        """Close the writer and discard whatever was not published."""
        try:
            if self._writer is not None:
                self._writer.close()
        except Exception:  # noqa: BLE001 - the export has failed already; nothing is published
            pass
        finally:
            self._writer = None
            self._pair.__exit__(*exc)

    def scratch(self) -> IO[bytes]:
        """Open an unnamed scratch file in the output folder (caller closes)."""
        return self._pair.temporary_file()

    def _level0_tags(self, plane: int) -> dict[str, Any]:
        plan = self.plan
        tags = dict(self._common)
        copied = plan.copy_level0
        if copied is not None:  # level 0 keeps the source's JPEG layout and tables
            tags.update(photometric=copied.photometric, subsampling=copied.subsampling, jpegtables=copied.jpegtables)
            if copied.photometric == "rgb":
                # RGB-coded JPEG tiles (as Aperio writes them): tifffile labels JPEG RGB as
                # YCbCr unless told the tiles are RGB (a fresh dict: tifffile fills it in).
                tags["compressionargs"] = {"outcolorspace": "rgb"}
        return dict(
            tags,
            subifds=plan.nlevels - 1 if plan.nlevels > 1 else None,
            description=self._description if plane == 0 else None,
        )

    def put_level(self, plane: int, level: int, tiles: Iterable[bytes]) -> None:
        """Write one level of one plane: level 0 as a main IFD, the others as its SubIFDs."""
        tags = self._level0_tags(plane) if level == 0 else dict(self._common, subfiletype=1)
        try:
            self._writer.write(data=iter(tiles), shape=self.plan.level_shapes[level] + self._extra, **tags)
        except OSError as exc:
            raise NapariVivError(f"writing failed: {exc}", subject=self.path) from exc

    def commit(self, view: bytes | None = None) -> None:
        """Finish the TIFF, read its IFD offsets, publish it with offsets.json and the view file."""
        try:
            self._writer.close()
            self._writer = None
            out = self._pair.file
            out.flush()
            out.seek(0)
            offsets = offsets_of(out)
        except OSError as exc:
            raise NapariVivError(f"writing failed: {exc}", subject=self.path) from exc
        self._pair.commit(offsets_json(offsets), view)
        self._view_written = view is not None

    @property
    def nbytes(self) -> int:
        """Size of the published image file."""
        return self.path.stat().st_size

    @property
    def paths(self) -> dict[str, Path | None]:
        """The image, its offsets.json and its view file (None until one is published)."""
        return {
            "image": self.path,
            "offsets": self.offsets_path,
            "view": self.view_path if self._view_written else None,
        }
