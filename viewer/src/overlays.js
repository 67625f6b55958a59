// napari Points and Shapes drawn over the image (docs/view-file.md, "Points and shapes").
// The sidecar <stem>.features.geojson is GeoJSON in level-0 pixels, the same
// units as the image layers, so deck.gl draws it with "common" units: sizes and
// widths stay in pixels of the image, as in napari. Each napari layer gets its
// own show/hide toggle; hovering a feature shows its properties.
import { createElement as h, useEffect, useMemo, useState } from 'react';
import { ScatterplotLayer, PolygonLayer, PathLayer } from '@deck.gl/layers';
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
    points: [], polygons: [], paths: [],
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
    else skipped += 1;
  }
  return { layers, problems: skipped ? [`${skipped} features could not be drawn`] : [] };
}

const onPlane = (p, z, t) => (p.z === undefined || p.z === z) && (p.t === undefined || p.t === t);
const color = (c, fallback) => (Array.isArray(c) && c.length >= 3 ? [c[0], c[1], c[2], c[3] ?? 255] : fallback);

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
