// napari Labels drawn like the image: tiled and multi-level (docs/view-file.md, "labels").
// Loaded only when the view file lists labels (labels.js imports it then).
//
// A label pyramid is an OME-TIFF (`*.ome.tif`, read with Viv's loadOmeTiff) or an
// NGFF label group in an OME-Zarr store (`x.ome.zarr/labels/nuclei`, loadOmeZarr).
// A deck.gl TileLayer with the image's tile rule (level ceil(zoom), clamped to the
// pyramid) asks for each tile of the view; its ids are coloured into a bitmap drawn
// with nearest sampling, so at any zoom the labels are as sharp as the level the
// image shows. With `contour` > 0 only napari's outlines are drawn: their width is
// given in level-0 pixels and drawn at each level as that many of its pixels (at
// least one); a tile's neighbours are read too, so outlines do not stop at tile
// edges.
import { TileLayer } from '@deck.gl/geo-layers';
import { BitmapLayer } from '@deck.gl/layers';
import { loadOmeTiff, loadOmeZarr } from '@hms-dbmi/viv';
import { AxesSelection } from './zarr.js';
import { fetchOptionalJson, sidecarUrls } from './sources.js';
import { colourTable, contourMask, ngffColours, numericIds, paddedBlock, paintIds } from './label_paint.js';
import { hooks } from './hooks.js';

hooks.labelDrawing = true; // evaluated now (the hooks say so, for the tests)

const TIFF_NAME = /\.ome\.tiff?$/i;
// Tiles kept for the neighbours of contour tiles (a few MB each at most).
const RAW_CACHE = 96;
const NEAREST = { minFilter: 'nearest', magFilter: 'nearest', mipmapFilter: 'none' };

function sizeOf(source, label) {
  const i = source.labels.indexOf(label);
  return i < 0 ? 1 : source.shape[i];
}

async function openSources(url, offsetsUrl, warn) {
  if (TIFF_NAME.test(url.pathname)) {
    // An explicit `offsets` (a presigned page's signed URL) wins over the name beside the file.
    const offsets = await fetchOptionalJson(offsetsUrl || sidecarUrls(url).offsets, 'labels offsets file', warn);
    const loaded = await loadOmeTiff(url.href, Array.isArray(offsets) ? { offsets } : {});
    return { levels: loaded.data, attrs: null };
  }
  const loaded = await loadOmeZarr(url.href.replace(/\/$/, ''), { type: 'multiscales' });
  return { levels: loaded.data.map((s) => new AxesSelection(s, {})), attrs: loaded.metadata };
}

/** Open one view-file labels entry, relative to the view file's URL `base`. */
export async function openLabels(entry, base, warn) {
  const offsetsUrl = typeof entry.offsets === 'string' ? new URL(entry.offsets, base).href : null;
  const { levels, attrs } = await openSources(new URL(entry.file, base), offsetsUrl, warn);
  const first = levels[0];
  const colours = entry.colors || ngffColours(attrs);
  return {
    entry,
    levels,
    colourOf: colourTable(colours),
    width: sizeOf(first, 'x'),
    height: sizeOf(first, 'y'),
    tileSize: first.tileSize,
    raw: new Map(),
  };
}

function selection(source, z, t) {
  return { z: Math.min(z, sizeOf(source, 'z') - 1), t: Math.min(t, sizeOf(source, 't') - 1), c: 0 };
}

async function readTile(labels, level, x, y, sel, signal) {
  const tile = await labels.levels[level].getTile({ x, y, selection: sel, signal });
  return { data: numericIds(tile.data), width: tile.width, height: tile.height };
}

/** A tile for a contour's neighbourhood, from a small cache (each read once while it is kept). */
function cachedTile(labels, level, x, y, sel) {
  const key = `${level} ${x} ${y} ${sel.z} ${sel.t}`;
  let got = labels.raw.get(key);
  if (got) {
    labels.raw.delete(key);
    labels.raw.set(key, got); // most recently used last
    return got;
  }
  got = readTile(labels, level, x, y, sel);
  got.catch(() => labels.raw.delete(key));
  labels.raw.set(key, got);
  while (labels.raw.size > RAW_CACHE) labels.raw.delete(labels.raw.keys().next().value);
  return got;
}

async function contourTile(labels, level, x, y, sel) {
  const ts = labels.tileSize;
  const source = labels.levels[level];
  const size = { width: sizeOf(source, 'x'), height: sizeOf(source, 'y') };
  const thickness = Math.min(ts - 1, Math.max(1, Math.round(labels.entry.contour / 2 ** level)));
  const cols = Math.ceil(size.width / ts);
  const rows = Math.ceil(size.height / ts);
  const around = new Map(); // "col row" -> the tile and its 8 neighbours inside the level
  const reads = [];
  for (let cy = Math.max(0, y - 1); cy <= Math.min(rows - 1, y + 1); cy += 1) {
    for (let cx = Math.max(0, x - 1); cx <= Math.min(cols - 1, x + 1); cx += 1) {
      reads.push(cachedTile(labels, level, cx, cy, sel).then((got) => around.set(`${cx} ${cy}`, got)));
    }
  }
  await Promise.all(reads);
  const tile = around.get(`${x} ${y}`);
  const pad = thickness + 1;
  const block = paddedBlock((cx, cy) => around.get(`${cx} ${cy}`) || null, ts, size, x * ts, y * ts,
    tile.width, tile.height, pad);
  const mask = contourMask(block, tile.width, tile.height, pad, thickness);
  return { ...tile, image: paintIds(tile.data, tile.width, tile.height, labels.colourOf, mask) };
}

function renderTile(props) {
  const { tile, data } = props;
  if (!data) return null;
  const scale = 2 ** -tile.index.z;
  const span = props.tileSize * scale;
  const left = tile.index.x * span;
  const top = tile.index.y * span;
  return new BitmapLayer(props, {
    id: `${props.id}-${tile.index.z}-${tile.index.x}-${tile.index.y}`,
    image: data.image,
    bounds: [left, top + data.height * scale, left + data.width * scale, top],
    textureParameters: NEAREST,
  });
}

/** The deck.gl layer of opened labels `labels` on plane (z, t). */
export function labelLayer(labels, { id, z, t, opacity, onTileError, onViewportLoad }) {
  const getTileData = async ({ index, signal }) => {
    const level = Math.round(-index.z);
    const sel = selection(labels.levels[level], z, t);
    try {
      if (labels.entry.contour > 0) return await contourTile(labels, level, index.x, index.y, sel);
      const tile = await readTile(labels, level, index.x, index.y, sel, signal);
      return { ...tile, image: paintIds(tile.data, tile.width, tile.height, labels.colourOf) };
    } catch (err) {
      if (signal && signal.aborted) return null;
      throw err;
    }
  };
  return new TileLayer({
    id,
    getTileData,
    renderSubLayers: renderTile,
    tileSize: labels.tileSize,
    extent: [0, 0, labels.width, labels.height],
    minZoom: -(labels.levels.length - 1),
    maxZoom: 0,
    // with opacity below 1, a coarser tile under a finer one would show through
    refinementStrategy: opacity < 1 ? 'no-overlap' : 'best-available',
    opacity,
    pickable: true,
    updateTriggers: { getTileData: [z, t] },
    onTileError,
    onViewportLoad,
  });
}

/** The label id under a pick of a labels layer (0 where there is none). */
export function pickedId(pick) {
  const content = pick && pick.tile && pick.tile.content;
  if (!content || !pick.bitmap) return 0;
  const [px, py] = pick.bitmap.pixel;
  return content.data[py * content.width + px] || 0;
}
