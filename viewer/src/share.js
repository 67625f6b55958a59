// "Copy link to this view": the current channels and camera travel in the
// page URL's fragment as `view=<JSON>` in the view file's format (version 1),
// next to whatever else the fragment says (image, offsets, viewfile).

import { parseViewFile } from './viewfile.js';

const round = (v) => Number(Number(v).toPrecision(6));

/** The view (channels + camera) in the fragment, parsed like a view file, or null. */
export function viewFromFragment(loc = window.location, warn = () => {}) {
  const raw = new URLSearchParams(loc.hash.replace(/^#/, '')).get('view');
  if (!raw) return null;
  let json;
  try {
    json = JSON.parse(raw);
  } catch {
    warn('The link\'s view (after #view=) is not valid JSON; ignored.');
    return null;
  }
  const parsed = parseViewFile({ version: 1, ...json });
  for (const p of parsed.problems) warn(`Link view: ${p}.`);
  return parsed.view;
}

/** Lay `over` (from the link) on top of `base` (from the view file), channel by channel. */
export function mergeViews(base, over) {
  if (!over) return base;
  if (!base) return { ...over, labels: [] };
  const count = Math.max(base.channels.length, over.channels.length);
  const channels = [...Array(count).keys()].map((i) => ({ ...(base.channels[i] || {}), ...(over.channels[i] || {}) }));
  // labels travel in the view file only, never in a link
  return { channels, camera: over.camera || base.camera, labels: base.labels };
}

/** The page URL with `view=` in its fragment describing `channels` and `viewState`. */
export function linkToView(channels, viewState, loc = window.location) {
  const view = {
    channels: channels.map((c) => ({
      color: c.color.slice(),
      contrast_limits: c.limits.map(round),
      visible: c.visible,
      ...(c.gamma !== 1 ? { gamma: round(c.gamma) } : {}),
    })),
    camera: viewState && {
      center: [round(viewState.target[0]), round(viewState.target[1])],
      zoom: round(viewState.zoom),
    },
  };
  const params = new URLSearchParams(loc.hash.replace(/^#/, ''));
  params.set('view', JSON.stringify(view));
  const url = new URL(loc.href);
  url.hash = params.toString();
  return url.href;
}

/** Put `text` on the clipboard; false when the browser refuses (the caller shows it instead). */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
