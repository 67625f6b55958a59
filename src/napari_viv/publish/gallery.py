"""The gallery: one page listing several published images.

Each entry has a thumbnail, its name, size and channels, and links to its viewer page.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .site import PAGE, ImageEntry, SiteFile

THUMBNAIL = "thumbnail.png"
THUMBNAIL_SIZE = 256

_STYLE = (
    "body{margin:0;padding:16px;background:#1e1f22;color:#e6e6e6;font:14px/1.4 system-ui,sans-serif}"
    "h1{font-size:18px}ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:16px}"
    "li{width:260px;background:#2a2c31;border-radius:6px;padding:8px}a{color:#8cb8ff;text-decoration:none}"
    "img{display:block;width:256px;height:256px;object-fit:contain;background:#000}"
    ".name{font-weight:600;margin:6px 0 2px;overflow-wrap:anywhere}.meta{color:#a9abb0;font-size:12px}"
)


def thumbnail(image: Path) -> tuple[np.ndarray, dict]:
    """Draw the image's smallest level as RGB uint8, in its channels' colours and limits.

    Returns the picture and a summary: ``width``, ``height``, ``channels`` (names).
    """
    from .. import open_image

    src = open_image(image)
    md = src.metadata
    level = np.asarray(src.levels[-1])
    axes = md.axes
    summary: dict = {"width": int(src.shape[axes.index("X")]), "height": int(src.shape[axes.index("Y")])}
    if axes.endswith("S"):
        rgb = level.reshape(level.shape[-3:])[..., :3].astype(np.float32)
        summary["channels"] = ["RGB"]
    else:
        planes = level.reshape((-1, *level.shape[-2:])) if "C" not in axes else _channels(level, axes)
        names = md.channel_names or [f"Channel {i}" for i in range(len(planes))]
        summary["channels"] = list(names)
        rgb = np.zeros((*planes.shape[-2:], 3), np.float32)
        for i, plane in enumerate(planes):
            if md.channel_visible and i < len(md.channel_visible) and not md.channel_visible[i]:
                continue
            lo, hi = (
                md.contrast_limits[i]
                if md.contrast_limits and i < len(md.contrast_limits)
                else (float(plane.min()), float(plane.max()))
            )
            color = (
                md.channel_colors[i]
                if md.channel_colors and i < len(md.channel_colors) and md.channel_colors[i]
                else (255, 255, 255)
            )
            if hi <= lo:  # a flat channel: show it by its value, not as black
                lo, hi = min(0.0, lo), max(hi, 1.0)
            scaled = np.clip((plane.astype(np.float32) - lo) / max(hi - lo, 1e-9), 0, 1)
            rgb += scaled[..., None] * np.asarray(color, np.float32)
    step = max(1, int(np.ceil(max(rgb.shape[:2]) / THUMBNAIL_SIZE)))
    return np.clip(rgb[::step, ::step], 0, 255).astype(np.uint8), summary


def _channels(level: np.ndarray, axes: str) -> np.ndarray:
    """Take the (C, Y, X) planes at the first T and the middle Z."""
    index = []
    for ax, n in zip(axes, level.shape, strict=True):
        index.append(slice(None) if ax in "CYX" else (n // 2 if ax == "Z" else 0))
    return level[tuple(index)]


def gallery_files(entries: list[ImageEntry], staging: Path) -> tuple[list[SiteFile], SiteFile]:
    """Thumbnails (data) and the gallery page (sent last) for several images."""
    import imagecodecs

    from ..text import human_bytes

    thumbs, items = [], []
    for entry in entries:
        picture, summary = thumbnail(entry.image)
        path = staging / entry.folder / THUMBNAIL
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(imagecodecs.png_encode(picture))
        thumbs.append(SiteFile(entry.name(THUMBNAIL), path, "data"))
        href = f"{quote(entry.folder)}/{PAGE}"
        items.append(
            f'<li><a href="{href}"><img src="{quote(entry.folder)}/{THUMBNAIL}" alt=""></a>'
            f'<div class="name"><a href="{href}">{html.escape(entry.image.name)}</a></div>'
            f'<div class="meta">{summary["width"]} × {summary["height"]} px · '
            f"{html.escape(human_bytes(entry.nbytes))}<br>"
            f"{html.escape(', '.join(summary['channels']))}</div></li>"
        )
    page = staging / PAGE
    page.write_text(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'self'; style-src 'unsafe-inline'\">"
        f"<title>Published images</title><style>{_STYLE}</style></head><body>"
        f'<h1>Published images ({len(entries)})</h1><ul id="gallery">{"".join(items)}</ul></body></html>\n',
        encoding="utf-8",
    )
    return thumbs, SiteFile(PAGE, page, "page")
