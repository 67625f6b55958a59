// The page's entry. Only startup.js and hooks.js are evaluated at once: the
// first requests and the WebGL2 check start, and once the check's worker is
// running, the rest (mount.jsx: React, deck.gl, Viv) is evaluated and mounted.
// esbuild turns the import() into a lazily evaluated part of the same bundle.
import { startEarly } from './startup.js';
import { hooks, setStatus } from './hooks.js';

const start = startEarly();
window.__vivViewer = hooks;
setStatus('loading');
start.started
  .then(() => import('./mount.jsx'))
  .then(({ mount }) => mount(start));
