"""User-facing text shared by the CLI, the check and the napari glue."""

from __future__ import annotations


def one_line(exc: BaseException | str, limit: int = 160) -> str:
    r"""Return an exception (or text) as one line of at most ``limit`` characters.

    Parameters
    ----------
    exc : BaseException or str
        The error or text.
    limit : int
        The longest line returned.

    Returns
    -------
    str
        Its text with every run of white space made one space.

    Examples
    --------
    >>> one_line(ValueError("bad\n  tile"))
    'bad tile'
    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def human_bytes(n: float) -> str:
    """Write a byte count in decimal units, like file managers.

    Parameters
    ----------
    n : float
        Bytes.

    Returns
    -------
    str
        E.g. ``"1.2 MB"``.

    Examples
    --------
    >>> human_bytes(999), human_bytes(1_234_567)
    ('999 B', '1.2 MB')
    """
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def seconds_text(seconds: float) -> str:
    """Write a duration: tenths from a second up, hundredths below.

    Parameters
    ----------
    seconds : float
        The duration.

    Returns
    -------
    str
        E.g. ``"12.3 s"`` or ``"0.04 s"``.

    Examples
    --------
    >>> seconds_text(12.34), seconds_text(0.041)
    ('12.3 s', '0.04 s')
    """
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2f} s"


def rate_text(nbytes: float, seconds: float) -> str | None:
    """Write a throughput in the unit that suits it, or None when the time is too short to measure.

    Below a tenth of a second the clock says more about start-up than about
    speed, so no rate is given.

    Parameters
    ----------
    nbytes : float
        Bytes processed.
    seconds : float
        How long it took.

    Returns
    -------
    str or None
        E.g. ``"120.0 MB/s"`` or ``"2.6 KB/s"``.

    Examples
    --------
    >>> rate_text(240e6, 2.0), rate_text(512, 0.2), rate_text(1e6, 0.01)
    ('120.0 MB/s', '2.6 KB/s', None)
    """
    if seconds < 0.1 or nbytes <= 0:
        return None
    return f"{human_bytes(nbytes / seconds)}/s"


def named(name: str, text: str) -> str:
    """Prefix a remark with the name of the file it is about, unless it starts with it already.

    Parameters
    ----------
    name : str
        The file's name.
    text : str
        A one-line remark (some readers' remarks name their file themselves).

    Returns
    -------
    str
        ``"name: text"``.

    Examples
    --------
    >>> named("a.tif", "no pixel size"), named("a.tif", "a.tif holds one series")
    ('a.tif: no pixel size', 'a.tif holds one series')
    """
    return text if text.startswith(name) else f"{name}: {text}"
