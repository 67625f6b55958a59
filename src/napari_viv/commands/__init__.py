"""Subcommands of the napari-viv CLI, one module each."""
