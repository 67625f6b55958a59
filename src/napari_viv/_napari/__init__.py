"""napari glue: the only part of napari-viv that imports napari or Qt.

``reader``, ``writer`` and ``sample`` are the npe2 contributions named in
``napari.yaml``; ``layers`` turns selected image layers into the
``(data, ImageMetadata)`` pair the core writer takes, and back.
"""
