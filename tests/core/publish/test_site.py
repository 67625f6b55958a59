"""The published site's layout, pages and gallery (no servers needed), and the publish modules' examples."""

from __future__ import annotations

import base64
import doctest
import hashlib
import importlib
import json
import re

import numpy as np
import pytest

from napari_viv import export_pyramid
from napari_viv.metadata import ImageMetadata
from napari_viv.publish import publish
from napari_viv.publish.site import viewer_page
from napari_viv.serve.viewer import VIEWER_DIR


@pytest.mark.parametrize(
    "module", ["napari_viv.publish.site", "napari_viv.publish.upload", "napari_viv.publish.publisher"]
)
def test_examples_run(module, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_inline_page_allows_exactly_its_script_and_style():
    page = viewer_page({"image": "https://h/x.ome.tif?sig=1</script>"}, inline=True).decode()
    csp = re.search(r'Content-Security-Policy" content="([^"]+)"', page).group(1)
    for name in ("viewer.js", "viewer.css"):
        digest = base64.b64encode(hashlib.sha256((VIEWER_DIR / name).read_bytes()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "'unsafe-inline'" not in csp and "src=" not in page.split("<body")[1].split("napari-viv-site")[0]
    # The config cannot end its script block early.
    block = page.split('id="napari-viv-site">')[1].split("</script>")[0]
    assert json.loads(block)["image"].endswith("</script>")


def test_several_images_give_a_gallery(tmp_path):
    images = []
    for name, colour in (("alpha", (255, 0, 0)), ("beta", (0, 255, 0))):
        md = ImageMetadata(axes="CYX", channel_names=[f"{name}-1", f"{name}-2"], channel_colors=[colour, (0, 0, 255)])
        data = np.zeros((2, 300, 500), np.uint16)
        data[0] = 1000
        images.append(export_pyramid(data, tmp_path / f"{name}.ome.tif", metadata=md).image)
    pub = publish(images, str(tmp_path / "site"))
    site = tmp_path / "site"
    assert sorted(p.name for p in site.iterdir()) == [
        ".napari-viv-manifest.json",
        "alpha",
        "beta",
        "index.html",
        "viewer.css",
        "viewer.js",
    ]
    gallery = (site / "index.html").read_text()
    for name in ("alpha", "beta"):
        assert f'href="{name}/index.html"' in gallery and f"{name}-1, {name}-2" in gallery
        page = (site / name / "index.html").read_text()
        assert '<script src="../viewer.js"></script>' in page and f'"image": "{name}.ome.tif"' in page
        import imagecodecs

        thumb = imagecodecs.png_decode((site / name / "thumbnail.png").read_bytes())
        assert thumb.shape[1] <= 256 and thumb.shape[1] > thumb.shape[0]
    assert "500 × 300 px" in gallery
    # The thumbnail shows channel 0 (constant 1000, the brightest) in its colour.
    red = imagecodecs.png_decode((site / "alpha" / "thumbnail.png").read_bytes())
    assert red[..., 0].mean() > 200 and red[..., 1].mean() < 30
    assert [i.name for i in pub.images] == ["alpha", "beta"]


def test_the_scene_sidecars_are_published_with_the_image(tmp_path):
    """Points/shapes and label pyramids beside an export go up with it, named as beside it."""
    from napari_viv import naming
    from napari_viv.publish.site import entries_for

    image = export_pyramid(np.zeros((64, 64), np.uint16), tmp_path / "scene.ome.tif").image
    scene = [
        naming.features_path(image),
        naming.labels_path(image, 0),
        naming.offsets_path(naming.labels_path(image, 0)),
    ]
    for path in scene:
        path.write_bytes(b"{}")
    (tmp_path / "unrelated.json").write_text("{}")

    names = [f.name for f in entries_for([image])[0].data_files()]

    assert names[:2] == ["scene.ome.tif", "scene.offsets.json"]
    assert sorted(names[2:]) == sorted(p.name for p in scene)
    assert "unrelated.json" not in names
