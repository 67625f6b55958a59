// The first-frame path: work that starts as soon as the bundle runs, before
// React mounts, so that nothing on the way to the first frame waits for
// something it does not need.
//
// - The WebGL2 check runs in a worker, on an OffscreenCanvas. The first WebGL
//   context of a page is expensive (in software WebGL it starts SwiftShader:
//   0.3-0.5 s); made on the main thread it blocks everything else. In a worker
//   it overlaps with the image requests, and deck.gl's own context, later,
//   finds that work already done.
// - The image probe and the two sidecar files are requested at once.

import { UserError, imageUrlFromPage, sidecarUrls, probeImage, fetchOptionalJson } from './sources.js';

const NO_WEBGL2 =
  'This browser cannot show the image: WebGL2 is not available (it may be switched off, ' +
  'or the graphics driver is blocked).';

const CHECK_SOURCE = `
let ok = false;
try { ok = Boolean(new OffscreenCanvas(1, 1).getContext('webgl2')); } catch (e) { ok = false; }
postMessage(ok);
`;

function checkOnMainThread() {
  try {
    return Boolean(document.createElement('canvas').getContext('webgl2'));
  } catch {
    return false;
  }
}

/** Whether WebGL2 works; off the main thread where the browser allows it. */
export function webgl2Available() {
  if (typeof Worker === 'undefined' || typeof OffscreenCanvas === 'undefined') {
    return Promise.resolve(checkOnMainThread());
  }
  return new Promise((resolve) => {
    let worker;
    let url;
    const finish = (ok) => {
      if (worker) worker.terminate();
      if (url) URL.revokeObjectURL(url);
      resolve(ok);
    };
    try {
      url = URL.createObjectURL(new Blob([CHECK_SOURCE], { type: 'text/javascript' }));
      worker = new Worker(url);
    } catch {
      finish(checkOnMainThread());
      return;
    }
    worker.onmessage = (event) => finish(event.data === true || checkOnMainThread());
    worker.onerror = () => finish(checkOnMainThread());
  });
}

/**
 * Start everything that does not depend on anything else: the WebGL2 check,
 * the image probe and the offsets and view files. Returns one promise per
 * item; the warnings of the sidecar fetches are kept until `warn` is known.
 */
export function startEarly() {
  const pending = [];
  let sink = (w) => pending.push(w);
  const warn = (w) => sink(w);
  const webgl2 = webgl2Available();
  let files;
  try {
    const url = imageUrlFromPage();
    const side = sidecarUrls(url);
    files = Promise.all([
      probeImage(url.href),
      fetchOptionalJson(side.offsets, 'offsets file', warn),
      fetchOptionalJson(side.view, 'view file', warn),
    ]).then(([, offsetsJson, viewJson]) => ({ url, side, offsetsJson, viewJson }));
  } catch (err) {
    files = Promise.reject(err);
  }
  files.catch(() => {}); // awaited in `early()`; not an unhandled rejection meanwhile
  return {
    /** The check and the files, in that order of errors: no WebGL2 wins. */
    async early(warnTo) {
      sink = warnTo;
      pending.splice(0).forEach(warnTo);
      if (!(await webgl2)) throw new UserError(NO_WEBGL2);
      return files;
    },
  };
}
