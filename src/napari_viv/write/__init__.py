"""Writing: plan → downsample → encode → stream → OME-XML → offsets → atomic publication.

Nothing here imports :mod:`napari_viv.read`; sources reach the writer as
array-likes (numpy, dask, zarr, or the lazy views of :mod:`napari_viv.lazy`).
"""
