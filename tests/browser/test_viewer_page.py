"""The bundled viewer page (src/napari_viv/serve/viewer_dist/) renders real pixels.

Self-contained: a small aiohttp site (viewer_helpers.ViewerSite) serves the
built page at ``/`` and tifffile-written pyramids at ``/<name>.ome.tif``;
headless Chromium (SwiftShader WebGL2) opens ``/?image=/<name>.ome.tif``
and the assertions read screenshot pixels and the page's test hooks
(``window.__vivViewer``, ``document.body.dataset.status``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from helpers import viewer_pages as vh

pytestmark = pytest.mark.browser

TOL = 60  # per colour component, as screenshots go through SwiftShader and PNG


def near(actual, expected, tol=TOL) -> bool:
    return bool(np.all(np.abs(np.asarray(actual, float) - np.asarray(expected, float)) <= tol))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    if not (vh.VIEWER_DIST / "viewer.js").is_file():
        pytest.fail("the viewer bundle is missing: run viewer/build.sh")
    root = tmp_path_factory.mktemp("viewer-site")
    vh.stripes_image(root / "stripes.ome.tif")
    # The same pixels without offsets.json, with a view file.
    shutil.copy(root / "stripes.ome.tif", root / "viewed.ome.tif")
    (root / "viewed.view.json").write_text(
        json.dumps(
            {
                "version": 1,
                "channels": [
                    {"name": "first", "color": [255, 255, 0], "contrast_limits": [0, 40000], "visible": True},
                    {"name": "second", "color": [0, 255, 0], "contrast_limits": [0, 40000], "visible": False},
                    {
                        "name": "third",
                        "color": [0, 0, 255],
                        "contrast_limits": [20000, 60000],
                        "visible": True,
                        "gamma": 1.0,
                    },
                ],
            }
        )
    )
    shutil.copy(root / "stripes.ome.tif", root / "camera.ome.tif")
    (root / "camera.view.json").write_text(
        json.dumps({"version": 1, "channels": [], "camera": {"center": [170, 512], "zoom": 0}})
    )
    (root / "text.ome.tif").write_text("this is not a TIFF file\n" * 10)
    import tifffile

    tifffile.imwrite(root / "plain.ome.tif", np.zeros((64, 64), np.uint8), ome=False)
    # RGB, interleaved uint8: orange left half, sky blue right half.
    rgb = np.zeros((512, 512, 3), np.uint8)
    rgb[:, :256] = (255, 128, 0)
    rgb[:, 256:] = (0, 128, 255)
    vh.write_pyramid(root / "rgb.ome.tif", rgb, "YXS", levels=2, rgb=True)
    # 12 channels (more than Viv draws at once), one level: channel c is c * 1000.
    many = np.stack([np.full((256, 256), 1000 * c + 1000, np.uint16) for c in range(12)])
    vh.write_pyramid(root / "many.ome.tif", many, "CYX", levels=1)
    # A Z stack.
    stack = np.stack([np.full((2, 512, 512), 1000 * (z + 1), np.uint16) for z in range(3)])
    vh.write_pyramid(root / "stack.ome.tif", stack, "ZCYX", levels=2)
    return root


@pytest.fixture(scope="module")
def site(folder):
    s = vh.ViewerSite(folder)
    yield s
    s.close()


@pytest.fixture
def open_viewer(chromium, site, tmp_path):
    runs = iter(range(100))

    def open_viewer(query: str, body):
        return vh.run_page(chromium, tmp_path / f"profile-{next(runs)}", f"{site.origin}/{query}", body)

    return open_viewer


async def _stripe_colours(page):
    """Mean colour at 5 points inside each third of the stripes image."""
    shot = await page.screenshot()
    to_screen = await page.image_to_screen()
    colours = []
    for third in range(3):
        x = (third + 0.5) * 1024 / 3
        points = [to_screen(x + dx, y) for dx in (-60, 0, 60) for y in (150, 512, 870)]
        colours.append([vh.mean_rgb(shot, col, row) for col, row in points])
    return shot, to_screen, colours


def test_channels_render_in_their_ome_colours(open_viewer, site):
    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        hooks = await page.evaluate(
            "({ready: window.__vivViewer.ready, error: window.__vivViewer.error,"
            "  channels: window.__vivViewer.channels, state: window.__vivViewer.state()})"
        )
        shot, to_screen, colours = await _stripe_colours(page)
        outside = vh.mean_rgb(shot, *to_screen(-20, 512))
        error_shown = await page.evaluate("document.getElementById('error') !== null")
        return hooks, colours, outside, error_shown, list(page.requests)

    hooks, colours, outside, error_shown, requests = open_viewer("?image=/stripes.ome.tif", body)
    assert hooks["ready"] is True and hooks["error"] is None and not error_shown
    assert hooks["channels"] == ["left", "middle", "right"]
    state = hooks["state"]
    assert state["image"]["usedOffsets"] is True and state["image"]["usedViewFile"] is False
    assert [c["color"] for c in state["channels"]] == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    # Contrast limits from the smallest level: its min and max.
    assert [c["contrast_limits"] for c in state["channels"]] == [[0, vh.BRIGHT]] * 3
    for third, expected in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        for mean in colours[third]:
            assert near(mean, expected), (third, mean)
    assert near(outside, (0, 0, 0)), outside
    # Everything the page asked for came from its own origin.
    assert requests and all(u.startswith(site.origin + "/") or u.startswith(("data:", "blob:")) for u in requests), (
        requests
    )


def test_switching_a_channel_off_removes_its_colour(open_viewer):
    async def body(page):
        assert await page.wait_status() == "ready"
        assert await page.change("window.__vivViewer.setChannelVisible(0, false)") is True
        _, _, off = await _stripe_colours(page)
        state = await page.evaluate("window.__vivViewer.state()")
        checkbox = await page.evaluate(
            "document.querySelector('li.channel[data-index=\"0\"] input[type=checkbox]').checked"
        )
        assert await page.change("window.__vivViewer.setChannelVisible(0, true)") is True
        _, _, on = await _stripe_colours(page)
        return off, on, state, checkbox

    off, on, state, checkbox = open_viewer("?image=/stripes.ome.tif", body)
    assert [c["visible"] for c in state["channels"]] == [False, True, True] and checkbox is False
    assert all(near(m, (0, 0, 0)) for m in off[0]), off[0]
    assert all(near(m, (0, 255, 0)) for m in off[1]) and all(near(m, (0, 0, 255)) for m in off[2])
    assert all(near(m, (255, 0, 0)) for m in on[0]), on[0]


def test_view_file_colours_limits_and_visibility(open_viewer):
    async def body(page):
        assert await page.wait_status() == "ready"
        _, _, colours = await _stripe_colours(page)
        return colours, await page.evaluate("window.__vivViewer.state()")

    colours, state = open_viewer("?image=/viewed.ome.tif", body)
    assert state["image"]["usedViewFile"] is True and state["image"]["usedOffsets"] is False
    assert [c["name"] for c in state["channels"]] == ["first", "second", "third"]
    assert state["channels"][2]["contrast_limits"] == [20000, 60000]
    assert all(near(m, (255, 255, 0)) for m in colours[0]), colours[0]  # the view file's yellow
    assert all(near(m, (0, 0, 0)) for m in colours[1]), colours[1]  # switched off
    # 40000 within [20000, 60000] is half intensity.
    assert all(near(m, (0, 0, 128), tol=40) for m in colours[2]), colours[2]


def test_view_file_camera(open_viewer):
    async def body(page):
        assert await page.wait_status() == "ready"
        shot = await page.screenshot()
        to_screen = await page.image_to_screen()
        left_edge = to_screen(0, 512)
        return (
            await page.evaluate("window.__vivViewer.state()"),
            left_edge,
            vh.mean_rgb(shot, left_edge[0] - 20, left_edge[1]),
            vh.mean_rgb(shot, left_edge[0] + 20, left_edge[1]),
        )

    state, left_edge, before, after = open_viewer("?image=/camera.ome.tif", body)
    assert state["camera"] == {"center": [170, 512], "zoom": 0}
    # Zoom 0 is one screen pixel per image pixel: image x 0 is 170 px left of the centre.
    assert left_edge[0] == vh.PANEL_WIDTH + (vh.VIEWPORT[0] - vh.PANEL_WIDTH) // 2 - 170
    assert near(before, (0, 0, 0)) and near(after, (255, 0, 0)), (before, after)


def test_rgb_image_shows_its_own_colours(open_viewer):
    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        shot = await page.screenshot()
        to_screen = await page.image_to_screen()
        return (
            await page.evaluate("window.__vivViewer.state()"),
            await page.evaluate(
                "document.querySelector('.rgb-note') && document.querySelector('.rgb-note').textContent"
            ),
            await page.evaluate("document.querySelectorAll('li.channel').length"),
            vh.mean_rgb(shot, *to_screen(128, 256)),
            vh.mean_rgb(shot, *to_screen(384, 256)),
        )

    state, note, rows, left, right = open_viewer("?image=/rgb.ome.tif", body)
    assert state["image"]["rgb"] is True and "RGB" in note and rows == 0
    assert near(left, (255, 128, 0)) and near(right, (0, 128, 255)), (left, right)


def test_more_channels_than_viv_draws(open_viewer):
    """12 channels: all start on (drawn as several Viv layers; see test_many_channels.py)."""

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        first = await page.evaluate("window.__vivViewer.state()")
        warning = await page.evaluate("[...document.querySelectorAll('.warning')].map(e => e.textContent).join(' ')")
        await page.change("window.__vivViewer.setChannelVisible(0, false)")
        switched = await page.evaluate("window.__vivViewer.setChannelVisible(11, false)")
        await page.change("window.__vivViewer.setChannelVisible(11, true)")
        await page.wait_for("window.__vivViewer.state().channels[11].loaded === true")
        return first, warning, switched, await page.evaluate("window.__vivViewer.state()")

    first, warning, switched, last = open_viewer("?image=/many.ome.tif", body)
    limit = first["maxChannels"]
    assert limit == 10 and len(first["channels"]) == 12
    assert [c["visible"] for c in first["channels"]] == [True] * 12
    assert "12 channels" not in warning
    assert switched is True
    visible = [i for i, c in enumerate(last["channels"]) if c["visible"]]
    assert visible == list(range(1, 12))
    assert last["channels"][11]["loaded"] is True and last["channels"][0]["loaded"] is False


def test_z_and_t_sliders_only_when_needed(open_viewer):
    async def stack(page):
        assert await page.wait_status() == "ready"
        return (
            await page.evaluate("window.__vivViewer.state()"),
            await page.evaluate("[!!document.getElementById('z'), !!document.getElementById('t')]"),
        )

    async def flat(page):
        assert await page.wait_status() == "ready"
        return await page.evaluate("[!!document.getElementById('z'), !!document.getElementById('t')]")

    state, sliders = open_viewer("?image=/stack.ome.tif", stack)
    assert state["image"]["sizeZ"] == 3 and state["z"] == 1 and sliders == [True, False]
    assert open_viewer("?image=/stripes.ome.tif", flat) == [False, False]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("?image=/missing.ome.tif", ["not found", "404"]),
        ("?image=/text.ome.tif", ["not a TIFF"]),
        ("?image=/plain.ome.tif", ["Viv-readable"]),
        ("", ["No image given"]),
        ("?image=http://example.invalid/x.ome.tif", ["must come from this server"]),
    ],
)
def test_errors_are_shown_as_text(open_viewer, site, query, words):
    async def body(page):
        status = await page.wait_status()
        return (
            status,
            await page.evaluate("window.__vivViewer.error"),
            await page.evaluate(
                "(() => { const e = document.getElementById('error');"
                " return e && e.offsetHeight > 0 ? e.textContent : null; })()"
            ),
            list(page.requests),
        )

    status, hook, text, requests = open_viewer(query, body)
    assert status == "error" and text and hook
    for word in words:
        assert word in text, text
    assert all(u.startswith(site.origin + "/") or u.startswith(("data:", "blob:")) for u in requests)


@pytest.mark.parametrize("name", ["stripes", "camera", "rgb"])
def test_first_view_tiles_are_read_ahead(open_viewer, name):
    """Every tile the first frame needs was read before deck.gl asked for it (viewer/src/prefetch.js)."""

    async def body(page):
        assert await page.wait_status() == "ready"
        return await page.evaluate("window.__vivViewer.prefetch")

    counts = open_viewer(f"?image=/{name}.ome.tif", body)
    assert counts["tiles"] > 0
    assert counts["missed"] == 0, counts
    assert counts["answered"] == counts["tiles"], counts


@pytest.mark.parametrize("query", ["?image=/stripes.ome.tif", "?image=/missing.ome.tif"])
def test_without_webgl_the_page_says_so_first(chromium, site, tmp_path, query):
    """WebGL switched off for pages (--disable-3d-apis): the page says so, before any
    other problem, although the WebGL2 check runs in a worker (viewer/src/startup.js)."""

    async def body(page):
        return await page.wait_status(), await page.evaluate("window.__vivViewer.error")

    flags = [*vh.CHROMIUM_FLAGS, "--disable-3d-apis"]
    status, error = vh.run_page(chromium, tmp_path / "profile", f"{site.origin}/{query}", body, flags)
    assert status == "error"
    assert "WebGL2 is not available" in error, error


@pytest.mark.slow
@pytest.mark.node
def test_committed_bundle_equals_a_rebuild(tmp_path):
    """viewer/build.sh from the lockfile gives the committed bytes (needs npm)."""
    if shutil.which("npm") is None:
        pytest.skip("no npm")
    out = tmp_path / "dist"
    subprocess.run(
        ["sh", str(vh.REPO / "viewer" / "build.sh")],
        check=True,
        env={**os.environ, "VIEWER_OUT": str(out)},
        capture_output=True,
        timeout=600,
    )
    for name in ("index.html", "viewer.js", "viewer.css"):
        assert (out / name).read_bytes() == (vh.VIEWER_DIST / name).read_bytes(), name
