"""End to end on OME-Zarr: an ome-zarr-py store -> `napari-viv serve STORE` -> our viewer in
headless Chromium (Viv's loadOmeZarr), for NGFF 0.4, 0.5 and 0.5 sharded, with zlib, gzip,
zstd and Blosc (ome-zarr-py's default) and stores `napari-viv convert --compression blosc`
writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from urllib.parse import quote

import numpy as np
import pytest
from helpers import viewer_pages as vh
from helpers.cliproc import start_until_link
from helpers.zarr_judges import judge_viewer, refilter_with_delta, write_reference_store

pytestmark = pytest.mark.browser

PREFIX = "View in your browser: "
BRIGHT = 30000
THIRDS = [
    {"label": "left", "color": "FF0000", "window": {"start": 0, "end": BRIGHT, "min": 0, "max": 65535}},
    {"label": "middle", "color": "00FF00", "window": {"start": 0, "end": BRIGHT, "min": 0, "max": 65535}},
    {"label": "right", "color": "0000FF", "window": {"start": 0, "end": BRIGHT, "min": 0, "max": 65535}},
]


def _codec(name):
    import numcodecs
    from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

    return {
        "zlib": numcodecs.Zlib(level=1),
        "gzip": GzipCodec(level=1),
        "zstd-v2": numcodecs.Zstd(level=1),
        "zstd": ZstdCodec(level=1),
        "blosc-v2": numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),  # zarr 2's default
        "blosc-lz4": BloscCodec(cname="lz4", clevel=5, shuffle="bitshuffle"),
        "blosclz": numcodecs.Blosc(cname="blosclz", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        "default": None,  # ome-zarr-py's own (zstd, in both versions)
    }[name]


def thirds():
    data = np.zeros((3, 768, 768), np.uint16)
    for c in range(3):
        data[c, :, c * 256 : (c + 1) * 256] = BRIGHT
    return data


@pytest.fixture(
    params=[
        {"version": "0.4", "compressor": "zlib"},
        {"version": "0.5", "compressor": "gzip"},
        {"version": "0.5", "compressor": "gzip", "shards": (1, 512, 512)},
        {"version": "0.4", "compressor": "default"},
        {"version": "0.5", "compressor": "default", "shards": (1, 512, 512)},
        {"version": "0.4", "compressor": "blosc-v2"},
        {"version": "0.5", "compressor": "blosc-lz4"},
    ],
    ids=[
        "0.4-zlib",
        "0.5-gzip",
        "0.5-gzip-sharded",
        "0.4-ome-zarr-py",
        "0.5-ome-zarr-py-sharded",
        "0.4-blosc-zstd-shuffle",
        "0.5-blosc-lz4-bitshuffle",
    ],
)
def served(request, tmp_path):
    """Three channels, one bright third each (red, green, blue), served by the CLI."""
    data = thirds()
    kind = dict(request.param, compressor=_codec(request.param["compressor"]))
    store = write_reference_store(tmp_path / "thirds.ome.zarr", data, channels=THIRDS, chunks=(1, 256, 256), **kind)
    if request.param["compressor"] == "default":  # the case is what its name says
        level0 = next(p for p in (store / "s0" / ".zarray", store / "s0" / "zarr.json") if p.is_file())
        assert '"zstd"' in level0.read_text()
    env = dict(os.environ, NAPARI_VIV_NO_BROWSER="1")
    proc, lines = start_until_link(["serve", str(store)], env)
    try:
        yield store, lines
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def test_viewer_shows_the_store_with_its_omero_colours(chromium, served, tmp_path):
    store, lines = served
    link = next(ln[len(PREFIX) :] for ln in lines if ln.startswith(PREFIX))
    origin = link.split("/?", 1)[0]
    # the Avivator link opens the store's URL
    avivator = next(ln.strip() for ln in lines if "image_url=" in ln)
    assert avivator.endswith("image_url=" + quote(f"{origin}/thirds.ome.zarr", safe=":/"))

    async def body(page):
        assert await page.wait_status() == "ready", page.console[-3:]
        state = await page.evaluate("window.__vivViewer.state()")
        shot = await page.screenshot()
        to_screen = await page.image_to_screen()
        colours = [vh.mean_rgb(shot, *to_screen((third + 0.5) * 256, 384)) for third in range(3)]
        await page.change("window.__vivViewer.setChannelVisible(0, false)")
        off = vh.mean_rgb(await page.screenshot(), *to_screen(128, 384))
        return state, colours, off, list(page.requests)

    state, colours, off, requests = vh.run_page(chromium, tmp_path / "profile", link, body)
    assert [c["name"] for c in state["channels"]] == ["left", "middle", "right"]
    assert [c["color"] for c in state["channels"]] == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    assert [c["contrast_limits"] for c in state["channels"]] == [[0, BRIGHT]] * 3  # omero windows
    assert state["image"]["width"] == 768 and state["image"]["levels"] == 3
    assert state["image"]["usedOffsets"] is False
    for mean, expected in zip(colours, [(255, 0, 0), (0, 255, 0), (0, 0, 255)], strict=True):
        assert np.all(np.abs(mean - np.asarray(expected, float)) <= 60), (mean, expected)
    assert np.all(off <= 60), off  # the red third went dark
    assert any("/thirds.ome.zarr/" in u for u in requests), requests
    assert all(u.startswith(origin + "/") or u.startswith(("data:", "blob:")) for u in requests), requests


@pytest.mark.parametrize("served", [{"version": "0.4", "compressor": "blosclz"}], indirect=True, ids=["0.4-blosclz"])
def test_a_codec_the_page_cannot_decode_is_explained(chromium, served, tmp_path):
    """Blosc with blosclz (an inner codec the page does not decode) is named, with what to do."""
    store, lines = served
    link = next(ln[len(PREFIX) :] for ln in lines if ln.startswith(PREFIX))

    async def body(page):
        status = await page.wait_status()
        text = await page.evaluate("(document.getElementById('error') || {}).textContent || ''")
        return status, text

    status, text = vh.run_page(chromium, tmp_path / "profile", link, body)
    assert status == "error"
    assert "Blosc with blosclz" in text and "Avivator" in text and "napari-viv convert" in text, text


def test_a_codec_zarrita_does_not_know_is_named(chromium, tmp_path):
    """A filter no Viv reader knows (numcodecs' delta) gives the page's "cannot decode" message."""
    data = thirds()
    store = write_reference_store(tmp_path / "delta.ome.zarr", data, channels=THIRDS, chunks=(1, 256, 256))
    refilter_with_delta(store, ["s0", "s1", "s2"], chunks=(1, 256, 256))
    assert '"delta"' in (store / "s2" / ".zarray").read_text()
    from napari_viv.serve.server import RangeServer

    async def body(page):
        status = await page.wait_status()
        return status, await page.evaluate("(document.getElementById('error') || {}).textContent || ''")

    with RangeServer([store]) as server:
        status, text = vh.run_page(chromium, tmp_path / "profile", server.viewer_url_for(store), body)
    assert status == "error"
    assert "encoded with delta, which this viewer cannot decode" in text and "napari-viv convert" in text, text


def _convert(tmp_path, data, name, *options):
    """`napari-viv convert` (``python -m napari_viv``) of ``data`` (C, Y, X) into ``name``."""
    src = tmp_path / "thirds.npy"
    np.save(src, data)
    out = tmp_path / name
    cmd = [sys.executable, "-m", "napari_viv", "convert", str(src), str(out), *options]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return out


def _served(chromium, store, tmp_path, body):
    """Serve ``store`` with `napari-viv serve`, open its link and return ``body(page)``'s result."""
    proc, lines = start_until_link(["serve", str(store)], dict(os.environ, NAPARI_VIV_NO_BROWSER="1"))
    try:
        link = next(ln[len(PREFIX) :] for ln in lines if ln.startswith(PREFIX))
        return vh.run_page(chromium, tmp_path / "profile", link, body)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


def _screen_thirds(chromium, store, tmp_path):
    """Serve ``store``; the page's state, each third's mean colour, its requests."""

    async def body(page):
        assert await page.wait_status() == "ready", page.console[-3:]
        state = await page.evaluate("window.__vivViewer.state()")
        shot = await page.screenshot()
        to_screen = await page.image_to_screen()
        return state, [vh.mean_rgb(shot, *to_screen((t + 0.5) * 256, 384)) for t in range(3)], page.requests

    return _served(chromium, store, tmp_path, body)


@pytest.mark.parametrize(
    "options",
    [["--compression", "blosc"], ["--compression", "blosc", "--ngff", "0.5"]],
    ids=["0.4-blosc", "0.5-blosc-sharded"],
)
def test_viewer_shows_a_blosc_store_napari_viv_writes(chromium, tmp_path, options):
    """Blosc zstd:1 with bit-shuffle, as `convert --compression blosc` writes it (NGFF 0.5:
    sharded), renders: each third in its channel's colour, the others dark there."""
    import json

    store = _convert(tmp_path, thirds(), "blosc.ome.zarr", *options)
    v3 = (store / "zarr.json").is_file()
    meta = json.loads((store / "0" / ("zarr.json" if v3 else ".zarray")).read_text())
    assert '"blosc"' in json.dumps(meta) and ("sharding_indexed" in json.dumps(meta)) == v3, meta
    state, colours, requests = _screen_thirds(chromium, store, tmp_path)
    assert state["image"]["width"] == 768
    for third, mean in enumerate(colours):
        expected = np.asarray(state["channels"][third]["color"], float)
        assert expected.max() >= 200, state["channels"]
        assert np.all(np.abs(mean - expected) <= 60), (third, mean, expected)
    assert any("/blosc.ome.zarr/" in u for u in requests), requests


def test_judge_viewer_on_a_served_store(chromium, tmp_path):
    """The reusable judge (RangeServer + our viewer) on a gzip NGFF 0.5 store."""
    from zarr.codecs import GzipCodec

    data = np.zeros((3, 768, 768), np.uint16)
    for c in range(3):
        data[c, :, c * 256 : (c + 1) * 256] = BRIGHT
    store = write_reference_store(
        tmp_path / "judged.ome.zarr",
        data,
        version="0.5",
        channels=THIRDS,
        chunks=(1, 256, 256),
        compressor=GzipCodec(level=1),
    )
    state, shot, requests = judge_viewer(chromium, store, tmp_path / "profile")
    assert [c["name"] for c in state["channels"]] == ["left", "middle", "right"]
    assert shot.ndim == 3 and shot.reshape(-1, 3).max() > 200  # something bright was drawn
    assert any("/judged.ome.zarr/" in u for u in requests)


def test_a_store_without_limits_opens_with_the_channels_statistics(chromium, tmp_path):
    """A store converted with no contrast limits has windows spanning the whole dtype
    (0-65535): the page takes the limits from the channel statistics instead, as for an
    OME-TIFF, so a dim channel is not shown dimmer still."""
    import json

    from napari_viv import export_pyramid

    data = np.zeros((1, 768, 768), np.uint16)
    data[0, :, :256] = BRIGHT
    store = export_pyramid(data, tmp_path / "dim.ome.zarr", axes="CYX", format="ome-zarr").image
    window = json.loads((store / ".zattrs").read_text())["omero"]["channels"][0]["window"]
    assert (window["start"], window["end"]) == (window["min"], window["max"]) == (0, 65535)

    async def body(page):
        assert await page.wait_status() == "ready", page.console[-3:]
        state = await page.evaluate("window.__vivViewer.state()")
        to_screen = await page.image_to_screen()
        return state, vh.mean_rgb(await page.screenshot(), *to_screen(128, 384))

    state, bright = _served(chromium, store, tmp_path, body)
    low, high = state["channels"][0]["contrast_limits"]
    assert high <= BRIGHT < 65535, (low, high)  # from the data, not the dtype
    assert max(bright) >= 200, bright  # the bright third at (nearly) full colour
