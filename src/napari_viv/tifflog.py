"""tifffile's log, captured: its warnings become our one-line errors, not console noise.

Damage found in the log, or later while reading the structure, is reported
by :func:`damaged`, in the same words whichever command found it.
"""

from __future__ import annotations

import logging
import os
import re
from contextlib import contextmanager

from .errors import NapariVivError

#: What in tifffile's warnings means the file is damaged (not merely unusual).
DAMAGE = re.compile(r"corrupt|invalid (page|value|tag|offset)|truncat|TiffFileError|unexpected end", re.I)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def captured():
    """Silence tifffile's logger for the block; yield the list of its warnings.

    Yields
    ------
    list of str
        Filled with tifffile's warning messages while the block runs.

    Examples
    --------
    >>> import logging
    >>> with captured() as warned:
    ...     logging.getLogger("tifffile").warning("invalid page offset 12")
    >>> damage(warned)
    ['invalid page offset 12']
    """
    logger = logging.getLogger("tifffile")
    handler = _Collect()
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved


def damage(messages: list[str]) -> list[str]:
    """Return the captured warnings that say the file is damaged.

    Parameters
    ----------
    messages : list of str
        What :func:`captured` collected.

    Returns
    -------
    list of str
        Those matching :data:`DAMAGE` (corrupt, invalid offsets or tags, truncated).

    Examples
    --------
    >>> damage(["unknown tag 65000", "corrupted tag list @ 8"])
    ['corrupted tag list @ 8']
    """
    return [m for m in messages if DAMAGE.search(m)]


#: The one wording of a truncated or damaged file, for every command.
DAMAGED = "file is truncated or damaged"
_AGAIN = "copy it or export it again"


def damaged(
    path: str | os.PathLike, *, size: int | None = None, needed: int | None = None, in_set: bool = False
) -> NapariVivError:
    """Return the error for a truncated or damaged TIFF, the same from ``convert``, ``check`` and ``serve``.

    Parameters
    ----------
    path : str or os.PathLike
        The damaged file (a member of a multi-file set names itself).
    size, needed : int, optional
        The file's size and the bytes its image data needs, when known.
    in_set : bool
        ``path`` is a ``.companion.ome`` and the damage is in one of its files.

    Returns
    -------
    NapariVivError
        Whose ``str()`` is "<path>: file is truncated or damaged (...); copy it or export it again".

    Examples
    --------
    >>> err = damaged("cut.ome.tif", size=100, needed=4096)
    >>> err.subject, err.problem.split(";")[0]
    ('cut.ome.tif', 'file is truncated or damaged (100 bytes, but its TIFF image data needs 4096)')
    >>> damaged("cut.ome.tif").problem
    'file is truncated or damaged (its TIFF structure is broken); copy it or export it again'
    """
    if size is not None and needed is not None:
        detail = f"{size} bytes, but its TIFF image data needs {needed}"
    else:
        detail = "its TIFF structure is broken"
    what = "a file of the set is truncated or damaged" if in_set else DAMAGED
    return NapariVivError(f"{what} ({detail}); {_AGAIN}", subject=path)
