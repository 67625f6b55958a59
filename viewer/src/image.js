// Opening the OME-TIFF with Viv's loader and choosing each channel's defaults.
import { loadOmeTiff, isInterleaved, MAX_CHANNELS } from '@hms-dbmi/viv';
import { UserError } from './sources.js';

export { MAX_CHANNELS };

// Used when the OME-XML gives no Channel Color.
const SINGLE = [[255, 255, 255]];
const PAIR = [[0, 255, 0], [255, 0, 255]];
const PALETTE = [
  [255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255], [255, 255, 0],
  [0, 255, 255], [255, 128, 0], [255, 128, 192], [128, 255, 0], [0, 160, 255],
];

export function defaultColor(index, count) {
  const palette = count === 1 ? SINGLE : count === 2 ? PAIR : PALETTE;
  return palette[index % palette.length];
}

const DTYPE_RANGE = {
  Uint8: [0, 255], Uint16: [0, 65535], Uint32: [0, 4294967295],
  Int8: [-128, 127], Int16: [-32768, 32767], Int32: [-2147483648, 2147483647],
};

function explainLoadError(err) {
  if (err instanceof UserError) return err;
  let detail = err && err.message ? err.message : String(err);
  if (err && Array.isArray(err.issues)) {
    // A ZodError: Viv's schema rejected the OME-XML.
    detail = err.issues
      .slice(0, 3)
      .map((issue) => `${(issue.path || []).join('.')}: ${issue.message}`)
      .join('; ');
    detail = `its OME-XML does not match what Viv accepts (${detail})`;
  }
  if (detail.length > 400) detail = `${detail.slice(0, 400)}…`;
  return new UserError(`This file could not be opened as a Viv-readable OME-TIFF: ${detail}`);
}

/** loadOmeTiff, with errors turned into readable sentences. */
export async function openImage(url, offsets) {
  try {
    return await loadOmeTiff(url, offsets ? { offsets } : {});
  } catch (err) {
    throw explainLoadError(err);
  }
}

export function describe(loaded) {
  const { data, metadata } = loaded;
  const base = data[0];
  const px = metadata.Pixels;
  const rgb = isInterleaved(base.shape);
  const labels = base.labels;
  const size = (label) => (labels.includes(label) ? base.shape[labels.indexOf(label)] : 1);
  const omeChannels = px.Channels || [];
  const count = rgb ? 1 : size('c');
  const names = [];
  for (let i = 0; i < count; i++) {
    const name = omeChannels[i] && omeChannels[i].Name;
    names.push(rgb ? 'RGB' : name || `Channel ${i}`);
  }
  const omeColors = [];
  for (let i = 0; i < count; i++) {
    const c = omeChannels[i] && omeChannels[i].Color;
    // Colour 0 (black, also what "no colour" often becomes) would hide the channel.
    omeColors.push(Array.isArray(c) && (c[0] || c[1] || c[2]) ? c.slice(0, 3) : null);
  }
  // An OME-Zarr's omero block gives display windows and active channels too (zarr.js).
  const omeLimits = names.map((_, i) => omeChannels[i] && omeChannels[i].Window);
  const omeVisible = names.map((_, i) => omeChannels[i] && omeChannels[i].Active);
  const physical = base.meta && base.meta.physicalSizes && base.meta.physicalSizes.x;
  return {
    name: metadata.Name || '',
    rgb,
    dtype: base.dtype,
    width: size('x'),
    height: size('y'),
    sizeZ: size('z'),
    sizeT: size('t'),
    levels: data.length,
    tileSize: base.tileSize,
    names,
    omeColors,
    omeLimits,
    omeVisible,
    physicalSizeX: physical ? { size: physical.size, unit: physical.unit } : null,
  };
}

function minMax(arr) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return [lo, hi];
}

/**
 * Per channel: the min/max of the smallest pyramid level (its whole plane is
 * small) as default contrast limits, and a slider range around it.
 */
export async function channelStats(loaded, channels, z, t) {
  const { data } = loaded;
  const smallest = data[data.length - 1];
  const integer = smallest.dtype in DTYPE_RANGE;
  return Promise.all(
    channels.map(async (c) => {
      const { data: pixels } = await smallest.getRaster({ selection: { c, z, t } });
      const [lo, hi] = minMax(pixels);
      const limits = [lo, hi > lo ? hi : lo + (integer ? 1 : 1e-6)];
      return { limits, domain: sliderDomain(smallest.dtype, limits) };
    }),
  );
}

export function sliderDomain(dtype, [lo, hi]) {
  const range = DTYPE_RANGE[dtype];
  if (range) {
    if (dtype === 'Uint8' || dtype === 'Int8') return range.slice();
    // Room above the smallest level's maximum: full-resolution pixels can be brighter.
    const top = Math.min(range[1], Math.max(hi * 2, lo + 1));
    return [Math.max(range[0], Math.min(lo, 0)), Math.ceil(top)];
  }
  const span = hi - lo || 1;
  return [Math.min(lo, 0), hi + span];
}

export function widenDomain(domain, limits) {
  return [Math.min(domain[0], limits[0]), Math.max(domain[1], limits[1])];
}
