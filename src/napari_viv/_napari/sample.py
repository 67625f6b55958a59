"""npe2 sample data: "Synthetic multiplexed tissue".

Six named, coloured 2048 x 2048 uint16 channels (0.5 µm pixels) from
:func:`napari_viv.sample.synthetic_tissue`, with a lazy dask pyramid on top
(2 x 2 mean per level, down to <= 512 pixels). 2048 keeps opening to a few
seconds: the tissue costs about 0.1 s per channel per megapixel to render,
and napari needs the whole image for its overview, so 4096 took ~20 s.
"""

from __future__ import annotations

SIZE = 2048
CHANNELS = 6
SMALLEST = 512


def lazy_pyramid(level0, *, smallest: int = SMALLEST) -> list:
    """Dask levels of ``level0`` (..., Y, X), each a 2 x 2 mean of the last."""
    levels = [level0]
    while max(levels[-1].shape[-2:]) > smallest and min(levels[-1].shape[-2:]) >= 2:
        prev = levels[-1]
        even = prev[..., : prev.shape[-2] // 2 * 2, : prev.shape[-1] // 2 * 2]
        # chunk edges must be even to coarsen block-wise
        chunks = tuple(c if i < prev.ndim - 2 else tuple(_even_chunks(c)) for i, c in enumerate(even.chunks))
        even = even.rechunk(chunks)
        out_chunks = even.chunks[:-2] + tuple(tuple(c // 2 for c in cs) for cs in even.chunks[-2:])
        levels.append(even.map_blocks(_halve, chunks=out_chunks, dtype=level0.dtype))
    return levels


def _halve(block):
    """2 x 2 mean of a block with even Y and X, rounded to the block dtype."""
    h, w = block.shape[-2] // 2, block.shape[-1] // 2
    quads = block.reshape(block.shape[:-2] + (h, 2, w, 2))
    mean = quads.mean(axis=(-3, -1), dtype="float32")
    if block.dtype.kind in "iu":
        mean = mean.round()
    return mean.astype(block.dtype)


def _even_chunks(chunks):
    out, carry = [], 0
    for c in chunks:
        c += carry
        carry = c % 2
        if c - carry:
            out.append(c - carry)
    if carry:
        out[-1] += carry
    return out


def make_sample(size: int = SIZE, channels: int = CHANNELS) -> list[tuple]:
    """npe2 sample: the synthetic tissue as one multiscale layer per channel."""
    import dask.array as da

    from ..sample import synthetic_tissue
    from .reader import contrast_limits_from, image_to_layer_data

    data, meta = synthetic_tissue(size, channels)
    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks=(1, 1024, 1024))
    levels = lazy_pyramid(data)
    # Contrast limits from one central 1024 x 1024 block of level 0: the
    # smallest level would need every block of level 0 to be rendered.
    meta.contrast_limits = _central_limits(data, meta.axes, contrast_limits_from)
    return image_to_layer_data(levels, meta, name=meta.name)


def _central_limits(data, axes, contrast_limits_from):
    edge = 1024
    y0 = max(0, (data.shape[-2] - edge) // 2)
    x0 = max(0, (data.shape[-1] - edge) // 2)
    block = data[..., y0 : y0 + edge, x0 : x0 + edge]
    return contrast_limits_from(block, axes)
