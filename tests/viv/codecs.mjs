// Run the viewer's own chunk decoders (viewer/src/codecs/, the modules the page
// bundles) on chunks written in Python, and report what came out.
//
//   node codecs.mjs DIR                 decode DIR/<name>.<codec> for every such file
//   node codecs.mjs --bench FILE.blosc  time decoding one chunk: {"mb_per_s": ..., "ms": ...}
//
// <codec> is "blosc", "zstd" or "lz4" (numcodecs' LZ4). Prints one JSON object:
// { name: { ok: true, length, sha256 } or { ok: false, error } }, so Python
// compares the bytes with the array it encoded.
import { decompress } from 'fzstd';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { registerCodecs } from '../../viewer/src/codecs/zarr_codecs.js';

// A registry like zarrita's, to get the codecs exactly as the page registers them.
const registry = new Map();
registerCodecs(registry, decompress);

async function decode(codec, bytes) {
  const Codec = await registry.get(codec)();
  return Codec.fromConfig({}).decode(bytes);
}

async function one(file) {
  const codec = path.extname(file).slice(1);
  try {
    const out = await decode(codec, new Uint8Array(fs.readFileSync(file)));
    const sha256 = createHash('sha256').update(out).digest('hex');
    return { ok: true, length: out.length, sha256 };
  } catch (err) {
    return { ok: false, error: String(err && err.message ? err.message : err) };
  }
}

async function bench(file) {
  const codec = path.extname(file).slice(1);
  const bytes = new Uint8Array(fs.readFileSync(file));
  let out = await decode(codec, bytes);
  for (let i = 0; i < 5; i += 1) out = await decode(codec, bytes);
  const runs = 30;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i += 1) out = await decode(codec, bytes);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / runs;
  return { ms, mb_per_s: out.length / 1e6 / (ms / 1000), length: out.length };
}

const args = process.argv.slice(2);
let result;
if (args[0] === '--bench') {
  result = await bench(args[1]);
} else {
  result = {};
  const dir = args[0];
  for (const name of fs.readdirSync(dir).sort()) {
    if (/\.(blosc|zstd|lz4)$/.test(name)) result[name] = await one(path.join(dir, name));
  }
}
process.stdout.write(JSON.stringify(result));
