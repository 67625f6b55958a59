"""Every file-name rule of napari-viv, in one place.

An export is a pyramidal OME-TIFF ``<stem>.ome.tif`` (or ``.ome.tiff``) with
sidecars beside it that share its stem:

==================================  ===========================================
``<stem>.ome.tif``                  the image (Avivator treats only names ending
                                    in lowercase ``.ome.tif``/``.ome.tiff`` as
                                    OME-TIFF)
``<stem>.offsets.json``             IFD offsets; Viv and Avivator fetch it
``<stem>.view.json``                colours, contrast limits, visibility, camera
``<stem>.features.geojson``         napari Points and Shapes (GeoJSON, level-0 pixels)
``<stem>.labels-<i>.ome.tif``       napari Labels layer i, a pyramid of its own
``<stem>.ome.zarr/labels/<name>``   the same inside an OME-Zarr store (NGFF labels)
==================================  ===========================================

The writer, the reader, the check, the server and the napari glue all ask
this module; none of them spells a suffix itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Suffixes of a Viv OME-TIFF, in the case Avivator requires.
OME_TIFF_SUFFIXES = (".ome.tif", ".ome.tiff")
#: The suffix napari-viv gives a name that has none of its own.
DEFAULT_SUFFIX = ".ome.tif"
OFFSETS_SUFFIX = ".offsets.json"
VIEW_SUFFIX = ".view.json"
#: Points and shapes beside the image (GeoJSON in level-0 pixels; napari_viv.scene.features).
FEATURES_SUFFIX = ".features.geojson"
#: Labels layers: sibling pyramids ``<stem>.labels-<i>.ome.tif`` (nearest-neighbour levels).
LABELS_INFIX = ".labels-"
#: Label pyramids routed beside a served image (labels-0 .. labels-7).
SERVED_LABELS = 8
#: Every sidecar the server routes beside a served image.
SIDECAR_SUFFIXES = (OFFSETS_SUFFIX, VIEW_SUFFIX, FEATURES_SUFFIX)

#: Extensions stripped to name an image (longest first, matched in any case).
IMAGE_EXTENSIONS = (
    ".ome.tiff",
    ".ome.tif",
    ".ome.zarr",
    ".companion.ome",
    ".qptiff",
    ".tiff",
    ".tif",
    ".svs",
    ".npy",
    ".zarr",
)

#: Files the napari reader claims (npe2's filename_patterns say the same).
READER_SUFFIXES = (".ome.tif", ".ome.tiff", ".qptiff")


def stem(path) -> str:
    """Return the name of an image file without its image extension.

    >>> stem("/data/slide.ome.tif"), stem("a.b.TIFF"), stem("x.npy")
    ('slide', 'a.b', 'x')
    """
    name = Path(os.fspath(path)).name
    low = name.lower()
    for ext in IMAGE_EXTENSIONS:
        if low.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return Path(name).stem


def output_path(path) -> Path:
    """Return the ``.ome.tif`` path written for what the user asked for.

    ``x.ome.tif``/``x.ome.tiff`` are kept (a suffix in the wrong case, such as
    ``x.OME.TIF``, is lowercased, because Avivator matches it case-sensitively);
    ``x.tif``/``x.tiff`` become ``x.ome.tif``/``x.ome.tiff``; anything else
    gets ``.ome.tif`` appended.

    >>> output_path("a.TIFF").name, output_path("a.b.png").name
    ('a.ome.tiff', 'a.b.png.ome.tif')
    """
    p = Path(os.fspath(path))
    name, low = p.name, p.name.lower()
    for suffix in OME_TIFF_SUFFIXES[::-1]:
        if low.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + suffix)
    for suffix in (".tiff", ".tif"):
        if low.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + ".ome" + suffix)
    return p.with_name(name + DEFAULT_SUFFIX)


_TIFF_SUFFIX = re.compile(r"(\.ome)?\.tiff?$", re.IGNORECASE)


def _sidecar(tif_path, suffix: str) -> Path:
    p = Path(os.fspath(tif_path))
    if is_zarr_name(p):  # a store's sidecars share its stem: x.ome.zarr -> x.view.json
        return p.with_name(stem(p) + suffix)
    return p.with_name(_TIFF_SUFFIX.sub("", p.name) + suffix)


def offsets_path(tif_path) -> Path:
    """``x.ome.tif`` / ``x.ome.tiff`` / ``x.tif`` -> ``x.offsets.json`` beside it."""
    return _sidecar(tif_path, OFFSETS_SUFFIX)


def view_path(tif_path) -> Path:
    """``x.ome.tif`` -> ``x.view.json`` beside it."""
    return _sidecar(tif_path, VIEW_SUFFIX)


def features_path(tif_path) -> Path:
    """``x.ome.tif`` -> ``x.features.geojson`` beside it: the points and shapes sidecar.

    >>> features_path("/data/x.ome.tif").name
    'x.features.geojson'
    """
    return _sidecar(tif_path, FEATURES_SUFFIX)


def labels_path(tif_path, index: int) -> Path:
    """``x.ome.tif`` -> ``x.labels-<index>.ome.tif``: the pyramid of the export's labels layer ``index``.

    >>> labels_path("/data/x.ome.tif", 0).name
    'x.labels-0.ome.tif'
    """
    return _sidecar(tif_path, f"{LABELS_INFIX}{int(index)}{DEFAULT_SUFFIX}")


#: The group of an OME-Zarr store that holds its label images (NGFF ``labels``).
ZARR_LABELS_GROUP = "labels"


def store_label_path(store, name: str) -> Path:
    """Give the folder of label image ``name`` inside an OME-Zarr store: ``<store>/labels/<name>``.

    >>> store_label_path("/data/x.ome.zarr", "nuclei").as_posix()
    '/data/x.ome.zarr/labels/nuclei'
    """
    return Path(os.fspath(store)) / ZARR_LABELS_GROUP / name


def sidecar_paths(tif_path) -> list[Path]:
    """Every sidecar that may sit beside ``tif_path`` (offsets, view, features, label pyramids)."""
    labels = [labels_path(tif_path, i) for i in range(SERVED_LABELS)]
    return [_sidecar(tif_path, s) for s in SIDECAR_SUFFIXES] + labels + [offsets_path(p) for p in labels]


def is_viv_name(name: str) -> bool:
    """Whether Avivator treats a file of this name as an OME-TIFF (lowercase suffix)."""
    return str(name).endswith(OME_TIFF_SUFFIXES)


def avivator_offsets_name(name: str) -> str:
    """Return the offsets.json name Avivator requests for a served file name.

    Avivator replaces the first ``ome.tif(f)`` anywhere in the name, in any
    case; that differs from :func:`offsets_path` for odd names, which the
    check reports.
    """
    return re.sub(r"ome\.tif(f?)", "offsets.json", name, flags=re.IGNORECASE)


def series_output_path(out: Path, index: int) -> Path:
    """Name one output per series of an input: ``x.ome.tif`` -> ``x_s<index>.ome.tif``.

    A Zarr store's name keeps its suffix the same way.

    >>> series_output_path(Path("x.tif"), 2).name, series_output_path(Path("y.ome.zarr"), 0).name
    ('x_s2.ome.tif', 'y_s0.ome.zarr')
    """
    zarr = is_zarr_name(out)
    out = zarr_output_path(out) if zarr else output_path(out)
    low = out.name.lower()
    suffixes = ZARR_SUFFIXES if zarr else OME_TIFF_SUFFIXES[::-1]
    suffix = next(s for s in suffixes if low.endswith(s))
    return out.with_name(f"{out.name[: -len(suffix)]}_s{index}{suffix}")


#: Files a folder given to ``napari-viv batch`` is searched for: what ``convert``
#: reads (``.zarr`` folders too; see :func:`is_batch_input_name`).
BATCH_INPUT_SUFFIXES = (".ome.tif", ".ome.tiff", ".qptiff", ".tif", ".tiff", ".svs", ".npy", ".zarr", ".ome.zarr")


def is_batch_input_name(name: str) -> bool:
    """Whether a batch folder search picks up a file (or ``.zarr`` folder) of this name.

    Hidden names and napari-viv's own sidecars are never picked up.

    >>> is_batch_input_name("a.SVS"), is_batch_input_name(".a.tif"), is_batch_input_name("a.json")
    (True, False, False)
    """
    name = str(name)
    return not name.startswith(".") and name.lower().endswith(BATCH_INPUT_SUFFIXES)


def batch_output_paths(inputs, out_dir, suffix: str = DEFAULT_SUFFIX) -> list[Path]:
    """``out_dir/<stem>.ome.tif`` (or ``<stem><suffix>``) for each input, distinct even when stems repeat.

    An input whose stem no other input shares keeps it. Inputs sharing a stem
    (compared case-insensitively, as on a case-insensitive share) are told
    apart by the fewest trailing folder names that differ, then, for files in
    the same folder, by their extension: ``A/slide.svs`` and ``B/slide.svs``
    become ``A_slide`` and ``B_slide``; ``slide.tif`` and ``slide.npy`` become
    ``slide_tif`` and ``slide_npy``. A name that still clashes gets ``_2``,
    ``_3``, ... in input order. The names depend only on the set of inputs.

    >>> [p.name for p in batch_output_paths(["x/A/s.svs", "y/B/s.svs", "t.tif", "t.npy"], "o")]
    ['A_s.ome.tif', 'B_s.ome.tif', 't_tif.ome.tif', 't_npy.ome.tif']
    """
    paths = [Path(os.path.abspath(os.fspath(p))) for p in inputs]
    stems = [stem(p) for p in paths]
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(stems):
        groups.setdefault(s.lower(), []).append(i)
    names = list(stems)
    for members in groups.values():
        if len(members) < 2:
            continue
        parents = sorted({paths[i].parent for i in members})
        k = 0
        if len(parents) > 1:
            depth = max(len(p.parts) for p in parents)
            k = next((k for k in range(1, depth + 1) if len({p.parts[-k:] for p in parents}) == len(parents)), depth)
        for i in members:
            prefix = "_".join(paths[i].parent.parts[-k:]).strip("/") if k else ""
            name = f"{prefix}_{stems[i]}" if prefix else stems[i]
            if sum(paths[j].parent == paths[i].parent for j in members) > 1:
                ext = paths[i].name[len(stems[i]) :].lstrip(".").lower().replace(".", "-")
                name = f"{name}_{ext}" if ext else name
            names[i] = name
    taken: set[str] = set()
    out = []
    for name in names:
        final, n = name, 1
        while final.lower() in taken:
            n += 1
            final = f"{name}_{n}"
        taken.add(final.lower())
        out.append(Path(os.fspath(out_dir)) / f"{final}{suffix}")
    return out


def file_stem_for(name: str, default: str = "image") -> str:
    """Make a layer or image name safe as a file stem (letters, digits, ``-_.``).

    >>> file_stem_for("CD8 / FoxP3"), file_stem_for("  "), file_stem_for("synthetic tissue")
    ('CD8___FoxP3', 'image', 'synthetic_tissue')
    """
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name).strip())
    return safe.strip(".") or default


def free_output_path(folder, name: str, suffix: str = DEFAULT_SUFFIX) -> Path:
    """Propose ``folder/<name>.ome.tif``, or ``<name>-2.ome.tif``, ... if that is taken.

    Taken means the image or one of its sidecars already exists: a proposal
    never replaces a file. ``suffix`` ``.ome.zarr`` proposes a store.
    """
    folder = Path(os.fspath(folder))
    base = file_stem_for(name)
    n = 1
    while True:
        candidate = folder / f"{base if n == 1 else f'{base}-{n}'}{suffix}"
        if not any(p.exists() for p in (candidate, *sidecar_paths(candidate))):
            return candidate
        n += 1


#: The suffix of a multi-file OME-TIFF's companion metadata file.
COMPANION_SUFFIX = ".companion.ome"


def is_companion(name) -> bool:
    """Whether ``name`` is a multi-file OME-TIFF's companion XML (``x.companion.ome``).

    >>> is_companion("set.companion.ome"), is_companion("set.ome.tif")
    (True, False)
    """
    return Path(os.fspath(name)).name.lower().endswith(COMPANION_SUFFIX)


#: Suffixes of a Zarr store (a folder); an export to such a name is an OME-Zarr.
ZARR_SUFFIXES = (".ome.zarr", ".zarr")


def is_zarr_name(path) -> bool:
    """Whether ``path`` names a Zarr store (``.ome.zarr`` or ``.zarr``, in any case).

    >>> is_zarr_name("cells.ome.zarr"), is_zarr_name("a.ZARR"), is_zarr_name("a.ome.tif")
    (True, True, False)
    """
    return Path(os.fspath(path)).name.lower().endswith(ZARR_SUFFIXES)


def zarr_output_path(path) -> Path:
    """Give the store path written for an OME-Zarr export: ``.ome.zarr`` appended unless a Zarr suffix is there.

    >>> zarr_output_path("a.zarr").name, zarr_output_path("a").name
    ('a.zarr', 'a.ome.zarr')
    """
    p = Path(os.fspath(path))
    return p if is_zarr_name(p) else p.with_name(p.name + ZARR_SUFFIXES[0])


#: The output formats: a pyramidal OME-TIFF file, or an OME-Zarr store (a folder).
FORMATS = ("ome-tiff", "ome-zarr")


def output_format(path, format: str | None = None) -> str:  # noqa: A002 - the CLI's --format
    """Return the format an export to ``path`` writes: ``format`` if given, else by the name's suffix.

    A name ending in ``.ome.zarr`` or ``.zarr`` is an OME-Zarr store; anything
    else an OME-TIFF. Whether a forced ``format`` contradicts the name is
    :func:`format_conflict`'s question.

    >>> output_format("a.ome.zarr"), output_format("a.tif"), output_format("a", "ome-zarr")
    ('ome-zarr', 'ome-tiff', 'ome-zarr')
    """
    if format is not None:
        return format
    return "ome-zarr" if is_zarr_name(path) else "ome-tiff"


def suffix_format(path) -> str | None:
    """Return the format the suffix of ``path`` names, or None for a name that names none.

    >>> suffix_format("a.ome.zarr"), suffix_format("a.TIF"), suffix_format("a"), suffix_format("a.png")
    ('ome-zarr', 'ome-tiff', None, None)
    """
    name = Path(os.fspath(path)).name.lower()
    if is_zarr_name(name):
        return "ome-zarr"
    return "ome-tiff" if name.endswith((".tif", ".tiff")) else None


def format_conflict(path, format: str | None) -> str | None:  # noqa: A002 - the CLI's --format
    """Say why ``format`` contradicts the suffix of ``path``; None when they agree (or one is silent).

    >>> format_conflict("a.ome.zarr", "ome-tiff")
    'a .zarr name is an OME-Zarr store, not an OME-TIFF'
    >>> format_conflict("a.ome.tif", "ome-zarr"), format_conflict("a", "ome-zarr")
    ('a .tif name is an OME-TIFF, not an OME-Zarr store', None)
    """
    named = suffix_format(path)
    if format == "ome-tiff" and named == "ome-zarr":
        return "a .zarr name is an OME-Zarr store, not an OME-TIFF"
    if format == "ome-zarr" and named == "ome-tiff":
        return "a .tif name is an OME-TIFF, not an OME-Zarr store"
    return None


def with_format(path, format: str) -> Path:  # noqa: A002 - the CLI's --format
    """Give ``path`` renamed for ``format``: the other format's suffix replaced, a missing one added.

    This is the rule the napari panel follows when the user picks a format:
    the name keeps its stem and gets the format's suffix.

    >>> with_format("a.ome.tif", "ome-zarr").name, with_format("a.zarr", "ome-tiff").name
    ('a.ome.zarr', 'a.ome.tif')
    >>> with_format("a.zarr", "ome-zarr").name, with_format("a", "ome-zarr").name
    ('a.zarr', 'a.ome.zarr')
    >>> with_format("a.TIF", "ome-tiff").name
    'a.ome.tif'
    """
    p = Path(os.fspath(path))
    named = suffix_format(p)
    if named is None or named == format:
        return export_path(p, format)
    return p.with_name(stem(p) + format_suffix(format))


def export_path(path, format: str | None = None) -> Path:  # noqa: A002 - the CLI's --format
    """Give the path written for an export to ``path`` in ``format`` (by default, by the suffix).

    >>> export_path("a.tif").name, export_path("a.zarr").name, export_path("a", "ome-zarr").name
    ('a.ome.tif', 'a.zarr', 'a.ome.zarr')
    """
    if output_format(path, format) == "ome-zarr":
        return zarr_output_path(path)
    return output_path(path)


def format_suffix(format: str | None) -> str:  # noqa: A002 - the CLI's --format
    """Give the suffix of an output named from a stem (batch outputs): ``.ome.tif`` or ``.ome.zarr``.

    >>> format_suffix(None), format_suffix("ome-zarr")
    ('.ome.tif', '.ome.zarr')
    """
    return ZARR_SUFFIXES[0] if format == "ome-zarr" else DEFAULT_SUFFIX
