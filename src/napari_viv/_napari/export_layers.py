"""The *Layers* part of the *Export to Viv* panel.

Every image layer of the viewer gets a row: a tick box with its name and
▲/▼ to move it. Rows come in the viewer's layer order (channel 1 first;
napari lists it at the bottom); all are ticked, or only the visible ones
when some are hidden, until the user sets a tick. The list follows the
viewer (layers added, removed, renamed, shown or hidden) and keeps the
user's order and ticks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from magicgui.widgets import CheckBox, Container, Label, PushButton

#: The viewer's layer-list events the list follows.
LAYER_EVENTS = ("inserted", "removed", "moved", "reordered")


def layer_key(layer) -> str:
    """Give a stable key for ``layer`` (napari may hand us a new proxy each time).

    Parameters
    ----------
    layer : napari.layers.Layer
        Any layer.

    Returns
    -------
    str
        The layer's unique id, as text.
    """
    return str(layer.unique_id)


def image_layers(viewer) -> list:
    """List the viewer's image layers, in napari's order.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.

    Returns
    -------
    list
        Its ``Image`` layers, bottom first.
    """
    from napari.layers import Image

    return [layer for layer in viewer.layers if isinstance(layer, Image)]


def source_path(layer) -> Path | None:
    """Find the file a layer was read from (our reader records it), if any.

    Parameters
    ----------
    layer : napari.layers.Layer
        Any layer.

    Returns
    -------
    Path or None
        The file, or None when the layer was not read by our reader.
    """
    md = getattr(layer, "metadata", None) or {}
    path = md.get("path") if isinstance(md, dict) else None
    return Path(path) if path else None


class LayerRow(Container):
    """One image layer: a tick box with its name, and ▲/▼ to move it."""

    def __init__(self, name: str, ticked: bool) -> None:
        self.tick = CheckBox(text=name, value=ticked, name="tick")
        self.up = PushButton(text="▲", name="up")
        self.down = PushButton(text="▼", name="down")
        for button, tip in ((self.up, "earlier channel"), (self.down, "later channel")):
            button.tooltip = tip
            button.native.setFixedWidth(28)
        super().__init__(widgets=[self.tick, self.up, self.down], layout="horizontal", labels=False)
        self.margins = (0, 0, 0, 0)
        self.native.layout().setStretch(0, 1)


class LayerList(Container):
    """The viewer's image layers as ticked rows in channel order.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer whose image layers are listed.
    on_change : callable
        Called with no argument whenever the chosen layers or their order
        may have changed.
    """

    def __init__(self, viewer, on_change: Callable[[], None]) -> None:
        super().__init__(labels=False, name="layers")
        self.margins = (0, 0, 0, 0)
        self.viewer = viewer
        self._on_change = on_change
        self._rows: dict[str, LayerRow] = {}
        self._order: list[str] = []
        self._touched: set[str] = set()  # rows whose tick the user set
        self._watched: set[str] = set()  # layers whose events we follow
        self._alive = [True]  # False once Qt has destroyed the list
        events = viewer.layers.events
        for name in LAYER_EVENTS:
            emitter = getattr(events, name, None)
            if emitter is not None:
                emitter.connect(self.sync)
        self.native.destroyed.connect(_disconnector(events, self.sync, self._alive))

    # -- what the panel asks ---------------------------------------------------
    def names(self) -> list[str]:
        """Return the listed layers' names, in channel order."""
        return [self._rows[k].tick.text for k in self._order]

    def ticked_names(self) -> list[str]:
        """Return the ticked layers' names, in channel order."""
        return [self._rows[k].tick.text for k in self._order if self._rows[k].tick.value]

    def row(self, name: str) -> LayerRow:
        """Return the row of the layer called ``name``."""
        for key in self._order:
            if self._rows[key].tick.text == name:
                return self._rows[key]
        raise KeyError(name)

    def chosen(self) -> list:
        """Return the ticked image layers, in channel order."""
        by_key = {layer_key(layer): layer for layer in image_layers(self.viewer)}
        return [by_key[k] for k in self._order if k in by_key and self._rows[k].tick.value]

    def has_layers(self) -> bool:
        """Whether any image layer is listed."""
        return bool(self._order)

    def move(self, key: str, step: int) -> None:
        """Move a layer's channel up (-1) or down (+1)."""
        i = self._order.index(key)
        j = min(max(i + step, 0), len(self._order) - 1)
        if i != j:
            self._order.insert(j, self._order.pop(i))
            self._rebuild()
            self._on_change()

    # -- following the viewer --------------------------------------------------
    def sync(self, *_args) -> None:
        """Mirror the viewer's image layers; keep the user's order and ticks."""
        if not self._alive[0]:
            return  # a layer event outlived this list
        layers = image_layers(self.viewer)
        any_visible = any(layer.visible for layer in layers)
        keys = [layer_key(layer) for layer in layers]
        known = [k for k in self._order if k in keys]
        for layer in layers:
            # every layer, or only the visible ones when some are hidden
            self._update_row(layer, bool(layer.visible) or not any_visible)
        for key in list(self._rows):
            if key not in keys:
                del self._rows[key]
        self._order = known + [k for k in keys if k not in known]
        self._rebuild()
        self._on_change()

    def _update_row(self, layer, default: bool) -> None:
        key = layer_key(layer)
        row = self._rows.get(key)
        if row is None:
            self._new_row(layer, default)
            return
        row.tick.text = layer.name
        if key not in self._touched and row.tick.value != default:
            with row.tick.changed.blocked():
                row.tick.value = default

    def _new_row(self, layer, ticked: bool) -> LayerRow:
        key = layer_key(layer)
        row = LayerRow(layer.name, ticked)
        row.tick.changed.connect(lambda *_a, k=key: self._on_tick(k))
        row.up.clicked.connect(lambda *_a, k=key: self.move(k, -1))
        row.down.clicked.connect(lambda *_a, k=key: self.move(k, +1))
        self._rows[key] = row
        if key not in self._watched:
            self._watched.add(key)
            layer.events.name.connect(self.sync)
            layer.events.visible.connect(self.sync)
        return row

    def _rebuild(self) -> None:
        wanted = [self._rows[k] for k in self._order]
        if list(self) == wanted:
            return
        while len(self):
            self.pop()
        self.extend(wanted)
        if not wanted:
            self.append(Label(value="No image layers yet."))

    def _on_tick(self, key: str) -> None:
        self._touched.add(key)
        self._on_change()


def _disconnector(events, sync, alive: list[bool]):
    """Stop following the viewer once Qt destroys the list.

    Qt's ``destroyed`` fires when the list's Python attributes may be gone,
    so the closure holds everything it needs.
    """

    def disconnect(*_args):
        alive[0] = False
        for name in LAYER_EVENTS:
            emitter = getattr(events, name, None)
            if emitter is not None:
                emitter.disconnect(sync)

    return disconnect
