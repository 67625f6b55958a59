// window.__vivViewer: what tests and scripts can read and do.
export const hooks = {
  ready: false,
  error: null,
  channels: [],
  loaded: false, // every tile of the current view is loaded (as of the last frame)
  frames: 0, // frames drawn so far
  firstFrameMs: null, // performance.now() when the first complete frame was drawn
  lastLink: null, // the last link made by "Copy link to this view"
  prefetch: null, // tiles read before deck.gl asked: {tiles, answered, missed} (prefetch.js)
  labelDrawing: false, // label_tiles.js was evaluated (only when the view file lists labels)
  setChannelVisible: () => false,
  state: () => ({ status: document.body.dataset.status }),
};

export function setStatus(status) {
  document.body.dataset.status = status;
}
