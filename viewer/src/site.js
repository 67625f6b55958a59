// Where the image comes from on a page that names it itself: a published site
// (`napari-viv publish`) embeds a small JSON config in index.html, and any page
// takes explicit URLs for the image and its sidecars in the fragment or query.
// Explicit URLs are used exactly as given, so presigned query strings survive.

import { UserError, imageUrlFromPage, sidecarUrls } from './sources.js';

const CONFIG_ID = 'napari-viv-site';

/** The JSON object in `<script type="application/json" id="napari-viv-site">`, or null. */
export function siteConfig(doc = document) {
  const node = doc.getElementById(CONFIG_ID);
  if (!node) return null;
  try {
    const json = JSON.parse(node.textContent);
    return json && typeof json === 'object' && !Array.isArray(json) ? json : null;
  } catch {
    throw new UserError('The page names its image in a site config that is not valid JSON.');
  }
}

/** Parameters from `#a=1&b=2` (the fragment first) and `?a=1&b=2`. */
function pageParams(loc) {
  const hash = new URLSearchParams(loc.hash.replace(/^#/, ''));
  const query = new URLSearchParams(loc.search);
  return (name) => hash.get(name) ?? query.get(name);
}

function absolute(raw, loc, what) {
  try {
    return new URL(raw, loc.href);
  } catch {
    throw new UserError(`"${raw}" is not a valid ${what} address.`);
  }
}

/**
 * The image URL and its sidecars' URLs for this page.
 *
 * A page with a site config, or an explicit `image` in the fragment, may read
 * from any origin (its Content-Security-Policy decides what it can reach).
 * Otherwise the served viewer's rule holds: `?image=` on this origin, and the
 * sidecars beside it.
 */
export function pageSources(loc = window.location, doc = document) {
  const config = siteConfig(doc);
  const param = pageParams(loc);
  const fromHash = new URLSearchParams(loc.hash.replace(/^#/, '')).get('image');
  if (!config && !fromHash) {
    const url = imageUrlFromPage(loc);
    return { image: url, ...sidecarUrls(url) };
  }
  const rawImage = fromHash || param('image') || (config && config.image);
  if (!rawImage) throw new UserError('The site config names no image.');
  const image = absolute(rawImage, loc, 'image');
  const derived = sidecarUrls(image);
  const pick = (name, fallback) => {
    const raw = param(name) ?? (config && name in config ? config[name] : undefined);
    if (raw === undefined) return fallback;
    return raw ? absolute(raw, loc, name).href : null; // "" or null: there is none
  };
  return { image, offsets: pick('offsets', derived.offsets), view: pick('viewfile', derived.view) };
}
