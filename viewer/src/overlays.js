// napari Points and Shapes drawn over the image (docs/view-file.md, "Points and shapes").
// The sidecar <stem>.features.geojson is GeoJSON in level-0 pixels, the same
// units as the image layers, so deck.gl draws it with "common" units: sizes and
// widths stay in pixels of the image, as in napari. Each napari layer gets its
// own show/hide toggle; hovering a feature shows its properties. A layer whose
// text napari showed has its features' text drawn on the image, always.
import { createElement as h, useEffect, useMemo, useState } from 'react';
import { ScatterplotLayer, PolygonLayer, PathLayer, TextLayer } from '@deck.gl/layers';
import { fetchOptionalJson } from './sources.js';

export function featuresUrl(viewUrl) {
  return viewUrl.replace(/\.view\.json$/, '.features.geojson');
}

/** Check and group a sidecar: [{name, type, opacity, visible, points, polygons, paths}], problems. */
export function parseFeatures(json) {
  const head = json && json.napari_viv;
  if (!head || head.version !== 1 || !Array.isArray(json.features) || !Array.isArray(head.layers)) {
    return { layers: [], problems: ['the features file is not a napari-viv feature collection (version 1)'] };
  }
  const layers = head.layers.map((l, i) => ({
    index: i, name: String(l.name || `layer ${i}`), type: l.type,
    opacity: typeof l.opacity === 'number' ? l.opacity : 1, visible: l.visible !== false,
    text: l.text && typeof l.text === 'object' ? l.text : {},
    points: [], polygons: [], paths: [], texts: [],
  }));
  let skipped = 0;
  for (const f of json.features) {
    const p = (f && f.properties) || {};
    const layer = layers[p.layer];
    const g = f && f.geometry;
    if (!layer || !g) { skipped += 1; continue; }
    if (g.type === 'Point') layer.points.push({ at: g.coordinates, p });
    else if (g.type === 'Polygon') layer.polygons.push({ ring: g.coordinates[0], p });
    else if (g.type === 'LineString') layer.paths.push({ path: g.coordinates, p });
    else { skipped += 1; continue; }
    if (typeof p.text === 'string' && p.text) layer.texts.push({ text: p.text, vertices: vertices(g, p), p });
  }
  return { layers, problems: skipped ? [`${skipped} features could not be drawn`] : [] };
}

const onPlane = (p, z, t) => (p.z === undefined || p.z === z) && (p.t === undefined || p.t === t);
const color = (c, fallback) => (Array.isArray(c) && c.length >= 3 ? [c[0], c[1], c[2], c[3] ?? 255] : fallback);

/** A feature's napari vertices [x, y] (a polygon without its closing point; an ellipse's box). */
function vertices(g, p) {
  if (Array.isArray(p.vertices)) return p.vertices;
  if (g.type === 'Point') return [g.coordinates];
  if (g.type === 'Polygon') return g.coordinates[0].slice(0, -1);
  return g.coordinates;
}

// napari's text anchors: the corner of the feature's box the text is placed at,
// and how the text lies from there (x: start/middle/end; y: napari draws "upper"
// text above that corner and "lower" text below it).
const ANCHORS = {
  center: [null, 'middle', 'center'],
  upper_left: [[0, 0], 'start', 'bottom'],
  upper_right: [[1, 0], 'end', 'bottom'],
  lower_left: [[0, 1], 'start', 'top'],
  lower_right: [[1, 1], 'end', 'top'],
};
// napari's text size is in points; a CSS pixel is 3/4 of a point.
const PX_PER_POINT = 4 / 3;

/** Where napari puts a feature's text for `anchor`: the vertices' mean, or a corner of their box. */
function textPosition(verts, anchor, offset) {
  const corner = (ANCHORS[anchor] || ANCHORS.center)[0];
  let at;
  if (!corner) {
    at = [0, 1].map((k) => verts.reduce((sum, v) => sum + v[k], 0) / verts.length);
  } else {
    at = [0, 1].map((k) => {
      const values = verts.map((v) => v[k]);
      return corner[k] ? Math.max(...values) : Math.min(...values);
    });
  }
  return [at[0] + offset[0], at[1] + offset[1]];
}

/** The text's shift in pixels [x, y] from napari's `translation` (data coordinates, y before x). */
function textOffset(translation) {
  if (typeof translation === 'number') return [translation, translation];
  if (Array.isArray(translation) && translation.length >= 2) return [translation.at(-1), translation.at(-2)];
  return [0, 0];
}

/** The text layer of one sidecar layer's features on plane (z, t), or null without text. */
function textLayer(layer, z, t, common) {
  const items = layer.texts.filter((d) => onPlane(d.p, z, t));
  if (!items.length) return null;
  const style = layer.text;
  const anchor = ANCHORS[style.anchor] || ANCHORS.center;
  const offset = textOffset(style.translation);
  const size = (typeof style.size === 'number' && style.size > 0 ? style.size : 12) * PX_PER_POINT;
  const colour = color(style.color, [0, 255, 255, 255]); // napari's default text colour: cyan
  return new TextLayer({
    ...common, id: `overlay-${layer.index}-text`, data: items, characterSet: 'auto',
    getPosition: (d) => textPosition(d.vertices, style.anchor, offset), getText: (d) => d.text,
    getColor: (d) => color(d.p.text_color, colour), getSize: size,
    sizeUnits: style.scaling ? 'common' : 'pixels',
    getTextAnchor: anchor[1], getAlignmentBaseline: anchor[2],
  });
}

/** The deck.gl layers of one sidecar layer on plane (z, t). */
export function deckLayers(layer, z, t) {
  const id = `overlay-${layer.index}`;
  const common = { pickable: true, opacity: layer.opacity, lineWidthUnits: 'common', lineWidthMinPixels: 1 };
  const out = [];
  const polygons = layer.polygons.filter((d) => onPlane(d.p, z, t));
  if (polygons.length) {
    out.push(new PolygonLayer({
      ...common, id: `${id}-polygons`, data: polygons, getPolygon: (d) => d.ring,
      filled: true, stroked: true,
      getFillColor: (d) => color(d.p.fill_color, [0, 0, 0, 0]),
      getLineColor: (d) => color(d.p.edge_color, [255, 255, 255, 255]),
      getLineWidth: (d) => d.p.edge_width ?? 1,
    }));
  }
  const paths = layer.paths.filter((d) => onPlane(d.p, z, t));
  if (paths.length) {
    out.push(new PathLayer({
      ...common, id: `${id}-paths`, data: paths, getPath: (d) => d.path, widthUnits: 'common',
      widthMinPixels: 1, getColor: (d) => color(d.p.edge_color, [255, 255, 255, 255]),
      getWidth: (d) => d.p.edge_width ?? 1,
    }));
  }
  const points = layer.points.filter((d) => onPlane(d.p, z, t));
  if (points.length) {
    out.push(new ScatterplotLayer({
      ...common, id: `${id}-points`, data: points, getPosition: (d) => d.at, radiusUnits: 'common',
      stroked: true, filled: true, getRadius: (d) => (d.p.size ?? 10) / 2,
      getFillColor: (d) => color(d.p.fill_color, [255, 255, 255, 255]),
      getLineColor: (d) => color(d.p.edge_color, [0, 0, 0, 255]),
      getLineWidth: (d) => d.p.edge_width ?? 0,
    }));
  }
  const text = textLayer(layer, z, t, common);
  if (text) out.push(text);
  return out;
}

/** The hover text of a picked feature: its layer, text and features-table row. */
export function tooltip(info, layers) {
  const d = info && info.object;
  if (!d || !d.p) return null;
  const layer = layers[d.p.layer];
  const lines = [layer ? layer.name : 'feature'];
  if (d.p.shape_type) lines.push(d.p.shape_type);
  if (d.p.text) lines.push(String(d.p.text));
  for (const [k, v] of Object.entries(d.p.features || {})) lines.push(`${k}: ${v}`);
  return { text: lines.join('\n') };
}

/** Fetch the sidecar once the image is known; return deck layers, the panel section and the tooltip. */
export function useOverlays(image, viewUrl, z, t, warn) {
  const [layers, setLayers] = useState([]);
  const [shown, setShown] = useState({});
  useEffect(() => {
    if (!image || !viewUrl) return;
    fetchOptionalJson(featuresUrl(viewUrl), 'points and shapes file', warn).then((json) => {
      if (json === null) return;
      const parsed = parseFeatures(json);
      parsed.problems.forEach((p) => warn(`Points and shapes: ${p}.`));
      setLayers(parsed.layers);
      setShown(Object.fromEntries(parsed.layers.map((l) => [l.index, l.visible])));
    });
  }, [image, viewUrl, warn]);
  const deck = useMemo(
    () => layers.filter((l) => shown[l.index]).flatMap((l) => deckLayers(l, z, t)),
    [layers, shown, z, t],
  );
  const panel = layers.length === 0 ? null : h('div', { className: 'overlays' },
    h('h2', { className: 'section' }, 'Points and shapes'),
    h('ul', { className: 'overlay-list' }, layers.map((l) => h('li', { key: l.index, className: 'overlay' },
      h('label', null,
        h('input', {
          type: 'checkbox', checked: Boolean(shown[l.index]), 'aria-label': `Show ${l.name}`,
          onChange: (e) => setShown((s) => ({ ...s, [l.index]: e.target.checked })),
        }),
        ` ${l.name} `,
        h('span', { className: 'count' }, `${l.type}, ${l.points.length + l.polygons.length + l.paths.length}`))))));
  return {
    layers: deck,
    panel,
    tooltip: (info) => tooltip(info, layers),
    state: () => layers.map((l) => ({ name: l.name, type: l.type, shown: Boolean(shown[l.index]),
      count: l.points.length + l.polygons.length + l.paths.length })),
    setShown: (i, on) => setShown((s) => ({ ...s, [i]: Boolean(on) })),
  };
}
