"""The napari scene beyond images, as files any tool can read: the points and shapes sidecar."""
