"""``python -m napari_viv``: the command line, as ``napari-viv``."""

import sys

from .cli import main

sys.exit(main())
