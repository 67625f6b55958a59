"""export_pyramid(): stream any array into a Viv-compatible pyramidal OME-TIFF.

The export is worked out once, as a plan (plan.py), from the source levels,
the metadata and the options. The stream (stream.py) then reads the source
once, halves it into the levels below and encodes the tiles on a thread
pool, and a sink (tiffsink.py) stores the encoded tiles and publishes the
file with its ``offsets.json`` and view file atomically (atomic.py).
A level of a multiscale input whose shape is exactly a pyramid level is
read instead of recomputed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .. import naming
from ..errors import NapariVivError
from ..lazy import MemmapWindow, shared_mapping
from ..metadata import ImageMetadata
from ..ome.build import build_ome_xml
from ..system import cpu_count
from ..viewfile import view_document, view_json
from .layout import rgb_channel_look
from .ngff import ngff_attributes
from .plan import ExportOptions, PyramidPlan, plan_export
from .sink import TileSink
from .stream import Tuning, part_of, run_stream
from .tiffsink import TiffSink
from .zarrlabels import LabelImage, check_label_images, plan_labels, write_labels
from .zarrsink import SHARD_TILES, ZarrSink


def _as_levels(data, memmap_span: int) -> list:
    """Return ``data`` as a list of sliceable levels, level 0 first.

    A list or tuple, or any other sequence (not an array) whose items have
    a ``shape`` (napari's multiscale data), is a list of levels; anything
    else is level 0 alone. Memory-mapped numpy levels are read through a
    window whose pages are handed back after each read.
    """
    if isinstance(data, Sequence) and len(data) and hasattr(data[0], "shape"):
        levels = [data[i] for i in range(len(data))]
    else:
        levels = [data]
    out = []
    for lv in levels:
        if not (hasattr(lv, "shape") and hasattr(lv, "dtype") and hasattr(lv, "__getitem__")):
            lv = np.asarray(lv)
        if isinstance(lv, np.ndarray) and shared_mapping(lv) is not None:
            # read in pieces, pages handed back after each: RSS stays flat
            lv = MemmapWindow(lv, span=memmap_span)
        out.append(lv)
    return out


def _merge_metadata(metadata, axes, channel_names, channel_colors, physical_sizes, unit, name):
    md = replace(metadata) if metadata is not None else ImageMetadata()
    if axes is not None:
        md.axes = axes
    if channel_names is not None:
        md.channel_names = list(channel_names)
    if channel_colors is not None:
        md.channel_colors = list(channel_colors)
    if physical_sizes is not None:
        md.physical_sizes = dict(physical_sizes)
    if unit is not None:
        md.unit = unit
    if name is not None:
        md.name = name
    return md


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_pyramid` wrote."""

    #: The pyramidal OME-TIFF, or the OME-Zarr store (a folder).
    image: Path
    #: Its ``offsets.json`` (None for an OME-Zarr store, which needs none).
    offsets: Path | None
    #: Its ``view.json`` (colours, limits, visibility), or None if none was written.
    view: Path | None
    #: (Y, X) of every level, level 0 first.
    level_shapes: tuple[tuple[int, int], ...]
    #: Planes per level (T * C * Z; 1 for RGB).
    planes: int
    #: Size of the image file (or of every file of the store) in bytes.
    nbytes: int
    #: Wall time of the export in seconds.
    seconds: float

    @property
    def paths(self) -> list[Path]:
        """Every path written: image, offsets and view (when written)."""
        return [p for p in (self.image, self.offsets, self.view) if p is not None]


def export_pyramid(
    data,
    path,
    *,
    axes=None,
    metadata: ImageMetadata | None = None,
    channel_names=None,
    channel_colors=None,
    physical_sizes=None,
    unit=None,
    name=None,
    tile_size=512,
    levels="auto",
    compression=None,
    downsample="mean",
    workers=None,
    overwrite=False,
    progress=None,
    cancel=None,
    copy_level0=None,
    format: str | None = None,  # noqa: A002 - the name users know from the CLI's --format
    ngff: str = "0.4",
    shard_size: int | None = None,
    tuning: Tuning | None = None,
    labels: Sequence[LabelImage] | None = None,
) -> ExportResult:
    """Write ``data`` as a Viv pyramidal OME-TIFF plus its ``offsets.json``.

    Parameters
    ----------
    data : array-like or sequence of array-like
        A numpy, dask or zarr array (anything with ``shape``, ``dtype`` and
        slicing), or the levels of a multiscale image, level 0 first: a list
        or tuple, or any other sequence whose items have a ``shape`` (such as
        napari's multiscale data). Levels that are exact halves of the level
        above are read instead of recomputed.
    path : str or os.PathLike
        The output file. ``x.tif`` becomes ``x.ome.tif`` and a name without
        a TIFF suffix gets ``.ome.tif`` (see :func:`napari_viv.naming.output_path`).
    axes : str, optional
        Axis letters of ``data`` from ``TCZYXS``, outermost first; guessed
        from the number of dimensions when omitted (2: YX, 3: CYX or YXS for
        uint8 RGB, 4: CZYX, 5: TCZYX).
    metadata : ImageMetadata, optional
        Names, colours, physical sizes and axes in one object; the keyword
        arguments below override its fields.
    channel_names : list of str, optional
        One name per channel.
    channel_colors : list of (int, int, int), optional
        One 0-255 RGB colour per channel.
    physical_sizes : dict or tuple, optional
        Pixel size per axis, e.g. ``{"X": 0.5, "Y": 0.5}`` or ``(0.5, 0.5)`` for (Y, X).
    unit : str, optional
        Unit of ``physical_sizes`` (default ``"µm"``).
    name : str, optional
        The OME Image name (default: the file stem).
    tile_size : int or str, default 512
        Square tile edge, a power of two >= 16.
    levels : int or "auto", default "auto"
        Number of pyramid levels; "auto" halves until the smallest level fits one tile.
    compression : str, optional
        OME-TIFF: ``"zlib"`` (default), ``"zlib:LEVEL"`` (1-12), ``"lzw"``,
        ``"none"`` or (8-bit only) ``"jpeg"`` / ``"jpeg:QUALITY"``. OME-Zarr:
        ``"blosc"`` (default: blosc-zstd level 1 with bit-shuffle), ``"blosc-zstd:L"``,
        ``"blosc-lz4:L"``, ``"zstd:L"``, ``"zlib"``/``"zlib:L"`` (gzip in Zarr v3) or ``"none"``.
    downsample : {"mean", "nearest"}, default "mean"
        How each level is made from the one above.
    workers : int, optional
        Encoding threads (default: the CPUs this process may use).
    overwrite : bool, default False
        Replace an existing output instead of refusing.
    progress : callable, optional
        ``progress(done_tiles, total_tiles)``, called on the calling thread; the
        tiles of ``labels`` count too (they are written after the image's).
    cancel : callable, optional
        Polled; returning true stops the export with :class:`Cancelled`.
    copy_level0 : EncodedTiles, optional
        The source's own JPEG tiles of level 0 (from
        :func:`napari_viv.read.jpeg.jpeg_level0`), copied byte for byte with
        their JPEG tables instead of re-encoded; ``data`` is still read for the
        lower levels. Needs ``compression="jpeg"``, RGB data of the same shape
        and ``tile_size`` equal to the tiles' size.
    format : {"ome-tiff", "ome-zarr"}, optional
        The output format; by default an OME-Zarr (NGFF 0.4, Zarr v2) store
        when ``path`` ends in ``.ome.zarr`` or ``.zarr``, else an OME-TIFF.
        An OME-Zarr store holds RGB as three channels, takes the Zarr codecs
        and has no ``offsets.json``.
    ngff : {"0.4", "0.5"}, default "0.4"
        The NGFF version of an OME-Zarr: 0.4 on Zarr v2, one file per tile
        (what Avivator, vizarr, napari-ome-zarr, QuPath and Fiji read), or
        0.5 on Zarr v3 with the tiles grouped into shards.
    shard_size : int, optional
        Shard edge in pixels for NGFF 0.5, a multiple of ``tile_size``
        (default 8 tiles: 4096 px for 512-px tiles).
    tuning : Tuning, optional
        Internal: the streaming sizes (block columns, spill threshold,
        memory-map span). They change memory use and the order of reads,
        never the file written; tests shrink them so that small images take
        the paths large ones take.
    labels : sequence of LabelImage, optional
        OME-Zarr only: label images written into the store's ``labels/``
        group (NGFF ``image-label``, nearest-neighbour levels; see
        :mod:`napari_viv.write.zarrlabels`), published with the image in the
        same rename: the store appears whole or not at all.

    Returns
    -------
    ExportResult
        The paths written (``image``, ``offsets``, and ``view`` when the
        metadata carries colours, contrast limits, visibility, gamma or a
        camera) and summary figures (``level_shapes``, ``planes``, ``nbytes``,
        ``seconds``). On any error or cancel nothing is left at any of these
        paths and no temporary file remains.

    Raises
    ------
    NapariVivError
        About the image (its name, else the output file): bad axes, dtype,
        options, an existing output without ``overwrite``, an unwritable folder.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from napari_viv import export_pyramid
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> image = np.zeros((2, 1024, 1024), np.uint16)
    >>> result = export_pyramid(image, folder / "cells", channel_names=["DAPI", "CD8"])
    >>> result.image.name, result.offsets.name, result.view
    ('cells.ome.tif', 'cells.offsets.json', None)
    >>> result = export_pyramid(image, folder / "cells", overwrite=True,
    ...                         channel_colors=[(0, 0, 255), (0, 255, 0)])
    >>> result.view.name, result.level_shapes
    ('cells.view.json', ((1024, 1024), (512, 512)))
    """
    tuning = tuning or Tuning()
    format = naming.output_format(path, format)
    zarr = format == "ome-zarr"
    out_path = naming.export_path(path, format)
    md = _merge_metadata(metadata, axes, channel_names, channel_colors, physical_sizes, unit, name)
    what = md.name or out_path.name
    options = ExportOptions(
        axes=md.axes or None,
        tile_size=tile_size,
        levels=levels,
        compression=compression,
        downsample=downsample,
        format=format,
        ngff=str(ngff),
    )
    sources = _as_levels(data, tuning.memmap_span)
    plan = plan_export(sources, options, copy_level0=copy_level0, subject=what)
    md = rgb_channel_look(md, md.axes or None, sources[0].shape, plan.layout)  # 16-bit/float RGB: R, G, B
    view = view_document(md, 0 if plan.rgb else plan.sizes["C"])
    started = time.perf_counter()
    shard_tiles = _shard_tiles(shard_size, plan.tile_size, what)
    sink = _sink(plan, out_path, md, what, zarr=zarr, ngff=options.ngff, shard_tiles=shard_tiles, overwrite=overwrite)
    workers = int(workers) if workers else cpu_count()
    if labels:
        # the labels are written after the image: one progress over the tiles of both
        progress = _add_labels(
            sink, labels, md, options, workers=workers, progress=progress, cancel=cancel, tuning=tuning, what=what
        )
    with sink:
        run_stream(
            plan,
            sources,
            sink,
            workers=workers,
            progress=progress,
            cancel=cancel,
            tuning=tuning,
        )
        sink.commit(view_json(view) if view else None)
    paths = sink.paths
    return ExportResult(
        image=out_path,
        offsets=paths["offsets"],
        view=paths["view"],
        level_shapes=tuple((int(h), int(w)) for h, w in plan.level_shapes),
        planes=plan.nplanes,
        nbytes=sink.nbytes,
        seconds=time.perf_counter() - started,
    )


def _add_labels(
    sink: TileSink, labels, md: ImageMetadata, options: ExportOptions, *, what: str, progress=None, **stream
):
    """Have the store's sink write ``labels`` into its ``labels/`` group before it is published.

    Returns the progress callback for the image: ``progress`` counting the
    labels' tiles in the total, so the one progress runs over both (None
    without ``progress``).
    """
    if not isinstance(sink, ZarrSink):
        raise NapariVivError("label images go into an OME-Zarr store, not an OME-TIFF", subject=what)
    check_label_images(labels)
    image = sink.plan.ntiles
    labelled = sum(
        p.ntiles
        for p in plan_labels(
            labels, version=options.ngff, tile_size=sink.plan.tile_size, compression=options.compression
        )
    )
    sink.before_publish = functools.partial(
        write_labels,
        labels=labels,
        metadata=md,
        version=options.ngff,
        tile_size=sink.plan.tile_size,
        compression=options.compression,
        progress=part_of(progress, image, image + labelled),
        **stream,
    )
    return part_of(progress, 0, image + labelled)


def _shard_tiles(shard_size, tile_size: int, what: str) -> int:
    """Tiles per shard side for ``shard_size`` pixels (default SHARD_TILES)."""
    if shard_size is None:
        return SHARD_TILES
    try:
        size = int(shard_size)
    except (TypeError, ValueError):
        size = 0
    if size < tile_size or size % tile_size:
        raise NapariVivError(
            f"shard size {shard_size!r} must be a positive multiple of the tile size ({tile_size})", subject=what
        )
    return size // tile_size


def _sink(
    plan: PyramidPlan,
    path: Path,
    md: ImageMetadata,
    what: str,
    *,
    zarr: bool,
    ngff: str,
    shard_tiles: int,
    overwrite: bool,
) -> TileSink:
    """Make the sink for ``path``: an OME-Zarr store or a pyramidal OME-TIFF, with its metadata."""
    if zarr:
        try:
            attrs = ngff_attributes(plan, md, name=naming.stem(path), version=ngff)
        except NapariVivError as exc:
            raise (exc if exc.subject else exc.about(what)) from None
        return ZarrSink(plan, path, attrs, version=ngff, shard_tiles=shard_tiles, overwrite=overwrite)
    xml = build_ome_xml(plan, md, name=naming.stem(path), what=what)
    return TiffSink(plan, path, xml, overwrite=overwrite)
