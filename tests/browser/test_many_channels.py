"""More channels than Viv draws in one layer: every visible channel shows at once.

Channel c of the test image is bright only in its own vertical stripe, so the
screenshot shows, stripe by stripe, whether each channel is drawn in its colour.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import viewer_pages as vh

pytestmark = pytest.mark.browser

STRIPE = 32
PALETTE = [
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (255, 0, 255),
    (0, 255, 255),
    (255, 128, 0),
    (128, 0, 255),
    (255, 255, 255),
    (128, 255, 0),
    (255, 0, 128),
    (0, 128, 128),
]


def colour(c: int) -> tuple[int, int, int]:
    """Channel c's colour: the palette, darkened a step per round for more than 12 channels."""
    r, g, b = PALETTE[c % len(PALETTE)]
    k = 1.0 - 0.3 * (c // len(PALETTE) % 3)
    return int(r * k), int(g * k), int(b * k)


def striped(n: int) -> np.ndarray:
    data = np.zeros((n, 256, n * STRIPE), np.uint16)
    for c in range(n):
        data[c, :128, c * STRIPE : (c + 1) * STRIPE] = 50000
        data[c, 128:, c * STRIPE : (c + 1) * STRIPE] = 25000  # half: a layer added twice would show full
    return data


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("many-channels")
    for n in (12, 40):
        vh.write_pyramid(
            root / f"c{n}.ome.tif",
            striped(n),
            "CYX",
            levels=2,
            channel={
                "Name": [f"marker {c:02d}" for c in range(n)],
                "Color": [vh.ome_color(*colour(c)) for c in range(n)],
            },
        )
    s = vh.ViewerSite(root)
    yield s
    s.close()


def _near(actual, expected, tol=60) -> bool:
    return bool(np.all(np.abs(np.asarray(actual, float) - np.asarray(expected, float)) <= tol))


SET_FILTER = """(() => { const el = document.querySelector('.channel-filter');
  const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
  set.call(el, %r); el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()"""


@pytest.mark.parametrize("n", [12, 40])
def test_every_channel_shows_in_its_colour_at_once(chromium, site, tmp_path, n):
    async def stripes(page):
        shot = await page.screenshot()
        to_screen = await page.image_to_screen()
        return [vh.mean_rgb(shot, *to_screen((c + 0.5) * STRIPE, 64), radius=2) for c in range(n)]

    async def body(page):
        assert await page.wait_status() == "ready", await page.evaluate("window.__vivViewer.error")
        state = await page.evaluate("window.__vivViewer.state()")
        shown = await stripes(page)
        shot = await page.screenshot()
        to_screen = await page.image_to_screen()
        half = [vh.mean_rgb(shot, *to_screen((c + 0.5) * STRIPE, 192), radius=2) for c in range(n)]
        warnings = await page.evaluate("[...document.querySelectorAll('.warning')].map(e => e.textContent)")
        # "None" on the listed channels after filtering to one name hides just that one
        await page.evaluate(SET_FILTER % "marker 03")
        listed = await page.evaluate("document.querySelectorAll('li.channel').length")
        await page.change("document.querySelector('.show-none').click()")
        await page.wait_for("window.__vivViewer.state().loaded")
        one_off = await stripes(page)
        await page.evaluate(SET_FILTER % "")
        await page.change("document.querySelector('.show-none').click()")
        none = await stripes(page)
        await page.change("document.querySelector('.show-all').click()")
        await page.wait_for("window.__vivViewer.state().loaded")
        again = await stripes(page)
        return state, shown, half, warnings, listed, one_off, none, again

    state, shown, half, warnings, listed, one_off, none, again = vh.run_page(
        chromium, tmp_path / "profile", f"{site.origin}/?image=/c{n}.ome.tif", body
    )
    assert len(state["channels"]) == n and all(c["visible"] for c in state["channels"])
    assert n > state["maxChannels"]  # more than one Viv layer draws them
    assert not warnings, warnings
    for c in range(n):
        assert _near(shown[c], colour(c)), (c, shown[c], colour(c))
        assert _near(again[c], colour(c)), (c, again[c], colour(c))
        assert _near(half[c], [v / 2 for v in colour(c)], tol=40), (c, half[c], colour(c))
        assert _near(none[c], (0, 0, 0)), (c, none[c])
        assert _near(one_off[c], (0, 0, 0) if c == 3 else colour(c)), (c, one_off[c])
    assert listed == 1
