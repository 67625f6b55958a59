// A bare Viv page, the yardstick for our viewer's first frame (benchmarks/bench_viewer.py --vs-bare).
// What a minimal Viv app does and nothing else: loadOmeTiff, getChannelStats
// on the lowest level for the contrast limits, and a PictureInPictureViewer.
// Two things are set for a like-for-like comparison with our viewer: the
// canvas has the size of our viewer's canvas (the window less its 280-px
// panel) and the camera is the same fit of the image (95 % of the canvas).
// With ?camera=viv the page keeps Viv's own initial view instead (the image
// at about 70 % of the fit: fewer, lower-resolution tiles than our viewer's).
// With ?scalebar=0 Viv gets no physical sizes, so it draws no scale bar (its
// text and line layers need their own shaders; our viewer's bar is HTML).
// window.__bare.firstFrameMs is performance.now() at the first frame drawn
// after Viv reports the viewport's tiles loaded (our viewer's firstFrameMs
// waits for the same, and for the background layer too).
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { loadOmeTiff, getChannelStats, PictureInPictureViewer } from '@hms-dbmi/viv';

const PANEL_WIDTH = 280;
const COLORS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255], [255, 255, 0], [0, 255, 255]];
const marks = { viewportLoadMs: null, firstFrameMs: null, error: null };
window.__bare = marks;

async function load() {
  const raw = new URLSearchParams(window.location.search).get('image');
  const loader = await loadOmeTiff(new URL(raw, window.location.href).href);
  const base = loader.data[0];
  const count = base.shape[base.labels.indexOf('c')];
  const selections = [...Array(count).keys()].map((c) => ({ c, z: 0, t: 0 }));
  const smallest = loader.data[loader.data.length - 1];
  const rasters = await Promise.all(selections.map((selection) => smallest.getRaster({ selection })));
  const limits = rasters.map((r) => getChannelStats(r.data).contrastLimits);
  if (new URLSearchParams(window.location.search).get('scalebar') === '0') {
    const meta = { ...base.meta, physicalSizes: undefined };
    loader.data = loader.data.map((level) => Object.create(level, { meta: { value: meta } }));
  }
  return { loader, selections, limits };
}

function App() {
  const [image, setImage] = useState(null);
  useEffect(() => {
    load().then(setImage, (err) => {
      marks.error = String(err && err.message ? err.message : err);
    });
  }, []);
  if (!image) return null;
  const width = window.innerWidth - PANEL_WIDTH;
  const height = window.innerHeight;
  const base = image.loader.data[0];
  const [w, h] = [base.shape[base.labels.indexOf('x')], base.shape[base.labels.indexOf('y')]];
  const zoom = Math.log2(Math.min(width / w, height / h) * 0.95);
  const n = image.selections.length;
  const vivCamera = new URLSearchParams(window.location.search).get('camera') === 'viv';
  return (
    <PictureInPictureViewer
      loader={image.loader.data}
      selections={image.selections}
      contrastLimits={image.limits}
      colors={image.selections.map((_, i) => COLORS[i % COLORS.length])}
      channelsVisible={Array(n).fill(true)}
      height={height}
      width={width}
      viewStates={vivCamera ? undefined : [{ id: 'detail', target: [w / 2, h / 2, 0], zoom }]}
      onViewportLoad={() => {
        if (marks.viewportLoadMs === null) marks.viewportLoadMs = performance.now();
      }}
      deckProps={{
        onAfterRender: () => {
          if (marks.viewportLoadMs !== null && marks.firstFrameMs === null) {
            marks.firstFrameMs = performance.now();
          }
        },
      }}
    />
  );
}

createRoot(document.getElementById('app')).render(<App />);
