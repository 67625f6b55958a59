"""User-facing text shared by the CLI, the check and the napari glue."""

from __future__ import annotations


def one_line(exc: BaseException | str, limit: int = 160) -> str:
    """An exception (or text) as one line of at most ``limit`` characters.

    >>> one_line(ValueError("bad\\n  tile"))
    'bad tile'
    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def human_bytes(n: float) -> str:
    """``1234567`` -> ``"1.2 MB"`` (decimal units, like file managers).

    >>> human_bytes(999), human_bytes(1_234_567)
    ('999 B', '1.2 MB')
    """
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")  # pragma: no cover
