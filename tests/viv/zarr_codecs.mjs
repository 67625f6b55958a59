// Open OME-Zarr stores with the real Viv loader (loadOmeZarr, zarrita inside) and
// report, per store, whether it opened and the SHA-256 of every level-0 plane.
//
//   node zarr_codecs.mjs URL [URL ...]
//
// Each URL is an http(s) address of a store's root (a loopback static server).
// Prints one JSON object: { URL: { ok, shape, dtype, planes: [sha256...] } or { ok: false, error } }.
import { loadOmeZarr } from '@vivjs/loaders';
import { createHash } from 'node:crypto';

function sha256(typed) {
  const bytes = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  return createHash('sha256').update(bytes).digest('hex');
}

async function one(url) {
  try {
    const { data } = await loadOmeZarr(url, { type: 'multiscales' });
    const base = data[0];
    const labels = base.labels;
    const shape = base.shape;
    const nc = labels.includes('c') ? shape[labels.indexOf('c')] : 1;
    const planes = [];
    for (let c = 0; c < nc; c += 1) {
      const selection = {};
      for (const l of labels) if (l !== 'x' && l !== 'y') selection[l] = 0;
      if (labels.includes('c')) selection.c = c;
      const raster = await base.getRaster({ selection });
      planes.push(sha256(raster.data));
    }
    return { ok: true, shape, dtype: base.dtype, levels: data.length, planes };
  } catch (err) {
    return { ok: false, error: String(err && err.message ? err.message : err) };
  }
}

const out = {};
for (const url of process.argv.slice(2)) out[url] = await one(url);
process.stdout.write(JSON.stringify(out));
