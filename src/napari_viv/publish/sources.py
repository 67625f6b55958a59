"""What is published: exports and OME-Zarr stores as they are, folders of them, or inputs converted on the way."""

from __future__ import annotations

from pathlib import Path

from .. import naming
from ..errors import NapariVivError


def is_export(path: Path) -> bool:
    """Whether ``path`` is a Viv-compatible export: an ``.ome.tif`` with its offsets file beside it."""
    return path.is_file() and naming.is_viv_name(path.name) and naming.offsets_path(path).is_file()


def is_store(path: Path) -> bool:
    """Whether ``path`` is a Zarr store to publish as it is: a ``.zarr`` folder with Zarr metadata at its root.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "a.ome.zarr"
    >>> store.mkdir()
    >>> is_store(store), (store / ".zgroup").write_text("{}") > 0, is_store(store)
    (False, True, True)
    """
    from ..write.zarrsink import is_zarr_store

    return path.is_dir() and naming.is_zarr_name(path) and is_zarr_store(path)


def _published_as(path: Path) -> str | None:
    """Return the format ``path`` is published in as it is, or None when it must be converted first."""
    if is_store(path):
        return "ome-zarr"
    return "ome-tiff" if is_export(path) else None


def exports_for(sources: list[Path], workdir: Path, *, convert=None, progress=None, cancel=None) -> list[Path]:
    """Find the exports and stores to publish for ``sources``, converting what is not one yet into ``workdir``.

    Parameters
    ----------
    sources : list of Path
        Exports (``.ome.tif`` with offsets), OME-Zarr stores, folders of them (a
        batch's output), or any input ``convert`` reads.
    workdir : Path
        Where conversions are written (a temporary folder the caller removes).
    convert : ConvertOptions, optional
        How inputs are converted. Its ``format``, when given, is the format
        published: an export or store in the other format is converted too
        (``--format ome-zarr`` turns an ``.ome.tif`` into a store). None: exports
        and stores as they are, other inputs to OME-TIFF.
    progress, cancel : callable, optional
        Passed to :func:`napari_viv.convert.convert_one` for each conversion.

    Returns
    -------
    list of Path
        The ``.ome.tif`` files and ``.ome.zarr`` stores, in the order given (a
        folder's sorted by name).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from napari_viv.convert import ConvertOptions
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(tmp / "a.npy", np.zeros((32, 32), np.uint8))
    >>> [p.name for p in exports_for([tmp / "a.npy"], tmp, convert=ConvertOptions(format="ome-zarr"))]
    ['a.ome.zarr']
    """
    from ..convert import ConvertOptions

    options = convert or ConvertOptions()
    out: list[Path] = []
    for src in map(Path, sources):
        if src.is_dir() and not naming.is_zarr_name(src):
            found = sorted(p for p in src.iterdir() if _published_as(p))
            if not found:
                raise NapariVivError(
                    "holds no exported .ome.tif (with its offsets.json) or .ome.zarr store to publish", subject=src
                )
            out += [_converted(p, workdir, options, progress, cancel) for p in found]
        elif not src.exists():
            raise NapariVivError("no such file or folder", subject=src)
        else:
            out.append(_converted(src, workdir, options, progress, cancel))
    return out


def _converted(src: Path, workdir: Path, options, progress, cancel) -> Path:
    """``src`` itself when it is published as it is, else its conversion in ``workdir``."""
    from ..convert import convert_one

    fmt = _published_as(src)
    if fmt == "ome-zarr" and options.format in (None, fmt):
        return _viv_store(src)
    if fmt is not None and options.format in (None, fmt):
        return src
    target_format = options.format or "ome-tiff"
    stem = naming.file_stem_for(naming.stem(src))
    target, n = workdir / f"{stem}{naming.format_suffix(target_format)}", 2
    while target.exists():  # two inputs with one stem
        target, n = workdir / f"{stem}-{n}{naming.format_suffix(target_format)}", n + 1
    _source, result = convert_one(src, target, options, progress=progress, cancel=cancel)
    return result.image


def _viv_store(store: Path) -> Path:
    """``store``, once its metadata says Viv opens it (``napari-viv check``'s rules); else one line why not."""
    from ..check.zarr import check_store

    report = check_store(store)
    if not report.ok:
        first = report.errors[0]
        raise NapariVivError(
            f"Viv cannot open this store: {first.message}; {first.fix} (napari-viv check says more)", subject=store
        )
    return store
