"""OME-Zarr stores for tests, and the judges every store must pass.

Fixtures: :func:`write_reference_store` writes a store with ome-zarr-py
(the reference implementation), NGFF 0.4 (Zarr v2) or 0.5 (Zarr v3,
optionally sharded), with omero channels, scales and units.
:func:`static_server` serves a folder over loopback HTTP the plain way (a
static file server, the way a lab publishes a store).

Judges (each raises AssertionError with a reason):

- :func:`judge_models` - ``ome-zarr-models`` validates the metadata;
- :func:`judge_reference_reader` - ome-zarr-py's ``Reader`` reads level 0
  equal to the expected pixels;
- :func:`judge_viv` - the real Viv loader (``loadOmeZarr`` in Node, over
  loopback HTTP) returns the same pixels on every level and plane;
- :func:`judge_all` - all three;
- :func:`judge_napari` - napari opens the store through our reader, one lazy
  multiscale layer per channel with the store's levels and pixels;
- :func:`judge_viewer` - our viewer (served by ``RangeServer``) renders the
  store in real Chromium; returns the page's state and a screenshot.

The writer's tests call them on our own stores; the reader, check, napari
and browser tests call them on ome-zarr-py's.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path

import numpy as np

from helpers.vivjs import plane_digest, viv_load

#: Channel metadata the reference stores carry: label, hex colour, window.
CHANNELS = [
    {"label": "DAPI", "color": "0000FF", "window": {"start": 100, "end": 3000, "min": 0, "max": 65535}},
    {"label": "CD3", "color": "00FF00", "window": {"start": 50, "end": 1500, "min": 0, "max": 65535}},
    {"label": "PanCK", "color": "FF00FF", "window": {"start": 0, "end": 4000, "min": 0, "max": 65535}},
]


def reference_pixels(shape=(3, 300, 400), dtype="uint16", seed=0) -> np.ndarray:
    """Distinct, structured pixels: a gradient plus noise, different per plane."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 4000, size=shape).astype(dtype)
    yy, xx = np.indices(shape[-2:])
    return (arr + ((yy + xx) % 251).astype(dtype)).astype(dtype)


def write_reference_store(
    path,
    data: np.ndarray,
    *,
    version: str = "0.4",
    axes: str = "cyx",
    chunks=None,
    shards=None,
    channels=CHANNELS,
    scale=None,
    units=None,
    levels: int = 3,
    compressor=None,
) -> Path:
    """Write ``data`` as an OME-Zarr with ome-zarr-py's ``write_image``.

    ``version`` "0.4" is Zarr v2, "0.5" Zarr v3 (``shards`` (per-axis) makes it
    sharded). ``compressor`` (a numcodecs codec for 0.4, a zarr v3 codec for
    0.5) replaces ome-zarr-py's default (zstd). ``scale`` maps axis letters to level-0 pixel sizes, ``units`` to
    unit names (e.g. ``{"y": "micrometer", "x": "micrometer"}``). Chunks default
    to one 128 x 128 plane tile. Returns the store's path.
    """
    import zarr
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.writer import write_image

    path = Path(path)
    fmt = FormatV04() if version == "0.4" else FormatV05()
    group = zarr.open_group(str(path), mode="w", zarr_format=2 if version == "0.4" else 3)
    if chunks is None:
        chunks = (1,) * (len(axes) - 2) + (128, 128)
    options = {"chunks": chunks}
    if shards is not None:
        options["shards"] = shards
    if compressor is not None:
        options["compressor"] = compressor
    kwargs = {}
    if channels is not None:
        kwargs["omero"] = {"channels": [dict(c, active=True) for c in channels[: _nchannels(data, axes)]]}
    if scale is not None:
        kwargs["scale"] = scale
    if units is not None:
        kwargs["axes_units"] = units
    write_image(
        data,
        group,
        axes=axes,
        fmt=fmt,
        scale_factors=tuple(2 ** (i + 1) for i in range(levels - 1)),
        storage_options=options,
        **kwargs,
    )
    return path


def refilter_with_delta(store: Path, paths, chunks) -> None:
    """Rewrite the Zarr v2 arrays ``paths`` of ``store`` with numcodecs' ``delta`` filter (+ zlib).

    No Viv reader knows that filter: the store is for "cannot decode" messages.
    """
    import numcodecs
    import zarr

    group = zarr.open_group(str(store), mode="a")
    for path in paths:
        pixels = group[path][...]
        group.create_array(
            path,
            shape=pixels.shape,
            dtype=pixels.dtype,
            chunks=chunks,
            overwrite=True,
            filters=[numcodecs.Delta(dtype="<u2")],
            compressors=numcodecs.Zlib(level=1),
        )[...] = pixels


def _nchannels(data, axes) -> int:
    return int(data.shape[axes.index("c")]) if "c" in axes else 1


@contextlib.contextmanager
def static_server(folder, *, ranges: bool = True):
    """Serve ``folder`` read-only on 127.0.0.1, a plain static host without CORS.

    With ``ranges`` (the default) it answers ``Range: bytes=a-b``, ``bytes=a-``
    and ``bytes=-n`` with 206, as nginx or S3 do: a sharded (Zarr v3) store is
    read by byte ranges. ``ranges=False`` is a host that always sends the
    whole file. Yields the base URL without a trailing slash.
    """
    cls = _RangeHandler if ranges else _QuietHandler
    handler = functools.partial(cls, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        return None


class _RangeHandler(_QuietHandler):
    """SimpleHTTPRequestHandler plus single byte ranges (206 / 416)."""

    def do_GET(self):  # noqa: N802 - the base class's name
        spec = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not spec or not path.is_file():
            return super().do_GET()
        size = path.stat().st_size
        first, _, last = spec.removeprefix("bytes=").partition("-")
        if first == "":
            start, end = max(size - int(last), 0), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        if start >= size or start > end:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.end_headers()
            return None
        with open(path, "rb") as fh:
            fh.seek(start)
            body = fh.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None


def store_levels(path) -> tuple[list, list[str]]:
    """The levels of a store's first multiscale (zarr arrays), and its axis names."""
    import zarr

    group = zarr.open_group(str(path), mode="r")
    attrs = dict(group.attrs)
    ome = attrs.get("ome", attrs)
    ms = ome["multiscales"][0]
    names = [a["name"] if isinstance(a, dict) else a for a in ms["axes"]]
    return [group[d["path"]] for d in ms["datasets"]], names


def judge_models(path) -> object:
    """``ome-zarr-models`` validates the store's metadata; returns its model."""
    import zarr
    from ome_zarr_models import open_ome_zarr

    return open_ome_zarr(zarr.open_group(str(path), mode="r"))


def judge_reference_reader(path, expected: np.ndarray) -> None:
    """ome-zarr-py's ``Reader`` opens the store and level 0 equals ``expected``."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    nodes = list(Reader(parse_url(str(path)))())
    assert nodes, f"ome-zarr-py found no image in {path}"
    level0 = np.asarray(nodes[0].data[0])
    assert level0.shape == expected.shape, (level0.shape, expected.shape)
    np.testing.assert_array_equal(level0, expected)


def viv_zarr(url: str, *, pixels: bool = True, dump=None) -> dict:
    """The real Viv loader's report on the store at ``url`` (``loadOmeZarr``)."""
    return viv_load(url, pixels=pixels, dump=dump, zarr=True)


def judge_viv(path, *, url: str | None = None) -> dict:
    """The real Viv loader opens the store and shows exactly its pixels.

    Every level's shape, every plane's pixels (by digest) and level 0's
    tile size (the smaller of the Y and X chunk, as a power of two) are
    compared with what zarr-python reads. With ``url`` the store is read from
    there; otherwise its parent folder is served statically for the call.
    Returns the loader's report.
    """
    path = Path(path)
    if url is None:
        with static_server(path.parent) as base:
            return judge_viv(path, url=f"{base}/{path.name}")
    report = viv_zarr(url)
    (image,) = report["images"]
    levels, names = store_levels(path)
    assert image["labels"] == names, (image["labels"], names)
    assert len(image["levels"]) == len(levels)
    chunk = min(levels[0].chunks[-2:])
    assert image["tileSize"] == 2 ** int(np.floor(np.log2(chunk)))
    for vlev, arr in zip(image["levels"], levels, strict=True):
        assert vlev["shape"] == list(arr.shape)
        data = np.asarray(arr[...])
        outer = data.reshape((-1,) + data.shape[-2:])
        assert len(vlev["planes"]) == outer.shape[0]
        for vp, plane in zip(vlev["planes"], outer, strict=True):
            assert (vp["height"], vp["width"]) == plane.shape
            assert vp["sha256"] == plane_digest(plane), f"level {vlev['shape']} plane {vp['selection']}"
    return report


def judge_all(path, expected: np.ndarray) -> dict:
    """Every judge on one store; returns the Viv loader's report."""
    judge_models(path)
    judge_reference_reader(path, expected)
    return judge_viv(path)


def judge_napari(viewer, path, expected: np.ndarray, axes: str = "CYX") -> list:
    """napari (``viewer``, a real one) opens ``path`` with napari-viv: one layer per channel.

    ``expected`` is level 0 in ``axes`` (canonical order, e.g. "CYX"). Each
    layer must be multiscale with the store's level count, lazy (dask), and
    equal to ``expected``'s channel. Returns the layers.
    """
    import dask.array as da

    levels, _names = store_levels(path)
    layers = viewer.open(str(path), plugin="napari-viv")
    nc = expected.shape[axes.index("C")] if "C" in axes else 1
    assert len(layers) == nc, [layer.name for layer in layers]
    for c, layer in enumerate(layers):
        assert layer.multiscale and len(layer.data) == len(levels)
        assert all(isinstance(level, da.Array) for level in layer.data)
        plane = np.take(expected, c, axis=axes.index("C")) if "C" in axes else expected
        np.testing.assert_array_equal(np.asarray(layer.data[0]), plane)
    return layers


def judge_viewer(chromium: str, path, profile) -> tuple[dict, np.ndarray, list[str]]:
    """Our viewer renders the store served by napari-viv's own server, in real Chromium.

    Returns the page's ``state()``, a screenshot (H x W x 3) and the URLs the
    page requested; raises AssertionError (with the console's last lines) if
    the page did not get ready, or if it fetched anything from another origin.
    """
    from helpers import viewer_pages as vh
    from napari_viv.serve.server import RangeServer

    async def body(page):
        status = await page.wait_status()
        assert status == "ready", page.console[-3:]
        state = await page.evaluate("window.__vivViewer.state()")
        return state, await page.screenshot(), list(page.requests)

    with RangeServer([path]) as server:
        state, shot, requests = vh.run_page(chromium, Path(profile), server.viewer_url_for(path), body)
        origin = server.origin
    assert all(u.startswith(origin + "/") or u.startswith(("data:", "blob:")) for u in requests), requests
    return state, shot, requests


def write_reference_labels(store, labels: np.ndarray, *, name: str, colors=None, chunks=(128, 128)) -> Path:
    """Add ``labels`` (y, x) to an NGFF 0.4 ``store`` with ome-zarr-py's ``write_labels``, zlib-compressed.

    ``colors`` ({id: (r, g, b)}) become the group's ``image-label.colors``. Two
    halvings (nearest). Returns the label group's path, ``<store>/labels/<name>``.
    """
    import numcodecs
    import zarr
    from ome_zarr.format import FormatV04
    from ome_zarr.writer import write_labels

    group = zarr.open_group(str(store), mode="r+", zarr_format=2)
    metadata = None
    if colors:
        metadata = {"colors": [{"label-value": int(i), "rgba": [*map(int, c), 255]} for i, c in colors.items()]}
    write_labels(
        labels,
        group,
        name=name,
        scaler=None,
        axes="yx",
        fmt=FormatV04(),
        scale_factors=(2, 4),
        storage_options={"chunks": chunks, "compressor": numcodecs.Zlib(level=1)},
        label_metadata=metadata,
    )
    return Path(store) / "labels" / name
