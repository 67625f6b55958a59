"""What every opener returns: :class:`SourceImage`.

Physical sizes in one unit are :func:`napari_viv.metadata.set_physical_sizes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..metadata import ImageMetadata


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
        """Shape of level 0."""
        return tuple(self.levels[0].shape)

    @property
    def dtype(self) -> np.dtype:
        """Pixel type of level 0."""
        return np.dtype(self.levels[0].dtype)
