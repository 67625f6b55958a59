"""tifffile's log, captured: its warnings become our one-line errors, not console noise."""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager

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
    """Silence tifffile's logger for the block; yield the list of its warnings."""
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
    """The captured warnings that say the file is damaged."""
    return [m for m in messages if DAMAGE.search(m)]
