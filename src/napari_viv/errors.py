"""Errors napari-viv reports to people.

A :class:`NapariVivError` carries its context as data: the ``problem`` (one
line, worded for the user) and the ``subject`` it is about (a file, a layer
or an image name). ``str(error)`` is ``"subject: problem"``. Code that knows
better what the user called the thing (the CLI names the input file where
the writer knew only the image's name) replaces the subject with
:meth:`NapariVivError.about` instead of editing the text. The CLI prints the
message as is and the napari glue shows it as a notification. Anything else
escaping is a bug.
"""

from __future__ import annotations

import os


class NapariVivError(Exception):
    """A problem with the user's input or environment, worded for them.

    Parameters
    ----------
    problem : str
        What is wrong and, where it helps, what to do; one line.
    subject : str or os.PathLike, optional
        The file, layer or image the problem is about.

    Examples
    --------
    >>> err = NapariVivError("unknown downsample 'cubic'", subject="cells")
    >>> str(err)
    "cells: unknown downsample 'cubic'"
    >>> str(err.about("/data/cells.tif"))
    "/data/cells.tif: unknown downsample 'cubic'"
    >>> err.problem
    "unknown downsample 'cubic'"
    """

    def __init__(self, problem: str, *, subject: str | os.PathLike | None = None) -> None:
        self.problem = str(problem)
        self.subject = None if subject is None else str(subject)
        super().__init__(self.problem)

    def __str__(self) -> str:
        """Join the subject and the problem: ``"subject: problem"``."""
        return f"{self.subject}: {self.problem}" if self.subject else self.problem

    def about(self, subject: str | os.PathLike | None) -> NapariVivError:
        """Return the same problem about ``subject``, as a new error of the same class.

        Parameters
        ----------
        subject : str or os.PathLike or None
            What the user calls the thing the problem is about (a file, a layer, ``file [series 2]``).

        Returns
        -------
        NapariVivError
            An error of this error's class, with this problem and the new subject.
        """
        new = NapariVivError.__new__(type(self))
        NapariVivError.__init__(new, self.problem, subject=subject)
        return new

    def __reduce__(self):
        """Pickle with the subject (dask.distributed sends errors back from workers)."""
        # keep the subject across pickling (dask.distributed sends errors back)
        return (_rebuild, (type(self), self.problem, self.subject))


def _rebuild(cls: type[NapariVivError], problem: str, subject: str | None) -> NapariVivError:
    err = NapariVivError.__new__(cls)
    NapariVivError.__init__(err, problem, subject=subject)
    return err


class Cancelled(NapariVivError):
    """The user cancelled; nothing was left at the output path."""

    def __init__(
        self, problem: str = "cancelled; nothing was written", *, subject: str | os.PathLike | None = None
    ) -> None:
        super().__init__(problem, subject=subject)
