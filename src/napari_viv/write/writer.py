"""export_pyramid(): stream any array into a Viv-compatible pyramidal OME-TIFF.

Two halves run side by side:

* a producer thread (stream.py) reads the source once, in blocks of one
  tile row by a few thousand columns, has a thread pool encode the tiles
  (predictor + codec from imagecodecs, which releases the GIL) and halves
  each block into the levels below (``downsample``);
* the calling thread hands tifffile the encoded tiles in file order:
  level 0 of a plane as it is produced, then the plane's SubIFD levels,
  whose tiles wait in a TileStore (RAM, then an unnamed scratch file).

The producer runs a bounded number of tiles ahead, across planes, so the
encoders never wait for the writer. A level of a multiscale input whose
shape is exactly the next pyramid level is copied instead of recomputed.

The file and its ``offsets.json`` are published atomically (see atomic.py).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .atomic import AtomicPair
from ..viewfile import view_document, view_json
from .codecs import DEFAULT_COMPRESSION, Codec, choose_codec
from .downsample import METHODS
from .. import naming
from ..errors import NapariVivError
from .layout import Layout, resolve_layout, rgb_channel_look
from ..metadata import ImageMetadata
from .offsets import offsets_json, offsets_of
from .omexml import build_ome_xml
from .plan import PyramidPlan, plan_pyramid
from ..lazy import MemmapWindow, shared_mapping
from .stream import Producer, Tuning



def _as_levels(data, memmap_span: int) -> list:
    # napari's MultiScaleData is a sequence of levels that also looks like an
    # array (shape, dtype), so recognise it by name (no napari import here).
    multiscale = isinstance(data, (list, tuple)) or type(data).__name__ == "MultiScaleData"
    if multiscale and len(data) and hasattr(data[0], "shape"):
        levels = list(data)
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


def _write(plan: PyramidPlan, codec: Codec, producer: Producer, tw, xml: bytes, report,
           copied=None) -> None:
    """Write what ``producer`` makes, plane by plane, level 0 then SubIFDs."""
    t = plan.tile_size
    common = dict(
        dtype=plan.dtype,
        tile=(t, t),
        compression=codec.tiff_compression,
        predictor=codec.predictor,
        photometric=codec.photometric,
        subsampling=codec.subsampling,
        planarconfig="contig",
        metadata=None,
        software="napari-viv",
    )
    extra = (3,) if plan.rgb else ()
    rows0, cols0 = plan.tiles_in(0)
    written = 0  # level-0 tiles handed to tifffile

    def level0():
        nonlocal written
        for i in range(rows0 * cols0):
            future = producer.next_tile()
            data = future.result()
            producer.taken()
            written += 1  # before yielding: tifffile stops asking after the last tile
            if (i + 1) % cols0 == 0:
                report(written + producer.stored.value)
            yield data

    first = dict(common)
    if copied is not None:  # level 0 keeps the source's JPEG layout and tables
        first.update(photometric=copied.photometric, subsampling=copied.subsampling,
                     jpegtables=copied.jpegtables)
    for index in range(plan.nplanes):
        if copied is not None and copied.photometric == "rgb":
            # RGB-coded JPEG tiles (as Aperio writes them): tifffile labels JPEG RGB as
            # YCbCr unless told the tiles are RGB (a fresh dict: tifffile fills it in).
            first["compressionargs"] = {"outcolorspace": "rgb"}
        tw.write(
            data=level0(),
            shape=plan.level_shapes[0] + extra,
            subifds=plan.nlevels - 1 if plan.nlevels > 1 else None,
            description=xml if index == 0 else None,
            **first,
        )
        store = producer.next_plane()
        try:
            store.collect(wait=True)
            for level in range(1, plan.nlevels):
                tw.write(
                    data=store.tiles(level),
                    shape=plan.level_shapes[level] + extra,
                    subfiletype=1,
                    **common,
                )
        finally:
            store.close()
        report(written + producer.stored.value)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_pyramid` wrote.

    It unpacks as ``(image, offsets)``, like the list earlier versions returned.
    """

    #: The pyramidal OME-TIFF.
    image: Path
    #: Its ``offsets.json``.
    offsets: Path
    #: Its ``view.json`` (colours, limits, visibility), or None if none was written.
    view: Path | None
    #: (Y, X) of every level, level 0 first.
    level_shapes: tuple[tuple[int, int], ...]
    #: Planes per level (T * C * Z; 1 for RGB).
    planes: int
    #: Size of the image file in bytes.
    nbytes: int
    #: Wall time of the export in seconds.
    seconds: float

    @property
    def paths(self) -> list[Path]:
        """Every file written: image, offsets and view (when written)."""
        return [self.image, self.offsets] + ([self.view] if self.view else [])

    def __iter__(self):
        return iter((self.image, self.offsets))

    def __getitem__(self, index):
        return (self.image, self.offsets)[index]

    def __len__(self) -> int:
        return 2


def export_pyramid(data, path, *, axes=None, metadata: ImageMetadata | None = None,
                   channel_names=None, channel_colors=None, physical_sizes=None, unit=None,
                   name=None, tile_size=512, levels="auto", compression=DEFAULT_COMPRESSION,
                   downsample="mean", workers=None, overwrite=False,
                   progress=None, cancel=None, copy_level0=None) -> ExportResult:
    """Write ``data`` as a Viv pyramidal OME-TIFF plus its ``offsets.json``.

    Parameters
    ----------
    data : array-like or list of array-like
        A numpy, dask or zarr array (anything with ``shape``, ``dtype`` and
        slicing), or a list of levels, level 0 first; levels that are exact
        halves of the level above are reused instead of recomputed.
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
    compression : str, default "zlib"
        ``"zlib"``, ``"zlib:LEVEL"`` (1-12), ``"lzw"`` or ``"none"``.
    downsample : {"mean", "nearest"}, default "mean"
        How each level is made from the one above.
    workers : int, optional
        Encoding threads (default: the CPU count).
    overwrite : bool, default False
        Replace an existing output instead of refusing.
    progress : callable, optional
        ``progress(done_tiles, total_tiles)``, called on the calling thread.
    cancel : callable, optional
        Polled; returning true stops the export with :class:`Cancelled`.
    copy_level0 : EncodedTiles, optional
        The source's own JPEG tiles of level 0 (from
        :func:`napari_viv.read.encoded.jpeg_level0`), copied byte for byte with
        their JPEG tables instead of re-encoded; ``data`` is still read for the
        lower levels. Needs ``compression="jpeg"``, RGB data of the same shape
        and ``tile_size`` equal to the tiles' size.

    Returns
    -------
    ExportResult
        The paths written (``image``, ``offsets``, and ``view`` when the
        metadata carries colours, contrast limits, visibility, gamma or a
        camera) and summary figures (``level_shapes``, ``planes``, ``nbytes``,
        ``seconds``). It unpacks as ``(image, offsets)``. On any error or
        cancel nothing is left at any of these paths and no temporary file
        remains.

    Raises
    ------
    NapariVivError
        One line naming the image and the problem (bad axes, dtype, options,
        an existing output without ``overwrite``, an unwritable folder).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from napari_viv import export_pyramid
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> image = np.zeros((2, 1024, 1024), np.uint16)
    >>> tif, offsets = export_pyramid(image, folder / "cells", channel_names=["DAPI", "CD8"])
    >>> tif.name, offsets.name
    ('cells.ome.tif', 'cells.offsets.json')
    >>> result = export_pyramid(image, folder / "cells", overwrite=True,
    ...                         channel_colors=[(0, 0, 255), (0, 255, 0)])
    >>> result.view.name, result.level_shapes
    ('cells.view.json', ((1024, 1024), (512, 512)))
    """
    return export_tuned(
        data, path, axes=axes, metadata=metadata, channel_names=channel_names,
        channel_colors=channel_colors, physical_sizes=physical_sizes, unit=unit, name=name,
        tile_size=tile_size, levels=levels, compression=compression, downsample=downsample,
        workers=workers, overwrite=overwrite, progress=progress, cancel=cancel,
        copy_level0=copy_level0)


def export_tuned(data, path, *, tuning: Tuning = Tuning(), axes=None,
                 metadata: ImageMetadata | None = None, channel_names=None,
                 channel_colors=None, physical_sizes=None, unit=None, name=None,
                 tile_size=512, levels="auto", compression=DEFAULT_COMPRESSION,
                 downsample="mean", workers=None, overwrite=False, progress=None,
                 cancel=None, copy_level0=None) -> ExportResult:
    """:func:`export_pyramid` with the streaming sizes of ``tuning``.

    The other parameters are export_pyramid's, with its defaults. Tuning
    changes memory use and the order of reads, never the file written;
    tests shrink it so that small images take the paths large ones take.
    """
    tif_path = naming.output_path(path)
    json_path = naming.offsets_path(tif_path)
    md = _merge_metadata(metadata, axes, channel_names, channel_colors, physical_sizes,
                         unit, name)
    what = md.name or tif_path.name
    if downsample not in METHODS:
        raise NapariVivError(f"{what}: unknown downsample {downsample!r}; use 'mean' or 'nearest'")

    sources = _as_levels(data, tuning.memmap_span)
    src0 = sources[0]
    try:
        layout = resolve_layout(src0.shape, src0.dtype, md.axes or None, what=what)
        md = rgb_channel_look(md, md.axes, src0.shape, layout)  # 16-bit/float RGB: red, green, blue
        plan = plan_pyramid(src0.shape, src0.dtype, md.axes or None, tile_size=tile_size,
                            levels=levels, compression=compression)
    except NapariVivError as exc:
        msg = str(exc)
        raise NapariVivError(msg if msg.startswith(what) else f"{what}: {msg}") from None
    codec = choose_codec(compression, plan.dtype, plan.samples)
    if copy_level0 is not None:
        _check_copy(copy_level0, plan, codec, what)
    roots = _reusable_levels(sources, layout, plan)
    xml = build_ome_xml(plan, md, name=naming.stem(tif_path), what=what)

    nworkers = int(workers) if workers else _cpu_count()
    pool = ThreadPoolExecutor(max(1, nworkers), thread_name_prefix="napari-viv-encode")
    reader = ThreadPoolExecutor(1, thread_name_prefix="napari-viv-read")

    def report(done: int) -> None:
        if progress is not None:
            progress(min(done, plan.ntiles), plan.ntiles)

    import tifffile

    try:
        view_path = naming.view_path(tif_path)
        view = view_document(md, 0 if plan.rgb else plan.sizes["C"])
        started = time.perf_counter()
        with AtomicPair(tif_path, json_path, view_path=view_path, overwrite=overwrite) as out:
            producer = Producer(plan, layout, sources, roots, codec, downsample, pool,
                                out.temporary_file, cancel, what, copied=copy_level0,
                                tuning=tuning)
            running = reader.submit(producer.run)
            try:
                with tifffile.TiffWriter(out.file, bigtiff=True, byteorder="<") as tw:
                    _write(plan, codec, producer, tw, xml, report, copy_level0)
                out.file.flush()
                out.file.seek(0)
                offsets = offsets_of(out.file)
            except OSError as exc:
                raise NapariVivError(f"{tif_path}: writing failed: {exc}") from exc
            finally:
                producer.stop()
                running.result()  # run() hands its errors over; it never raises
                producer.discard()
            out.commit(offsets_json(offsets), view_json(view) if view else None)
    finally:
        reader.shutdown(wait=True, cancel_futures=True)
        pool.shutdown(wait=True, cancel_futures=True)
    return ExportResult(
        image=tif_path, offsets=json_path, view=view_path if view else None,
        level_shapes=tuple(tuple(s) for s in plan.level_shapes), planes=plan.nplanes,
        nbytes=tif_path.stat().st_size, seconds=time.perf_counter() - started)


def _check_copy(copied, plan: PyramidPlan, codec: Codec, what: str) -> None:
    """Refuse a level-0 tile copy that would not describe the image being written."""
    problems = []
    if codec.name != "jpeg" or copied.compression != 7:
        problems.append("the export must be JPEG")
    if not plan.rgb or tuple(copied.shape) != tuple(plan.level_shapes[0]) + (3,):
        problems.append(f"the tiles are {copied.shape}, the image {plan.level_shapes[0]} "
                        f"{'RGB' if plan.rgb else 'channels'}")
    if copied.tile != plan.tile_size:
        problems.append(f"the tiles are {copied.tile} px, the export's {plan.tile_size} px")
    if problems:
        raise NapariVivError(f"{what}: cannot copy the source's tiles: " + "; ".join(problems))


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset / cgroup pinning
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1



def _reusable_levels(sources: list, layout: Layout, plan: PyramidPlan) -> dict[int, int]:
    """Map pyramid level -> source level to copy (level 0 is always source 0)."""
    roots = {0: 0}
    if len(sources) < 2:
        return roots
    base = dict(zip(layout.source_axes, layout.source_shape))
    for k, src in enumerate(sources[1:], start=1):
        shape = tuple(int(n) for n in src.shape)
        if len(shape) != len(base) or np.dtype(src.dtype) != np.dtype(sources[0].dtype):
            continue
        sizes = dict(zip(layout.source_axes, shape))
        if any(sizes[ax] != base[ax] for ax in layout.source_axes if ax not in "YX"):
            continue
        yx = (sizes["Y"], sizes["X"])
        for level in range(1, plan.nlevels):
            if plan.level_shapes[level] == yx and level not in roots:
                roots[level] = k
    return roots
