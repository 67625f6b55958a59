"""The *Options* part of the *Export to Viv* panel (collapsed at first).

Tile size, compression, levels and downsampling start from the choices
remembered in the napari-viv settings; *Copy layers' own levels* shows
for multiscale layers; the pixel size and unit are prefilled from the
layers' scale and units and override them when changed.
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, PushButton

from . import settings
from .widgets import field

UNITS = ("µm", "nm", "mm")
LEVEL_CHOICES = ("auto", *(str(n) for n in range(1, 13)))


def compression_choices(format: str = "ome-tiff") -> list[str]:  # noqa: A002 - the writer's name
    """List the codecs the writer offers for ``format``, the default first.

    Parameters
    ----------
    format : {"ome-tiff", "ome-zarr"}
        The output format: each takes its own codecs.

    Returns
    -------
    list of str
        Codec names as the writer spells them.

    Examples
    --------
    >>> from napari_viv.write.codecs import DEFAULT_COMPRESSION
    >>> compression_choices()[0] == DEFAULT_COMPRESSION
    True
    >>> compression_choices("ome-zarr")
    ['blosc-zstd', 'blosc-lz4', 'zstd', 'zlib', 'none']
    """
    from ..write.codecs import DEFAULT_COMPRESSION, DEFAULT_ZARR_COMPRESSION, TIFF_CODES, ZARR_CODECS

    default, names = (
        (DEFAULT_ZARR_COMPRESSION, list(ZARR_CODECS))
        if format == "ome-zarr"
        else (DEFAULT_COMPRESSION, list(TIFF_CODES))
    )
    names.remove(default)
    return [default, *names]


def _size_box(axis: str) -> FloatSpinBox:
    box = FloatSpinBox(value=0.0, min=0.0, max=1e4, step=0.001, name=f"pixel_{axis}")
    box.native.setDecimals(4)
    box.native.setSingleStep(0.05)
    box.native.setSpecialValueText("unknown")
    box.native.setButtonSymbols(box.native.ButtonSymbols.NoButtons)
    box.native.setMinimumWidth(60)
    box.tooltip = f"physical size of one pixel along {axis}; 0 = unknown"
    return box


def _toggle() -> PushButton:
    button = PushButton(text="▸ Options", name="options_toggle")
    button.native.setCheckable(True)
    button.native.setFlat(True)
    button.native.setStyleSheet("text-align: left; padding-left: 2px")
    return button


class ExportOptions(Container):
    """The export's options behind a ▸ Options toggle."""

    def __init__(self, format: str = "ome-tiff", ngff: str = "0.4") -> None:  # noqa: A002 - the writer's name
        remembered = settings.load_settings()
        self.format, self.ngff = format, ngff  #: the output format the codecs and plan are for
        self.options_toggle = _toggle()
        self.tile_size = ComboBox(
            choices=list(settings.TILE_SIZES), value=remembered.tile_size, label="Tile size", name="tile_size"
        )
        compressions = compression_choices(format)
        chosen = remembered.compression if remembered.compression in compressions else compressions[0]
        self.compression = ComboBox(choices=compressions, value=chosen, label="Compression", name="compression")
        levels = str(remembered.levels) if 0 < remembered.levels <= 12 else "auto"
        self.levels = ComboBox(choices=list(LEVEL_CHOICES), value=levels, label="Levels", name="levels")
        self.levels.tooltip = "auto: halve until the smallest level fits one tile"
        self.downsample = ComboBox(
            choices=list(settings.DOWNSAMPLING), value=remembered.downsample, label="Downsampling", name="downsample"
        )
        self.reuse = CheckBox(text="Copy layers' own levels", value=True, name="reuse")
        self.reuse.tooltip = (
            "For multiscale layers: copy existing levels of the planned sizes instead of "
            "recomputing them from level 0 (faster; keeps the original downsampling)."
        )
        self.reuse.visible = False
        self.pixel_x, self.pixel_y, self.pixel_z = (_size_box(axis) for axis in "xyz")
        self.unit = ComboBox(choices=list(UNITS), value=UNITS[0], label="Unit", name="unit")
        self.pixel_z_row = field("Pixel size z", self.pixel_z)
        self.has_z = False  #: whether the pixel size has a z (not: is the row shown)
        self.options_box = Container(widgets=self._fields(), labels=False, name="options")
        self.options_box.margins = (0, 0, 0, 0)
        self.options_box.visible = False
        super().__init__(widgets=[self.options_toggle, self.options_box], labels=False, name="options_section")
        self.margins = (0, 0, 0, 0)
        self.options_toggle.native.toggled.connect(self._on_toggled)

    def _fields(self) -> list:
        return [
            field("Tile size", self.tile_size),
            field("Compression", self.compression),
            field("Levels", self.levels),
            field("Downsampling", self.downsample),
            self.reuse,
            field("Pixel size x", self.pixel_x),
            field("Pixel size y", self.pixel_y),
            self.pixel_z_row,
            field("Unit", self.unit),
        ]

    def set_format(self, format: str, ngff: str) -> None:  # noqa: A002 - the writer's name
        """Offer the codecs of ``format`` and plan for it.

        A codec the user chose stays if ``format`` has it; the old format's default
        (the first choice) becomes the new format's.
        """
        self.format, self.ngff = format, ngff
        choices = compression_choices(format)
        old = list(self.compression.choices)
        if old != choices:
            value = self.compression.value
            chosen = value if value in choices and value not in old[:1] else choices[0]
            with self.compression.changed.blocked():
                self.compression.choices = choices
                self.compression.value = chosen

    def plan_widgets(self) -> tuple:
        """Return the options that change the plan."""
        return (self.tile_size, self.compression, self.levels, self.reuse)

    def levels_value(self) -> int | str:
        """Return the number of levels, or ``"auto"``."""
        value = self.levels.value
        return "auto" if value == "auto" else int(value)

    def plan_for(self, found):
        """Plan the pyramid of ``found`` (an :class:`.layers.ExportInput`) with these options."""
        from ..write.plan import plan_pyramid

        return plan_pyramid(
            found.shape,
            found.dtype,
            found.metadata.axes or None,
            tile_size=self.tile_size.value,
            levels=self.levels_value(),
            compression=self.compression.value,
            format=self.format,
            ngff=self.ngff,
        )

    def physical_sizes(self) -> tuple[dict, str]:
        """Return the pixel size as shown (0 = unknown) and its unit, overriding the layers'."""
        sizes = {}
        for axis, box in (("x", self.pixel_x), ("y", self.pixel_y), ("z", self.pixel_z)):
            if (axis != "z" or self.has_z) and box.value > 0:
                sizes[axis] = round(float(box.value), 4)
        return sizes, self.unit.value

    def export_options(self, metadata, *, overwrite: bool) -> dict:
        """Keyword arguments for ``export_pyramid`` from these options."""
        sizes, unit = self.physical_sizes()
        return {
            "axes": metadata.axes,
            "metadata": metadata,
            "tile_size": self.tile_size.value,
            "levels": self.levels_value(),
            "compression": self.compression.value,
            "downsample": self.downsample.value,
            "overwrite": overwrite,
            "physical_sizes": sizes,
            "unit": unit,
            "format": self.format,
            "ngff": self.ngff,
        }

    def prefill(self, found) -> None:
        """Show the pixel size and unit of ``found`` (the chosen layers' export input)."""
        meta = found.metadata
        sizes = meta.physical_sizes or {}
        for axis, box in (("x", self.pixel_x), ("y", self.pixel_y), ("z", self.pixel_z)):
            box.value = float(sizes.get(axis) or 0.0)
        self.has_z = "Z" in (meta.axes or "").upper()
        self.pixel_z_row.visible = self.has_z
        unit = meta.unit or UNITS[0]
        if unit not in self.unit.choices:
            self.unit.choices = (*self.unit.choices, unit)
        self.unit.value = unit

    def remember(self, folder: str, format_key: str = "ome-tiff") -> None:
        """Save these choices, ``folder`` and the format (its panel key) as the next panel's defaults."""
        settings.save_settings(
            settings.ExportSettings(
                tile_size=self.tile_size.value,
                compression=self.compression.value,
                levels=0 if self.levels.value == "auto" else int(self.levels.value),
                downsample=self.downsample.value,
                folder=folder,
                format=format_key,
            )
        )

    def _on_toggled(self, value) -> None:
        self.options_box.visible = bool(value)
        self.options_toggle.text = "▾ Options" if value else "▸ Options"
