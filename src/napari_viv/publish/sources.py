"""What is published: exported images as they are, batch output folders, or inputs converted on the way."""

from __future__ import annotations

from pathlib import Path

from .. import naming
from ..errors import NapariVivError


def is_export(path: Path) -> bool:
    """Whether ``path`` is a Viv-compatible export: an ``.ome.tif`` with its offsets file beside it."""
    return path.is_file() and naming.is_viv_name(path.name) and naming.offsets_path(path).is_file()


def exports_for(sources: list[Path], workdir: Path, *, progress=None, cancel=None) -> list[Path]:
    """Find the exports to publish for ``sources``, converting what is not one yet into ``workdir``.

    Parameters
    ----------
    sources : list of Path
        Exports, folders of exports (a batch's output), or any input ``convert`` reads.
    workdir : Path
        Where conversions are written (a temporary folder the caller removes).
    progress, cancel : callable, optional
        Passed to :func:`napari_viv.export_pyramid` for each conversion.

    Returns
    -------
    list of Path
        The ``.ome.tif`` files, in the order given (a folder's sorted by name).
    """
    from .. import export_pyramid, open_image

    out: list[Path] = []
    for src in sources:
        src = Path(src)
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if is_export(p))
            if not found:
                raise NapariVivError("holds no exported .ome.tif (with its offsets.json) to publish", subject=src)
            out += found
        elif is_export(src):
            out.append(src)
        elif not src.exists():
            raise NapariVivError("no such file or folder", subject=src)
        else:
            image = open_image(src, streaming=True)
            target = workdir / f"{naming.file_stem_for(naming.stem(src))}.ome.tif"
            try:
                result = export_pyramid(
                    image.levels[0], target, metadata=image.metadata, progress=progress, cancel=cancel
                )
            except NapariVivError as err:
                raise err.about(src) from err
            out.append(result.image)
    return out
