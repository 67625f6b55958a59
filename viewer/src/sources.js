// Where the image and its two sidecar files live, and how they are fetched.
// Everything is read from the page's own origin.

export class UserError extends Error {}

const TIFF_SUFFIX = /\.ome\.tiff?$|\.tiff?$/i;

/** The image URL from `?image=`, made absolute against the page's location. */
export function imageUrlFromPage(loc = window.location) {
  const raw = new URLSearchParams(loc.search).get('image');
  if (!raw) {
    throw new UserError(
      'No image given. Open this page with the address of an OME-TIFF on this server, ' +
        'for example /?image=/sample.ome.tif',
    );
  }
  let url;
  try {
    url = new URL(raw, loc.href);
  } catch {
    throw new UserError(`"${raw}" is not a valid image address.`);
  }
  if (url.origin !== loc.origin) {
    throw new UserError(
      `The image must come from this server (${loc.origin}), not from ${url.origin}.`,
    );
  }
  return url;
}

/** `<stem>.offsets.json` and `<stem>.view.json` next to the image. */
export function sidecarUrls(imageUrl) {
  const stem = new URL(imageUrl.href);
  stem.search = '';
  stem.hash = '';
  stem.pathname = stem.pathname.replace(TIFF_SUFFIX, '');
  const withSuffix = (suffix) => {
    const u = new URL(stem.href);
    u.pathname += suffix;
    return u.href;
  };
  return { offsets: withSuffix('.offsets.json'), view: withSuffix('.view.json') };
}

export function displayName(imageUrl) {
  const last = decodeURIComponent(imageUrl.pathname.split('/').pop() || imageUrl.pathname);
  return last;
}

async function fetchOrExplain(url, init) {
  try {
    return await fetch(url, init);
  } catch (err) {
    throw new UserError(
      `Could not fetch ${url}: the server did not answer, or the browser refused the ` +
        `request (network error or CORS). ${err && err.message ? `(${err.message})` : ''}`.trim(),
    );
  }
}

/**
 * Read the first bytes of the image: gives readable errors for the common
 * failures (missing file, server without Range support, not a TIFF) before
 * the TIFF reader would report them in its own words.
 */
export async function probeImage(url) {
  const response = await fetchOrExplain(url, { headers: { Range: 'bytes=0-7' } });
  if (response.status === 404) {
    throw new UserError(`Image not found (HTTP 404): ${url}`);
  }
  if (!response.ok) {
    throw new UserError(`The server answered HTTP ${response.status} for ${url}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status !== 206) {
    throw new UserError(
      `The server sent the whole file instead of the requested byte range (HTTP ${response.status}). ` +
        'The viewer needs a server with HTTP Range support.',
    );
  }
  const magic = String.fromCharCode(bytes[0] || 0, bytes[1] || 0);
  if (magic !== 'II' && magic !== 'MM') {
    throw new UserError(`${url} is not a TIFF file (it does not start with a TIFF header).`);
  }
}

/** JSON from `url`, or null when the server says 404. Other failures are warnings. */
export async function fetchOptionalJson(url, what, warn) {
  let response;
  try {
    response = await fetch(url, { cache: 'no-cache' });
  } catch {
    warn(`Could not fetch the ${what} (${url}); continuing without it.`);
    return null;
  }
  if (response.status === 404) return null;
  if (!response.ok) {
    warn(`The ${what} ${url} gave HTTP ${response.status}; continuing without it.`);
    return null;
  }
  try {
    return await response.json();
  } catch {
    warn(`The ${what} ${url} is not valid JSON; ignored.`);
    return null;
  }
}
