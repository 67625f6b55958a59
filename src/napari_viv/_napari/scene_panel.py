"""The Export to Viv panel's "Labels, points and shapes" rows: tick boxes for non-image layers.

The ticked layers travel with the export as Save Selected Layers carries them
(:func:`.scene.prepare_scene` checks them before anything is written;
:func:`.scene.publish_scene` writes them after the image).
"""

from __future__ import annotations

from magicgui.widgets import CheckBox, Container, Label

SCENE_LAYER_TYPES = ("labels", "points", "shapes")


def scene_layers(viewer) -> list:
    """Return the viewer's Labels, Points and Shapes layers, in list order."""
    from napari.layers import Labels, Points, Shapes

    return [layer for layer in viewer.layers if isinstance(layer, (Labels, Points, Shapes))]


class SceneRows(Container):
    """One tick box per Labels, Points or Shapes layer (ticked when the layer is visible)."""

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.ticks: dict[str, CheckBox] = {}
        self.touched: set[str] = set()
        super().__init__(labels=False, name="scene_layers")
        self.margins = (0, 0, 0, 0)
        self.sync()

    def sync(self, *_args) -> None:
        """Mirror the viewer's non-image layers; keep the user's ticks."""
        layers = scene_layers(self.viewer)
        keys = [str(layer.unique_id) for layer in layers]
        for layer, key in zip(layers, keys, strict=True):
            kind = type(layer).__name__.lower()
            box = self.ticks.get(key)
            if box is None:
                box = CheckBox(text=f"{layer.name} ({kind})", value=bool(layer.visible))
                box.changed.connect(lambda *_a, k=key: self.touched.add(k))
                self.ticks[key] = box
            box.text = f"{layer.name} ({kind})"
        for key in list(self.ticks):
            if key not in keys:
                del self.ticks[key]
        wanted = [self.ticks[k] for k in keys]
        if list(self) != wanted:
            while len(self):
                self.pop()
            self.extend(wanted or [Label(value="None in this viewer.")])

    def chosen(self) -> list:
        """Return the ticked layers, in list order."""
        return [
            layer
            for layer in scene_layers(self.viewer)
            if self.ticks.get(str(layer.unique_id), None) and self.ticks[str(layer.unique_id)].value
        ]


def run_export_with_scene(run, data, path, options, relay, cancel_event, prepared, axes):
    """Run the panel's export with the scene; a failure removes everything written.

    Labels go inside an OME-Zarr store (part of the export itself); an
    OME-TIFF's label pyramids and either format's points/shapes sidecar are
    written after the image.

    Parameters
    ----------
    run : callable
        The panel's worker body (returns ``(status, value)``).
    data, path, options, relay, cancel_event
        Passed to ``run``.
    prepared : tuple
        From :func:`.scene.prepare_scene`.
    axes : str
        The image's axes.

    Returns
    -------
    tuple
        ``(status, value)`` as ``run`` returns, with the scene's files added.
    """
    from ..errors import Cancelled, NapariVivError
    from ..text import one_line
    from .labels import label_tiles
    from .scene import labels_into_store, publish_scene

    try:
        extra, prepared, entries = labels_into_store(path, prepared, axes)
        # an OME-TIFF's label pyramids are written after the image: one bar over both
        tile = options.get("tile_size", 512)
        image = _Progress(relay, after=sum(label_tiles(prepared[1], axes or "YX", tile)) if prepared[1] else 0)
    except NapariVivError as exc:
        return "error", one_line(exc)
    status, value = run(data, path, {**options, **extra}, image, cancel_event)
    if status != "done" or (prepared[0] is None and not prepared[1] and not entries):
        return status, value
    try:
        added = publish_scene(
            path, prepared, axes, value, entries, tile_size=tile, progress=image.after_image, cancel=cancel_event.is_set
        )
    except Cancelled as exc:
        return "cancelled", str(exc)
    except (NapariVivError, OSError) as exc:
        return "error", one_line(exc)
    return status, value + [str(p) for p in added]


class _Progress:
    """The panel's progress relay for an image followed by ``after`` tiles of label pyramids.

    The export reports through it as through the relay (``progressed.emit``),
    with the labels' tiles added to its total; :meth:`after_image` then
    reports the labels' tiles after the image's.
    """

    def __init__(self, relay, after: int) -> None:
        self.relay, self.after = relay, after
        self.image = 0  # the image's tiles, as the export last reported them

    @property
    def progressed(self):
        return self

    def emit(self, done: int, total: int) -> None:
        self.image = total
        self.relay.progressed.emit(done, total + self.after)

    def after_image(self, done: int, _total: int) -> None:
        self.relay.progressed.emit(self.image + done, self.image + self.after)
