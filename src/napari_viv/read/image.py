"""What every opener returns and shares: :class:`SourceImage`, the image's
display name, one-line error text and physical sizes in a single unit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..metadata import MICROMETRE, ImageMetadata, normalize_unit

# Length units in metres, to bring Y and Z to the unit of X.
_UNIT_METRES = {
    "\u00c5": 1e-10,
    "pm": 1e-12,
    "nm": 1e-9,
    MICROMETRE: 1e-6,
    "mm": 1e-3,
    "cm": 1e-2,
    "m": 1.0,
}


@dataclass
class SourceImage:
    """An opened image: lazy levels (level 0 first) that share ``metadata.axes``.

    ``notes`` are one-line remarks worth telling the user (no pixel size, which
    series was opened, a member file resolved to its set); none is an error.
    """

    path: Path | None
    levels: list
    metadata: ImageMetadata
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.levels[0].shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.levels[0].dtype)


def set_physical_sizes(meta: ImageMetadata, sizes: dict) -> None:
    """Store ``{axis: (value, unit)}`` in the unit of X (or the first known)."""
    parsed = {}
    for axis, (value, unit) in sizes.items():
        try:
            unit = normalize_unit(unit)
        except ValueError:
            continue
        if value > 0 and np.isfinite(value):
            parsed[axis] = (float(value), unit)
    if not parsed:
        return
    target = parsed.get("x", next(iter(parsed.values())))[1]
    meta.unit = target
    for axis, (value, unit) in parsed.items():
        if unit != target:
            value = value * _UNIT_METRES[unit] / _UNIT_METRES[target]
        meta.physical_sizes[axis] = value


