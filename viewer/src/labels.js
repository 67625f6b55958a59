// napari Labels over the image (docs/view-file.md, "labels"): the panel's section
// with a show/hide toggle per layer, the hover text (the label id) and the test
// hooks. The view file's `labels` entries come parsed with the view (viewfile.js);
// the drawing itself (label_tiles.js: tiled, multi-level, contours) is evaluated
// only when there are entries, so a page without labels never runs it.
import { createElement as h, useEffect, useMemo, useRef, useState } from 'react';

const message = (err) => (err && err.message ? err.message : String(err));
const LAYER_ID = /^labels-(\d+)$/;

/**
 * The labels `entries` (relative to the view file's URL `base`) on plane (z, t)
 * of `image`: { layers, panel, tooltip, state, setShown }.
 */
export function useLabels(image, entries, base, z, t, warn) {
  const [drawing, setDrawing] = useState(null); // label_tiles.js, once evaluated
  const [opened, setOpened] = useState({}); // entry index -> opened pyramid
  const [shown, setShown] = useState({});
  const seen = useRef({}); // entry index -> its tiles of a whole view were drawn once
  const current = useRef([]); // the deck layers of the last render (for isLoaded)
  useEffect(() => {
    setShown(Object.fromEntries(entries.map((e, i) => [i, e.visible])));
    if (!image || entries.length === 0) return undefined;
    let live = true;
    import('./label_tiles.js').then((mod) => {
      if (!live) return;
      setDrawing(mod);
      entries.forEach((entry, i) => mod.openLabels(entry, base, warn).then(
        (o) => live && setOpened((s) => ({ ...s, [i]: o })),
        (err) => warn(`Labels ${entry.name}: ${message(err)}`),
      ));
    });
    return () => { live = false; };
  }, [image, entries, base, warn]);
  const layers = useMemo(() => (!drawing ? [] : entries.flatMap((entry, i) => (
    opened[i] && shown[i] ? [drawing.labelLayer(opened[i], {
      id: `labels-${i}`, z, t, opacity: entry.opacity,
      onTileError: (err) => warn(`Labels ${entry.name}: part could not be read (${message(err)})`),
      onViewportLoad: () => { seen.current[i] = true; },
    })] : []))), [drawing, entries, opened, shown, z, t, warn]);
  current.current = layers;
  const tooltip = (pick) => {
    const m = pick && pick.layer && LAYER_ID.exec(pick.layer.id);
    const id = m && drawing ? drawing.pickedId(pick) : 0;
    return id ? { text: `${entries[Number(m[1])].name}\nlabel ${id}` } : null;
  };
  const panel = entries.length === 0 ? null : h('div', { className: 'overlays' },
    h('h2', { className: 'section' }, 'Labels'),
    h('ul', { className: 'overlay-list' }, entries.map((e, i) => h('li', { key: i, className: 'overlay' },
      h('label', null, h('input', {
        type: 'checkbox', checked: Boolean(shown[i]), 'aria-label': `Show ${e.name}`,
        onChange: (ev) => setShown((s) => ({ ...s, [i]: ev.target.checked })),
      }), ` ${e.name}`, e.contour > 0 ? h('span', { className: 'count' }, ' contours') : null)))));
  const state = () => entries.map((e, i) => {
    const layer = current.current.find((l) => l.id === `labels-${i}`);
    return {
      name: e.name, shown: Boolean(shown[i]), contour: e.contour,
      drawn: Boolean(seen.current[i]), loaded: Boolean(layer && layer.isLoaded),
    };
  });
  return { layers, panel, tooltip, state, setShown: (i, on) => setShown((s) => ({ ...s, [i]: Boolean(on) })) };
}
