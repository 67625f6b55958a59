"""Errors napari-viv reports to people.

A :class:`NapariVivError` carries a one-line message that names the file or
layer and the problem; the CLI prints it as is and the napari glue shows it
as a notification. Anything else escaping is a bug.
"""


class NapariVivError(Exception):
    """A problem with the user's input or environment, worded for them."""


class Cancelled(NapariVivError):
    """The user cancelled; nothing was left at the output path."""

    def __init__(self, message: str = "cancelled; nothing was written") -> None:
        super().__init__(message)
