// Load an OME-TIFF with the real Viv loader and print what it saw as JSON.
//
//   node load.mjs SOURCE [--offsets FILE|auto] [--no-pixels] [--dump DIR]
//   node load.mjs URL --zarr [--no-pixels] [--dump DIR]
//
// SOURCE is an absolute file path or an http(s) URL. With "--offsets auto"
// the offsets are fetched the way Avivator does it (…ome.tif -> …offsets.json).
// For every image, level and plane the SHA-256 of the raw raster bytes is
// reported, so Python can compare it with what tifffile reads. With --dump
// the raw raster bytes are also written to DIR/<image>_<level>_<z>_<c>_<t>.raw
// (for lossy codecs, which are compared by value instead of by hash).
//
// With --zarr, URL is an OME-Zarr store served over HTTP and Viv's
// loadOmeZarr opens it (see loadZarr below); planes are named by the store's
// own axis labels and dumped as DIR/0_<level>_<label><index>_....raw.
import { DOMParser } from '@xmldom/xmldom';
import { loadOmeTiff, loadOmeZarr } from '@vivjs/loaders';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

globalThis.DOMParser = DOMParser;

const args = process.argv.slice(2);
const source = args[0];
let offsetsArg = null;
let pixels = true;
let dumpDir = null;
let zarrMode = false;
for (let i = 1; i < args.length; i += 1) {
  if (args[i] === '--offsets') { offsetsArg = args[i + 1]; i += 1; }
  else if (args[i] === '--no-pixels') { pixels = false; }
  else if (args[i] === '--dump') { dumpDir = args[i + 1]; i += 1; }
  else if (args[i] === '--zarr') { zarrMode = true; }
}

function sha256(typed) {
  const bytes = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  return createHash('sha256').update(bytes).digest('hex');
}

async function offsetsFor(src) {
  if (offsetsArg === null) return undefined;
  if (offsetsArg === 'auto') {
    const url = src.replace(/ome\.tif(f?)/gi, 'offsets.json');
    const res = await fetch(url);
    return res.status === 200 ? res.json() : undefined;
  }
  return JSON.parse(fs.readFileSync(offsetsArg, 'utf8'));
}

function planes(sizes) {
  const out = [];
  for (let t = 0; t < sizes.t; t += 1) {
    for (let c = 0; c < sizes.c; c += 1) {
      for (let z = 0; z < sizes.z; z += 1) out.push({ t, c, z });
    }
  }
  return out;
}

async function main() {
  const url = /^https?:\/\//.test(source) ? source : `file://${path.resolve(source)}`;
  const offsets = await offsetsFor(url);
  const images = await loadOmeTiff(url, { images: 'all', offsets });
  const report = { offsetsUsed: offsets ? offsets.length : 0, images: [] };
  for (const { data, metadata } of images) {
    const P = metadata.Pixels;
    const sizes = { t: P.SizeT, c: P.Interleaved ? 1 : P.SizeC, z: P.SizeZ };
    const image = {
      name: metadata.Name ?? null,
      dimensionOrder: P.DimensionOrder,
      type: P.Type,
      sizes: { x: P.SizeX, y: P.SizeY, z: P.SizeZ, c: P.SizeC, t: P.SizeT },
      interleaved: Boolean(P.Interleaved),
      physical: {
        x: P.PhysicalSizeX ?? null, xUnit: P.PhysicalSizeXUnit ?? null,
        y: P.PhysicalSizeY ?? null, yUnit: P.PhysicalSizeYUnit ?? null,
        z: P.PhysicalSizeZ ?? null, zUnit: P.PhysicalSizeZUnit ?? null,
      },
      channels: P.Channels.map((ch) => ({ name: ch.Name ?? null, color: ch.Color ?? null,
        samplesPerPixel: ch.SamplesPerPixel ?? null })),
      tileSize: data[0].tileSize,
      labels: data[0].labels,
      levels: [],
    };
    for (const src of data) {
      const level = { shape: src.shape, dtype: src.dtype, planes: [] };
      if (pixels) {
        for (const sel of planes(sizes)) {
          const raster = await src.getRaster({ selection: sel });
          const tile = await src.getTile({ x: 0, y: 0, selection: sel });
          level.planes.push({ ...sel, width: raster.width, height: raster.height,
            sha256: sha256(raster.data), tileWidth: tile.width, tileHeight: tile.height });
          if (dumpDir !== null) {
            const name = `${report.images.length}_${image.levels.length}_${sel.z}_${sel.c}_${sel.t}.raw`;
            const d = raster.data;
            fs.writeFileSync(path.join(dumpDir, name), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
          }
        }
      }
      image.levels.push(level);
    }
    report.images.push(image);
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// ---- OME-Zarr: loadOmeZarr over HTTP -------------------------------------

// Every selection over the axes other than Y and X (and RGB samples), in
// C order of the store's own axes: [{c: 0, z: 0}, {c: 0, z: 1}, ...].
function zarrSelections(labels, shape, interleaved) {
  const planeAxes = labels.length - (interleaved ? 3 : 2);
  let out = [{}];
  for (let d = 0; d < planeAxes; d += 1) {
    const next = [];
    for (const sel of out) {
      for (let i = 0; i < shape[d]; i += 1) next.push({ ...sel, [labels[d]]: i });
    }
    out = next;
  }
  return out;
}

function selectionName(sel) {
  return Object.entries(sel).map(([k, v]) => `${k}${v}`).join('_');
}

async function loadZarr() {
  const { data, metadata } = await loadOmeZarr(source, { type: 'multiscales' });
  const first = data[0];
  const interleaved = first.shape.length > 2 && [3, 4].includes(first.shape[first.shape.length - 1]);
  const image = {
    labels: first.labels,
    tileSize: first.tileSize,
    interleaved,
    omero: metadata.omero ?? null,
    multiscales: metadata.multiscales ?? null,
    levels: [],
  };
  for (const src of data) {
    const level = { shape: src.shape, dtype: src.dtype, planes: [] };
    if (pixels) {
      for (const sel of zarrSelections(src.labels, src.shape, interleaved)) {
        const raster = await src.getRaster({ selection: sel });
        const tile = await src.getTile({ x: 0, y: 0, selection: sel });
        level.planes.push({ selection: sel, width: raster.width, height: raster.height,
          sha256: sha256(raster.data), tileWidth: tile.width, tileHeight: tile.height });
        if (dumpDir !== null) {
          const name = `0_${image.levels.length}_${selectionName(sel)}.raw`;
          const d = raster.data;
          fs.writeFileSync(path.join(dumpDir, name), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
        }
      }
    }
    image.levels.push(level);
  }
  process.stdout.write(`${JSON.stringify({ images: [image] })}\n`);
}

(zarrMode ? loadZarr() : main()).catch((err) => {
  process.stdout.write(`${JSON.stringify({ error: String(err && err.message ? err.message : err) })}\n`);
  process.exit(2);
});
