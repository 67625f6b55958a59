// Label ids -> RGBA pixels: napari's colours (a table from the view file, or the
// NGFF `image-label` colours), and napari's contour rule. Pure functions on typed
// arrays, used per tile by label_tiles.js.

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// The largest id a dense lookup table is made for (4 bytes each: 16 MB).
const MAX_DENSE_ID = 1 << 22;

/** [r, g, b, a] (0-255) as one 32-bit word in the byte order of an RGBA buffer. */
function pack(c) {
  const [r, g, b] = c;
  const a = c[3] ?? 255;
  return LITTLE_ENDIAN ? ((a << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
}

/** A bright colour for any id, the same every time (used when no colours are given). */
function hashed(id) {
  let v = Math.imul((id ^ 0x9e3779b9) >>> 0, 0x85ebca6b);
  v ^= v >>> 13;
  v = Math.imul(v, 0xc2b2ae35);
  v ^= v >>> 16;
  return pack([64 + (v & 191), 64 + ((v >>> 8) & 191), 64 + ((v >>> 16) & 191), 255]);
}

/**
 * The colour of each id as a function id -> packed RGBA (0: transparent).
 * `colors` is {id: [r, g, b, a]}: ids not in it are transparent. Without a table
 * every id but 0 gets a colour of its own.
 */
export function colourTable(colors) {
  if (!colors) return (id) => (id === 0 ? 0 : hashed(id));
  const entries = Object.entries(colors).map(([k, c]) => [Number(k), pack(c)]).filter(([k]) => Number.isInteger(k));
  const top = entries.reduce((m, [k]) => Math.max(m, k), 0);
  if (top <= MAX_DENSE_ID) {
    const lut = new Uint32Array(top + 1);
    for (const [k, v] of entries) if (k > 0) lut[k] = v;
    return (id) => (id < lut.length ? lut[id] : 0);
  }
  const map = new Map(entries.filter(([k]) => k !== 0));
  return (id) => map.get(id) || 0;
}

/** NGFF `image-label.colors` ([{"label-value": 1, "rgba": [...]}, ...]) as {id: rgba}, or null. */
export function ngffColours(attrs) {
  const list = attrs && attrs['image-label'] && attrs['image-label'].colors;
  if (!Array.isArray(list)) return null;
  const out = {};
  for (const c of list) {
    if (c && Number.isInteger(c['label-value']) && Array.isArray(c.rgba)) out[c['label-value']] = c.rgba;
  }
  return out;
}

/** Label ids as plain numbers (64-bit Zarr arrays come as BigInt arrays). */
export function numericIds(data) {
  if (typeof BigInt64Array !== 'undefined' && (data instanceof BigInt64Array || data instanceof BigUint64Array)) {
    return Float64Array.from(data, Number);
  }
  return data;
}

/**
 * RGBA pixels for `width` x `height` ids; `keep(i)`, when given, says which
 * pixels are drawn (the contour), the others stay transparent.
 */
export function paintIds(ids, width, height, colourOf, keep = null) {
  const out = new Uint32Array(width * height);
  let last = 0;
  let lastColour = 0;
  for (let i = 0; i < out.length; i += 1) {
    const id = ids[i];
    if (id === 0 || (keep && !keep[i])) continue;
    if (id !== last) {
      last = id;
      lastColour = colourOf(id);
    }
    out[i] = lastColour;
  }
  return new ImageData(new Uint8ClampedArray(out.buffer), width, height);
}

/** The maximum (or minimum) over each pixel and its 4 neighbours; edges repeat the border. */
function crossFilter(src, w, h, takeMax) {
  const out = new Float64Array(src.length);
  for (let y = 0; y < h; y += 1) {
    const row = y * w;
    const up = (y > 0 ? y - 1 : y) * w;
    const down = (y < h - 1 ? y + 1 : y) * w;
    for (let x = 0; x < w; x += 1) {
      let v = src[row + x];
      const l = src[row + (x > 0 ? x - 1 : x)];
      const r = src[row + (x < w - 1 ? x + 1 : x)];
      const u = src[up + x];
      const d = src[down + x];
      if (takeMax) v = Math.max(v, l, r, u, d);
      else v = Math.min(v, l, r, u, d);
      out[row + x] = v;
    }
  }
  return out;
}

/**
 * napari's contour rule on a padded block of ids: a labelled pixel is drawn when
 * the largest id among it and its 4 neighbours differs from the smallest id
 * within `thickness` steps (a diamond of that radius); so each region's inner
 * edge, `thickness` pixels wide, is drawn, and its interior is not.
 *
 * `padded` is (width + 2 pad) x (height + 2 pad) ids around the tile (pad >
 * thickness); returns a mask of the tile's width x height pixels.
 */
export function contourMask(padded, width, height, pad, thickness) {
  const pw = width + 2 * pad;
  const ph = height + 2 * pad;
  const dilated = crossFilter(padded, pw, ph, true);
  let eroded = padded;
  for (let k = 0; k < thickness; k += 1) eroded = crossFilter(eroded, pw, ph, false);
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    const prow = (y + pad) * pw + pad;
    for (let x = 0; x < width; x += 1) {
      const p = prow + x;
      mask[y * width + x] = padded[p] !== 0 && dilated[p] !== eroded[p] ? 1 : 0;
    }
  }
  return mask;
}

/**
 * The ids of the block [x0 - pad, x0 + width + pad) x [y0 - pad, y0 + height + pad)
 * of a level, from the tiles around it: `tileAt(col, row)` gives a tile's
 * {data, width} (or null outside the level) for tiles of `tileSize`. Pixels
 * beyond the level's edge repeat the edge (as napari's filters do).
 */
export function paddedBlock(tileAt, tileSize, level, x0, y0, width, height, pad) {
  const pw = width + 2 * pad;
  const ph = height + 2 * pad;
  const out = new Float64Array(pw * ph);
  for (let j = 0; j < ph; j += 1) {
    const gy = Math.min(Math.max(y0 - pad + j, 0), level.height - 1);
    const row = Math.floor(gy / tileSize);
    const ly = gy - row * tileSize;
    for (let i = 0; i < pw; i += 1) {
      const gx = Math.min(Math.max(x0 - pad + i, 0), level.width - 1);
      const col = Math.floor(gx / tileSize);
      const tile = tileAt(col, row);
      out[j * pw + i] = tile ? tile.data[ly * tile.width + (gx - col * tileSize)] : 0;
    }
  }
  return out;
}
