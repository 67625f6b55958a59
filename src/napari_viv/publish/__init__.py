"""Publish exports with our viewer to a folder (a static site) or an object store.

- :mod:`.destination`: a local folder or an fsspec store (S3 and S3-compatible; gs://, az://);
- :mod:`.site`: the site's layout and the viewer page that names its image;
- :mod:`.upload`: skip identical files, send data first and pages last, progress, cancel;
- :mod:`.checks`: Range, CORS and content types, fetched as a browser would;
- :mod:`.gallery`: the page listing several images;
- :mod:`.sources`: exports as they are, or inputs converted on the way;
- :mod:`.publisher`: :func:`publish`, the steps in order.
"""

from .destination import StoreOptions
from .publisher import ImageLinks, Publication, PublishOptions, publish
from .sources import exports_for

__all__ = ["ImageLinks", "Publication", "PublishOptions", "StoreOptions", "exports_for", "publish"]
