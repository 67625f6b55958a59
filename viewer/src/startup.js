// The first-frame path: work that starts as soon as the bundle runs, before
// React mounts, so that nothing on the way to the first frame waits for
// something it does not need.
//
// - The WebGL2 check runs in a worker, on an OffscreenCanvas. The first WebGL
//   context of a page is expensive (in software WebGL it starts SwiftShader:
//   0.3-0.8 s); made on the main thread it blocks everything else. In a worker
//   it overlaps with the image requests and the rest of the page's start, and
//   deck.gl's own context, later, finds that work already done.
// - The image probe and the two sidecar files are requested at once.
// - A worker starts only when the main thread is free: main.jsx waits for the
//   worker's first message (`started`) before it evaluates React, deck.gl and
//   Viv (0.2-0.4 s of script), so that the two run side by side.

import { UserError, probeImage, fetchOptionalJson } from './sources.js';
import { pageSources } from './site.js';
import { isZarrUrl } from './zarr.js';

const NO_WEBGL2 =
  'This browser cannot show the image: WebGL2 is not available (it may be switched off, ' +
  'or the graphics driver is blocked).';

const CHECK_SOURCE = `
postMessage('started');
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

// How long main.jsx waits at most for the worker to start.
const START_WAIT_MS = 100;

/**
 * Whether WebGL2 works (`ok`), off the main thread where the browser allows
 * it; `started` resolves when the check is under way (or cannot start).
 */
export function webgl2Available() {
  if (typeof Worker === 'undefined' || typeof OffscreenCanvas === 'undefined') {
    return { started: Promise.resolve(), ok: Promise.resolve(checkOnMainThread()) };
  }
  let began;
  const started = new Promise((resolve) => {
    began = resolve;
    setTimeout(resolve, START_WAIT_MS);
  });
  const ok = new Promise((resolve) => {
    let worker;
    let url;
    const finish = (works) => {
      began();
      if (worker) worker.terminate();
      if (url) URL.revokeObjectURL(url);
      resolve(works);
    };
    try {
      url = URL.createObjectURL(new Blob([CHECK_SOURCE], { type: 'text/javascript' }));
      worker = new Worker(url);
    } catch {
      finish(checkOnMainThread());
      return;
    }
    worker.onmessage = (event) => {
      if (event.data === 'started') began();
      else finish(event.data === true || checkOnMainThread());
    };
    worker.onerror = () => finish(checkOnMainThread());
  });
  return { started, ok };
}

/**
 * The message for an error deck.gl reports. A browser can give a worker a
 * WebGL2 context and yet refuse the page one (WebGL switched off for pages):
 * deck.gl then fails to start, and this says so as the check would have.
 */
export function drawErrorMessage(err) {
  if (!checkOnMainThread()) return NO_WEBGL2;
  return `The image could not be drawn: ${err && err.message ? err.message : err}`;
}

/**
 * Start everything that does not depend on anything else: the WebGL2 check,
 * the image probe and the offsets and view files. Returns `started` (a
 * promise), `files(warn)` and `webgl2()`; the warnings of the sidecar fetches
 * are kept until `files` is given where to send them.
 */
export function startEarly() {
  const pending = [];
  let sink = (w) => pending.push(w);
  const warn = (w) => sink(w);
  const check = webgl2Available();
  let files;
  try {
    const side = pageSources(); // a site's config, explicit URLs, or ?image= (site.js)
    const url = side.image;
    files = isZarrUrl(url)
      ? Promise.resolve({ url, side, zarr: true }) // a store: zarr.js reads it and its view file
      : Promise.all([
        probeImage(url.href),
        side.offsets ? fetchOptionalJson(side.offsets, 'offsets file', warn) : null,
        side.view ? fetchOptionalJson(side.view, 'view file', warn) : null,
      ]).then(([, offsetsJson, viewJson]) => ({ url, side, offsetsJson, viewJson }));
  } catch (err) {
    files = Promise.reject(err);
  }
  files.catch(() => {}); // awaited in `files()`; not an unhandled rejection meanwhile
  return {
    /** Resolves when the WebGL2 check is running (see the top of this file). */
    started: check.started,
    /** The fetched files; a failure waits for the check, so that no WebGL2 is said first. */
    async files(warnTo) {
      sink = warnTo;
      pending.splice(0).forEach(warnTo);
      try {
        return await files;
      } catch (err) {
        await this.webgl2(true);
        throw err;
      }
    },
    /**
     * Resolves when WebGL2 works; rejects with the reason when it does not.
     * `onPageToo` also asks on the main thread (a context there costs time:
     * only on the way to an error message).
     */
    async webgl2(onPageToo = false) {
      if (!(await check.ok) || (onPageToo && !checkOnMainThread())) throw new UserError(NO_WEBGL2);
    },
  };
}
