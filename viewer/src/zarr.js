// Opening an OME-Zarr store (NGFF 0.4 or 0.5) with Viv's loadOmeZarr, shaped like
// what the OME-TIFF path gives (data + OME-like metadata), so the rest of the viewer
// does not care which format it shows. The store is a folder on this server:
// ?image=/name.ome.zarr. Its view file is <stem>.view.json beside it.
import { loadOmeZarr } from '@hms-dbmi/viv';
import { registry } from 'zarrita';
import { decompress as decompressZstd } from 'fzstd';
import { registerCodecs } from './codecs/zarr_codecs.js';
import { UserError, fetchOptionalJson } from './sources.js';
import { parseViewFile } from './viewfile.js';

const ZARR_SUFFIX = /\.zarr\/?$/i;
const STEM_SUFFIX = /(\.ome)?\.zarr\/?$/i;

// NGFF unit names -> the symbols the scale bar knows.
const UNITS = {
  picometer: 'pm', angstrom: 'Å', nanometer: 'nm', micrometer: 'µm', millimeter: 'mm',
  centimeter: 'cm', meter: 'm',
};

/** Whether `?image=` names a Zarr store (a folder ending in .zarr). */
export function isZarrUrl(url) {
  return ZARR_SUFFIX.test(url.pathname);
}

function storeUrl(url) {
  const u = new URL(url.href);
  u.search = '';
  u.hash = '';
  u.pathname = u.pathname.replace(/\/$/, '');
  return u;
}

/** `<stem>.view.json` beside the store. */
export function zarrViewUrl(url) {
  const u = storeUrl(url);
  u.pathname = u.pathname.replace(STEM_SUFFIX, '.view.json');
  return u.href;
}

// Viv's Zarr sources refuse selection keys that are not axes of the store
// (a c, y, x image has no z or t); the viewer always selects c, z and t.
// This wrapper drops the keys the store does not have.
export class AxesSelection {
  constructor(source, meta) {
    this.source = source;
    this.meta = meta;
  }

  get shape() { return this.source.shape; }

  get dtype() { return this.source.dtype; }

  get labels() { return this.source.labels; }

  get tileSize() { return this.source.tileSize; }

  keep(selection) {
    const out = {};
    for (const [key, value] of Object.entries(selection || {})) {
      if (this.source.labels.includes(key)) out[key] = value;
    }
    return out;
  }

  getRaster(props) { return this.source.getRaster({ ...props, selection: this.keep(props.selection) }); }

  getTile(props) { return this.source.getTile({ ...props, selection: this.keep(props.selection) }); }

  onTileError(err) { return this.source.onTileError(err); }
}

function hexColor(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(String(hex || ''));
  return m ? [1, 2, 3].map((i) => parseInt(m[i], 16)).concat(255) : undefined;
}

function physicalSizes(multiscale, labels) {
  const scale = (multiscale.datasets[0].coordinateTransformations || []).find((t) => t.type === 'scale');
  const axes = multiscale.axes || [];
  const sizes = {};
  for (const name of ['x', 'y', 'z']) {
    const i = labels.indexOf(name);
    if (i < 0 || !scale || !(scale.scale[i] > 0)) continue;
    const unit = (axes[i] && axes[i].unit) || 'micrometer';
    sizes[name] = { size: scale.scale[i], unit: UNITS[unit] || unit };
  }
  return sizes;
}

/**
 * An omero window's [start, end], or undefined when it says nothing about the data: missing,
 * or spanning its whole min..max (what writers put when they know no limits, e.g. 0-65535).
 * Without one the page takes the limits from the channel's statistics, as for an OME-TIFF.
 */
function displayWindow(w) {
  if (!w || !Number.isFinite(w.start) || !Number.isFinite(w.end)) return undefined;
  const whole = Number.isFinite(w.min) && Number.isFinite(w.max) && w.start <= w.min && w.end >= w.max;
  return whole ? undefined : [w.start, w.end];
}

/** The OME-like metadata describe() reads, from the store's omero block. */
function omeLike(attrs, name) {
  const channels = ((attrs.omero && attrs.omero.channels) || []).map((c) => ({
    Name: c.label,
    Color: hexColor(c.color),
    Window: displayWindow(c.window),
    Active: typeof c.active === 'boolean' ? c.active : undefined,
  }));
  return { Name: name, Pixels: { Channels: channels } };
}

// Blosc, zstd and LZ4 are decoded by our own eval-free codecs (src/codecs/), put into
// the registry of the zarrita that Viv's loadOmeZarr uses (package.json pins the same
// version, so npm keeps one copy).
registerCodecs(registry, decompressZstd);

// What zarrita says for a codec it has no decoder for, and what ours says for a Blosc
// chunk whose inner compressor (blosclz, snappy) the page does not decode (Avivator's
// numcodecs.js does decode blosclz).
const UNKNOWN_CODEC = /Unknown codec: (\S+)/;
const UNKNOWN_BLOSC = /Blosc chunks compressed with (\w+)/;

function explainZarrError(err) {
  if (err instanceof UserError) return err;
  let detail = err && err.message ? err.message : String(err);
  const codec = UNKNOWN_CODEC.exec(detail);
  const blosc = UNKNOWN_BLOSC.exec(detail);
  if (codec || blosc) {
    const name = codec ? codec[1] : `Blosc with ${blosc[1]}`;
    return new UserError(
      `This store is encoded with ${name}, which this viewer cannot decode. ` +
        (blosc ? 'Open it in Avivator, or convert it: ' : 'Convert it: ') +
        '`napari-viv convert STORE OUT.ome.zarr` (writes a codec this viewer reads).',
    );
  }
  if (detail.length > 400) detail = `${detail.slice(0, 400)}…`;
  return new UserError(
    `This store could not be opened as an OME-Zarr image: ${detail}. ` +
      '`napari-viv check` on the store says what Viv needs.',
  );
}

/** Open the store and its view file: { loaded, view, usedOffsets: false }, as openTiffPage gives. */
export async function openZarrPage(url, warn) {
  const store = storeUrl(url);
  const name = decodeURIComponent(store.pathname.split('/').pop()).replace(STEM_SUFFIX, '');
  const viewJson = await fetchOptionalJson(zarrViewUrl(url), 'view file', warn);
  let result;
  try {
    result = await loadOmeZarr(store.href, { type: 'multiscales' });
  } catch (err) {
    throw explainZarrError(err);
  }
  const { data, metadata: attrs } = result;
  const multiscale = attrs.multiscales && attrs.multiscales[0];
  const meta = { physicalSizes: multiscale ? physicalSizes(multiscale, data[0].labels) : {} };
  const sources = data.map((source) => new AxesSelection(source, meta));
  try {
    // Decode one plane of the smallest level now (it is read next anyway), so a
    // codec this page cannot decode is explained here, not as an unexpected error.
    await sources[sources.length - 1].getRaster({ selection: {} });
  } catch (err) {
    throw explainZarrError(err);
  }
  let view = null;
  if (viewJson !== null) {
    const parsed = parseViewFile(viewJson);
    view = parsed.view;
    for (const p of parsed.problems) warn(`View file: ${p}.`);
  }
  return { loaded: { data: sources, metadata: omeLike(attrs, name) }, view, usedOffsets: false };
}
