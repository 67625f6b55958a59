"""Label images inside an OME-Zarr store: the NGFF ``labels/`` group.

Each :class:`LabelImage` becomes a multiscale group ``labels/<name>`` of the
store, planned and streamed like the image (the same engine, tile size,
codec and NGFF version) but with nearest-neighbour levels, so no level holds
an id that is not in the data, and with an ``image-label`` block (colours per
id, the source image) instead of ``omero`` (:func:`.ngff.label_attributes`).
The ``labels`` group lists their names.

:func:`write_labels` fills a store that is still being built: the image's
:class:`.zarrsink.ZarrSink` calls it (its ``before_publish`` hook) on the
complete temporary store, just before renaming it into place, so the image
and its labels appear together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import naming
from ..errors import NapariVivError
from ..metadata import ImageMetadata
from .ngff import label_attributes, labels_group_attributes
from .plan import ExportOptions, plan_export
from .stream import Tuning, part_of, run_stream
from .zarrsink import ZarrSink


@dataclass(frozen=True)
class LabelImage:
    """One label image for a store's ``labels/`` group.

    Examples
    --------
    >>> import numpy as np
    >>> LabelImage("cells", np.zeros((64, 64), np.uint8), "YX", {1: (255, 0, 0, 255)}).name
    'cells'
    """

    #: Its group's name under ``labels/`` (no ``/``, not hidden).
    name: str
    #: Level 0: integer label ids (numpy, dask, zarr or any sliceable array).
    data: Any
    #: The axis letters of ``data``: the image's, without C (e.g. ``"YX"``, ``"ZYX"``).
    axes: str
    #: ``{label id: (r, g, b, a)}``, 0-255 each; ids not listed get the viewer's colours.
    colors: Mapping[int, Sequence[int]] = field(default_factory=dict)


def check_label_images(labels: Sequence[LabelImage]) -> None:
    """Refuse label images a store cannot hold, before anything is written.

    Raises
    ------
    NapariVivError
        About the label image: a name that is empty, hidden, has a ``/`` or
        repeats another's; data that are not integers; axes with C.

    Examples
    --------
    >>> import numpy as np
    >>> check_label_images([LabelImage("a/b", np.zeros((4, 4), np.uint8), "YX")])
    Traceback (most recent call last):
    napari_viv.errors.NapariVivError: a/b: a label image's name must be a plain folder name
    """
    seen: set[str] = set()
    for label in labels:
        name = str(label.name)
        if not name or name.startswith(".") or "/" in name or "\\" in name:
            raise NapariVivError("a label image's name must be a plain folder name", subject=name)
        if name.lower() in seen:
            raise NapariVivError("two label images share this name", subject=name)
        seen.add(name.lower())
        if np.dtype(label.data.dtype).kind not in "iu":
            raise NapariVivError(f"its data are {label.data.dtype}, not integer label ids", subject=name)
        if "C" in label.axes.upper() or len(label.axes) != len(label.data.shape):
            raise NapariVivError(f"axes {label.axes!r} do not fit its {len(label.data.shape)}-D data", subject=name)


def plan_labels(
    labels: Sequence[LabelImage], *, version: str = "0.4", tile_size: int = 512, compression: str | None = None
) -> list:
    """Plan each label image's pyramid as :func:`write_labels` writes it (nearest-neighbour levels).

    Examples
    --------
    >>> import numpy as np
    >>> [plan.ntiles for plan in plan_labels([LabelImage("cells", np.zeros((100, 100), np.uint8), "YX")], tile_size=64)]
    [5]
    """
    plans = []
    for label in labels:
        options = ExportOptions(
            axes=label.axes,
            tile_size=tile_size,
            compression=compression,
            downsample="nearest",
            format="ome-zarr",
            ngff=version,
        )
        plans.append(plan_export([label.data], options, subject=label.name))
    return plans


def write_labels(
    root: Path,
    labels: Sequence[LabelImage],
    *,
    metadata: ImageMetadata | None = None,
    version: str = "0.4",
    tile_size: int = 512,
    compression: str | None = None,
    workers: int = 1,
    progress: Callable[[int, int], object] | None = None,
    cancel: Callable[[], bool] | None = None,
    tuning: Tuning | None = None,
) -> list[Path]:
    """Write ``labels`` into the store at ``root`` as its ``labels/`` group.

    Parameters
    ----------
    root : Path
        The store's folder (in an export: the temporary store before it is published).
    labels : sequence of LabelImage
        The label images (see :func:`check_label_images`).
    metadata : ImageMetadata, optional
        The image's pixel sizes and unit, which the labels share.
    version : {"0.4", "0.5"}, default "0.4"
        The store's NGFF version.
    tile_size : int, default 512
        Chunk (tile) edge, as the image's.
    compression : str, optional
        A Zarr codec (default: the Zarr default).
    workers : int, default 1
        Encoding threads.
    progress : callable, optional
        ``progress(done_tiles, total_tiles)`` over all the label images' tiles.
    cancel : callable, optional
        Polled; returning true stops with :class:`napari_viv.errors.Cancelled`.
    tuning : Tuning, optional
        Streaming sizes (see :func:`napari_viv.write.writer.export_pyramid`).

    Returns
    -------
    list of Path
        The label images' folders.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib, json
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> cells = np.zeros((100, 100), np.uint8); cells[10:20, 10:20] = 3
    >>> [p.name for p in write_labels(root, [LabelImage("cells", cells, "YX", {3: (0, 255, 0, 255)})], tile_size=64)]
    ['cells']
    >>> json.loads((root / "labels" / ".zattrs").read_text())
    {'labels': ['cells']}
    """
    check_label_images(labels)
    plans = plan_labels(labels, version=version, tile_size=tile_size, compression=compression)
    total = sum(plan.ntiles for plan in plans)
    group = root / naming.ZARR_LABELS_GROUP
    group.mkdir(exist_ok=True)
    written = []
    before = 0  # tiles of the label images already written
    for label, plan in zip(labels, plans, strict=True):
        attrs = label_attributes(plan, metadata, name=label.name, colors=dict(label.colors), version=version)
        path = naming.store_label_path(root, label.name)
        report = part_of(progress, before, total)
        with ZarrSink(plan, path, attrs, version=version) as sink:
            run_stream(
                plan, [label.data], sink, workers=workers, progress=report, cancel=cancel, tuning=tuning or Tuning()
            )
            sink.commit(None)
        written.append(path)
        before += plan.ntiles
    _write_group(group, labels_group_attributes([label.name for label in labels], version), version)
    return written


def _write_group(folder: Path, attrs: dict, version: str) -> None:
    """Write the group metadata of ``folder``: Zarr v2 ``.zgroup`` + ``.zattrs``, or v3 ``zarr.json``."""
    if version == "0.5":
        doc = {"zarr_format": 3, "node_type": "group", "attributes": attrs}
        (folder / "zarr.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
        return
    (folder / ".zgroup").write_text(json.dumps({"zarr_format": 2}), encoding="utf-8")
    (folder / ".zattrs").write_text(json.dumps(attrs, indent=2), encoding="utf-8")
