// The view file's camera -> the first deck.gl view (docs/view-file.md).
// A camera with an "extent" (the visible field's width and height in level-0
// pixels, as napari showed it) is fitted into this window, so the same region
// opens whatever the window's size; one with only a "zoom" uses it as it is.

export function startCamera(cam, width, height) {
  if (!cam) return null;
  if (cam.extent) {
    const scale = Math.min(width / cam.extent[0], height / cam.extent[1]);
    return { center: cam.center.slice(), zoom: Math.log2(scale), extent: cam.extent.slice() };
  }
  return { center: cam.center.slice(), zoom: cam.zoom };
}
