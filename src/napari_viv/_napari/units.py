"""A napari layer's scale and units as physical pixel sizes.

napari gives every axis a scale and a unit (a pint unit, or ``"pixel"``
by default). The export needs the pixel size along x, y and z in one OME
unit, and the time step in seconds. A spatial axis in pixels with a scale
other than 1 is taken to be in µm (:data:`ASSUMED_UNIT`): most readers and
users set the scale in µm without setting units. Y and X are taken
together, so a scale on one of them gives both a size. Scale 1 in pixels
means no physical size.

Needs pint (a napari dependency), not napari itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import NapariVivError
from ..metadata import normalize_unit

#: The unit assumed for a scale given without units.
ASSUMED_UNIT = "µm"
_NO_UNIT = ("", "pixel", "pixels", "px", "none")


@dataclass
class Physical:
    """A layer's physical pixel sizes, in one unit."""

    #: size per axis letter (``"x"``, ``"y"``, ``"z"``)
    sizes: dict[str, float] = field(default_factory=dict)
    #: the OME symbol of the unit shared by ``sizes``, or None without sizes
    unit: str | None = None
    #: the time step in seconds, if the layer has a time axis with a time unit
    time_increment: float | None = None
    #: whether a scale without units was taken as µm
    assumed_um: bool = False


def _registry():
    import pint

    return pint.get_application_registry()


def _as_unit(u):
    """Turn a napari unit into a pint unit; None for napari's "pixel" (no unit)."""
    if u is None:
        return None
    if isinstance(u, str):
        if u.strip().lower() in _NO_UNIT:
            return None
        try:
            return _registry().Unit(u.strip())
        except Exception:  # noqa: BLE001 - pint raises many types for a unit it does not know
            return _registry().Unit(normalize_unit(u))
    if str(u) == "pixel":
        return None
    return u


def assumed_um_note(names) -> str | None:
    """Tell the user that layers' scales had no units, or return None.

    Parameters
    ----------
    names : iterable of str
        The layers whose scale was taken as µm.

    Returns
    -------
    str or None
        One sentence, or None when ``names`` is empty.

    Examples
    --------
    >>> assumed_um_note(["cells"])
    "the scale of 'cells' has no units: assumed µm; set the layer's units to choose another"
    >>> assumed_um_note([]) is None
    True
    """
    names = list(names)
    if not names:
        return None
    which = ", ".join(map(repr, names)) if len(names) <= 2 else f"{len(names)} layers"
    return f"the scale of {which} has no units: assumed {ASSUMED_UNIT}; set the layer's units to choose another"


def _parse(axes: str, scale, units, name: str) -> tuple[list[tuple[str, float, object]], bool]:
    """Pair every axis with its scale and pint unit (None: pixels), µm where assumed; and whether it was."""
    parsed = []
    for ax, s, u in zip(axes, scale, units, strict=True):
        try:
            unit = _as_unit(u)
        except Exception:  # noqa: BLE001 - any failure to parse is this layer's unknown unit
            raise NapariVivError(f"unknown unit {u!r} on axis {ax.lower()}", subject=f"layer {name!r}") from None
        parsed.append((ax, float(s), unit))
    unitless = {ax for ax, s, unit in parsed if unit is None and ax in "ZYX" and s != 1.0}
    if unitless & {"Y", "X"}:
        unitless |= {ax for ax, _s, unit in parsed if unit is None and ax in "YX"}
    micrometer = _registry().Unit("micrometer")
    return [(ax, s, micrometer if unit is None and ax in unitless else unit) for ax, s, unit in parsed], bool(unitless)


def physical_sizes(axes: str, scale, units, name: str) -> Physical:
    """Work out a layer's pixel sizes, their unit and its time step.

    Parameters
    ----------
    axes : str
        The layer's axis letters (no ``S``), one per scale.
    scale, units : sequence
        napari's ``scale`` and ``units``, one per axis.
    name : str
        The layer's name, for errors.

    Returns
    -------
    Physical
        Sizes in the unit of x (else y, z); µm when that unit has no OME symbol.

    Raises
    ------
    NapariVivError
        For an unknown unit or a spatial axis whose unit is not a length.

    Examples
    --------
    >>> p = physical_sizes("YX", [0.5, 0.5], ["pixel", "pixel"], "cells")
    >>> p.sizes, p.unit, p.assumed_um
    ({'y': 0.5, 'x': 0.5}, 'µm', True)
    """
    parsed, assumed = _parse(axes, scale, units, name)
    found = Physical(assumed_um=assumed)
    qty = {}
    for ax, s, unit in parsed:
        if unit is None or ax == "C":
            continue
        q = s * unit
        if ax == "T":
            if q.check("[time]"):
                found.time_increment = float(q.to("second").magnitude)
            continue
        if not q.check("[length]"):
            raise NapariVivError(f"axis {ax.lower()} has unit {unit} which is not a length", subject=f"layer {name!r}")
        qty[ax] = q
    if not qty:
        return found
    # One unit for all axes: that of x (else y, z), converted when they differ.
    ref = next(qty[a] for a in "XYZ" if a in qty)
    try:
        found.unit, target = normalize_unit(format(ref.units, "~")), ref.units
    except ValueError:
        found.unit, target = normalize_unit("um"), _registry().Unit("micrometer")
    found.sizes = {ax.lower(): float(q.to(target).magnitude) for ax, q in qty.items()}
    return found
