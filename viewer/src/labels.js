// napari Labels drawn over the image (docs/view-file.md, "labels").
// Each label pyramid listed in the view file is read with Viv's loader at the
// finest level no larger than MAX_SIDE, coloured with the view file's colours
// (ids not listed are transparent) and drawn as one bitmap over the whole image,
// with nearest-pixel sampling and napari's opacity. Hovering shows the label id.
import { createElement as h, useEffect, useMemo, useState } from 'react';
import { BitmapLayer } from '@deck.gl/layers';
import { loadOmeTiff } from '@hms-dbmi/viv';

const MAX_SIDE = 2048;

function pickLevel(data) {
  for (const level of data) {
    const [hgt, wid] = level.shape.slice(-2);
    if (hgt <= MAX_SIDE && wid <= MAX_SIDE) return level;
  }
  return data[data.length - 1];
}

/** RGBA pixels for label ids with a {id: [r, g, b, a]} table (unknown ids transparent). */
export function colourLabels(ids, colors) {
  const rgba = new Uint8ClampedArray(ids.length * 4);
  const table = new Map(Object.entries(colors || {}).map(([k, c]) => [Number(k), c]));
  for (let i = 0; i < ids.length; i += 1) {
    const c = ids[i] === 0 ? null : table.get(ids[i]);
    if (c) rgba.set([c[0], c[1], c[2], c[3] ?? 255], i * 4);
  }
  return rgba;
}

async function loadLabels(entry, base, z) {
  const url = new URL(entry.file, base).href;
  const loaded = await loadOmeTiff(url);
  const level = pickLevel(loaded.data);
  const [hgt, wid] = level.shape.slice(-2);
  const sel = {};
  for (const dim of level.labels) if (!['x', 'y'].includes(dim)) sel[dim] = dim === 'z' ? z : 0;
  const { data } = await level.getRaster({ selection: sel });
  const canvas = document.createElement('canvas');
  canvas.width = wid;
  canvas.height = hgt;
  canvas.getContext('2d').putImageData(new ImageData(colourLabels(data, entry.colors), wid, hgt), 0, 0);
  return { canvas, ids: data, width: wid, height: hgt };
}

/** Fetch the view file's labels, draw them; return deck layers, the panel section and the state hook. */
export function useLabels(image, viewUrl, z, warn) {
  const [entries, setEntries] = useState([]);
  const [drawn, setDrawn] = useState({});
  const [shown, setShown] = useState({});
  useEffect(() => {
    if (!image || !viewUrl) return;
    fetch(viewUrl, { cache: 'no-cache' })
      .then((r) => (r.ok ? r.json() : null))
      .then((doc) => {
        const list = doc && Array.isArray(doc.labels) ? doc.labels.filter((e) => e && typeof e.file === 'string') : [];
        setEntries(list);
        setShown(Object.fromEntries(list.map((e, i) => [i, e.visible !== false])));
      })
      .catch(() => {});
  }, [image, viewUrl]);
  useEffect(() => {
    entries.forEach((entry, i) => {
      loadLabels(entry, viewUrl, z).then(
        (d) => setDrawn((s) => ({ ...s, [i]: d })),
        (err) => warn(`Labels ${entry.name || entry.file}: ${err && err.message ? err.message : err}`),
      );
    });
  }, [entries, viewUrl, z, warn]);
  const info = image && image.info;
  const layers = useMemo(() => (!info ? [] : entries.flatMap((entry, i) => (
    drawn[i] && shown[i] ? [new BitmapLayer({
      id: `labels-${i}`, image: drawn[i].canvas, bounds: [0, info.height, info.width, 0],
      opacity: typeof entry.opacity === 'number' ? entry.opacity : 0.7, pickable: true,
      textureParameters: { minFilter: 'nearest', magFilter: 'nearest' },
    })] : []))), [info, entries, drawn, shown]);
  const tooltip = (pick) => {
    const m = pick && pick.layer && /^labels-(\d+)$/.exec(pick.layer.id);
    if (!m || !pick.bitmap) return null;
    const d = drawn[Number(m[1])];
    const [px, py] = pick.bitmap.pixel;
    const id = d ? d.ids[py * d.width + px] : 0;
    return id ? { text: `${entries[Number(m[1])].name || 'labels'}\nlabel ${id}` } : null;
  };
  const panel = entries.length === 0 ? null : h('div', { className: 'overlays' },
    h('h2', { className: 'section' }, 'Labels'),
    h('ul', { className: 'overlay-list' }, entries.map((e, i) => h('li', { key: i, className: 'overlay' },
      h('label', null, h('input', {
        type: 'checkbox', checked: Boolean(shown[i]), 'aria-label': `Show ${e.name || e.file}`,
        onChange: (ev) => setShown((s) => ({ ...s, [i]: ev.target.checked })),
      }), ` ${e.name || e.file}`)))));
  return {
    layers, panel, tooltip,
    state: () => entries.map((e, i) => ({ name: e.name, shown: Boolean(shown[i]), drawn: Boolean(drawn[i]) })),
    setShown: (i, on) => setShown((s) => ({ ...s, [i]: Boolean(on) })),
  };
}
