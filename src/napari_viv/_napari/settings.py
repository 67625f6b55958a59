"""Export settings remembered between uses of the napari widgets.

A small JSON file, ``napari-viv.json``, sits next to napari's own
``settings.yaml`` (so it follows ``NAPARI_CONFIG`` and napari's per-
environment folder). ``NAPARI_VIV_SETTINGS`` names another file instead;
the tests point it into a temporary folder. A missing, unreadable or
damaged file simply gives the defaults: remembered settings are a
convenience, never a reason for an export to fail.

The last exported file is also kept in memory for the current session, so
the serve widget can offer it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..write.downsample import METHODS
from ..write.plan import RECOMMENDED_TILE_SIZES

log = logging.getLogger(__name__)

#: Environment variable naming the settings file (used by the tests).
ENV_VAR = "NAPARI_VIV_SETTINGS"
FILE_NAME = "napari-viv.json"

TILE_SIZES = RECOMMENDED_TILE_SIZES
DOWNSAMPLING = METHODS


@dataclass
class ExportSettings:
    """What the export widget remembers. ``levels`` 0 means automatic."""

    tile_size: int = 512
    compression: str = "zlib"
    levels: int = 0
    downsample: str = "mean"
    folder: str = ""
    #: The panel's format choice: "ome-tiff", "ngff-0.4" or "ngff-0.5" (export_output.FORMAT_CHOICES).
    format: str = "ome-tiff"


def settings_path() -> Path | None:
    """Where the settings live, or None when napari keeps no settings file."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    try:
        from napari.settings import get_settings

        config = get_settings().config_path
    except Exception:  # napari settings unavailable: remember nothing
        log.debug("napari settings unavailable", exc_info=True)
        return None
    if not config:
        return None
    return Path(config).parent / FILE_NAME


def load_settings() -> ExportSettings:
    """Load the remembered settings, with defaults for anything missing or bad."""
    path = settings_path()
    defaults = ExportSettings()
    if path is None or not path.is_file():
        return defaults
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("ignoring unreadable settings file %s", path)
        return defaults
    if not isinstance(raw, dict):
        return defaults
    values = {}
    for f in fields(ExportSettings):
        value = raw.get(f.name)
        if isinstance(value, type(getattr(defaults, f.name))) and not isinstance(value, bool):
            values[f.name] = value
    result = ExportSettings(**values)
    if result.tile_size not in TILE_SIZES:
        result.tile_size = defaults.tile_size
    if result.downsample not in DOWNSAMPLING:
        result.downsample = defaults.downsample
    if result.levels < 0:
        result.levels = 0
    return result


def save_settings(settings: ExportSettings) -> None:
    """Remember ``settings``; a failure to write is logged, not raised."""
    path = settings_path()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(settings), indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        log.warning("could not remember export settings in %s", path)


# The file exported last in this session (for the serve widget).
_last_export: Path | None = None


def remember_last_export(path: str | os.PathLike | None) -> None:
    """Record the file exported most recently in this session (None forgets)."""
    global _last_export
    _last_export = None if path is None else Path(path)


def last_export() -> Path | None:
    """Return the file exported most recently in this session, if any."""
    return _last_export
