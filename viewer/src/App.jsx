import { useCallback, useEffect, useRef, useState } from 'react';
import DeckGL from '@deck.gl/react';
import { OrthographicView } from '@deck.gl/core';
import { UserError, displayName } from './sources.js';
import { viewFromFragment, mergeViews } from './share.js';
import { CopyLinkButton } from './CopyLink.jsx';
import { openZarrPage, zarrViewUrl } from './zarr.js';
import { parseViewFile } from './viewfile.js';
import { startCamera } from './camera.js';
import { imageLayers } from './channel_layers.js';
import { ChannelsPanel } from './channels_panel.jsx';
import { useOverlays } from './overlays.js';
import { useLabels } from './labels.js';
import {
  MAX_CHANNELS, openImage, describe, channelStats, defaultColor, widenDomain, sliderDomain,
} from './image.js';
import { scaleBar } from './scalebar.js';
import { prefetchFirstView } from './prefetch.js';
import { drawErrorMessage } from './startup.js';
import { setStatus, hooks } from './hooks.js';

const PANEL_WIDTH = 280;
const NO_SCENE = { viewUrl: null, labels: [] };
const VIEW = new OrthographicView({ id: 'ortho', controller: true });

const toHex = (rgb) => `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
const fromHex = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

function fitCamera(info, width, height) {
  const scale = Math.min(width / info.width, height / info.height) * 0.95;
  return { center: [info.width / 2, info.height / 2], zoom: Math.log2(scale) };
}

function canvasSize() {
  return {
    width: Math.max(1, window.innerWidth - PANEL_WIDTH),
    height: Math.max(1, window.innerHeight),
  };
}

/**
 * Everything that has to be fetched and computed before the first frame.
 * `start` is startEarly()'s: the WebGL2 check and the fetches already running.
 * The image is opened while the check runs; the check is awaited last.
 */
async function prepare(warn, start) {
  try {
    const prepared = await openAndDescribe(warn, start);
    await start.webgl2();
    return prepared;
  } catch (err) {
    await start.webgl2(true); // no WebGL2 is the first thing to say
    throw err;
  }
}

/** The offsets and view files, checked; problems become warnings. */
function sidecars({ url, side, offsetsJson, viewJson }, warn) {
  let offsets = null;
  if (offsetsJson !== null) {
    if (Array.isArray(offsetsJson) && offsetsJson.every(Number.isInteger)) offsets = offsetsJson;
    else warn(`The offsets file ${side.offsets} is not a list of integers; ignored.`);
  }
  let view = null;
  if (viewJson !== null) {
    const parsed = parseViewFile(viewJson);
    view = parsed.view;
    for (const p of parsed.problems) warn(`View file: ${p}.`);
  }
  return { url, offsets, view };
}

/**
 * The page's image (OME-TIFF or OME-Zarr) and its view file:
 * { url, loaded, view, usedOffsets, viewUrl } (the view file's URL: the scene's files are relative to it).
 */
async function openPageImage(warn, start) {
  const files = await start.files(warn);
  if (files.zarr) {
    return { url: files.url, viewUrl: zarrViewUrl(files.url), ...(await openZarrPage(files.url, warn)) };
  }
  const { url, offsets, view } = sidecars(files, warn);
  const loaded = await openImage(url.href, offsets);
  return { url, loaded, view, usedOffsets: Boolean(offsets), viewUrl: files.side.view };
}

async function openAndDescribe(warn, start) {
  const opened = await openPageImage(warn, start);
  const { url, loaded } = opened;
  const linked = viewFromFragment(window.location, warn);
  const view = mergeViews(opened.view, linked);
  const info = describe(loaded);
  info.fileName = displayName(url);
  info.usedOffsets = opened.usedOffsets;
  info.usedView = Boolean(opened.view);
  info.usedLinkView = Boolean(linked);
  const z = Math.floor(info.sizeZ / 2);
  const count = info.names.length;
  const all = [...Array(count).keys()];
  const fromView = (!info.rgb && view && view.channels) || [];
  const visible = all.map((i) => [(fromView[i] || {}).visible, info.omeVisible[i], true].find((b) => b !== undefined));
  const camera = (view && view.camera) || null;
  // The first view's tiles of the visible channels are read now, while WebGL starts
  // (prefetch.js; every visible channel is drawn, in groups of up to MAX_CHANNELS).
  const canvas = canvasSize();
  hooks.prefetch = {};
  const shown = all.filter((i) => visible[i]);
  const levels = prefetchFirstView(
    loaded.data,
    (shown.length ? shown : [0]).map((c) => ({ c, z, t: 0 })),
    startCamera(camera, canvas.width, canvas.height) || fitCamera(info, canvas.width, canvas.height),
    canvas,
    hooks.prefetch,
  );
  const givenLimits = (i) => (fromView[i] || {}).contrastLimits || info.omeLimits[i];
  // Statistics only for the channels whose limits the view file (or OME-Zarr's omero)
  // does not give; the others get theirs after the first frame (see laterStats).
  const needed = info.rgb ? [] : all.filter((i) => !givenLimits(i));
  const computed = await channelStats({ data: levels }, needed, z, 0);
  const stats = all.map((i) => {
    if (info.rgb) return { limits: [0, 255], domain: [0, 255] };
    const k = needed.indexOf(i);
    return k >= 0 ? computed[k] : { limits: givenLimits(i), domain: sliderDomain(info.dtype, givenLimits(i)) };
  });
  const channels = all.map((i) => {
    const v = fromView[i] || {};
    const limits = givenLimits(i) || stats[i].limits;
    return {
      name: v.name || info.names[i],
      color: v.color || info.omeColors[i] || defaultColor(i, count),
      limits,
      domain: widenDomain(stats[i].domain, limits),
      visible: visible[i],
      gamma: v.gamma !== undefined ? v.gamma : 1,
    };
  });
  const later = info.rgb ? [] : all.filter((i) => givenLimits(i));
  const scene = { viewUrl: opened.viewUrl, labels: (view && view.labels) || [] };
  return { loaded: { ...loaded, data: levels }, info, channels, z, camera, later, scene };
}

/**
 * After the first frame: the statistics of the channels whose contrast limits
 * were given, for their slider ranges (as if computed before).
 */
function laterStats({ loaded, later, z }, setChannels) {
  if (later.length === 0) return;
  channelStats(loaded, later, z, 0).then(
    (computed) => setChannels((list) => list.map((c, i) => {
      const k = later.indexOf(i);
      return k < 0 ? c : { ...c, domain: widenDomain(computed[k].domain, c.limits) };
    })),
    // eslint-disable-next-line no-console
    (err) => console.warn('channel statistics after the first frame failed', err),
  );
}

function Slider({ label, min, max, step, value, onChange, id }) {
  return (
    <label className="slider" htmlFor={id}>
      <span className="slider-label">{label}</span>
      <input
        id={id}
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        onChange={(e) => onChange(Number(e.target.value))}
      />
      <span className="slider-value">{formatValue(value)}</span>
    </label>
  );
}

function formatValue(v) {
  if (Number.isInteger(v)) return String(v);
  return Number(v.toPrecision(4)).toString();
}

function ChannelRow({ index, channel, integer, onChange, slotted }) {
  const { domain, limits } = channel;
  const step = integer ? 1 : (domain[1] - domain[0]) / 1000 || 1e-6;
  return (
    <li className={`channel${channel.visible ? '' : ' off'}`} data-index={index}>
      <div className="channel-head">
        <input
          type="checkbox"
          checked={channel.visible}
          title={channel.visible ? 'Hide this channel' : 'Show this channel'}
          onChange={(e) => onChange(index, { visible: e.target.checked })}
          aria-label={`Show ${channel.name}`}
        />
        <input
          type="color"
          value={toHex(channel.color)}
          onChange={(e) => onChange(index, { color: fromHex(e.target.value) })}
          aria-label={`Colour of ${channel.name}`}
        />
        <span className="channel-name" title={channel.name}>{channel.name}</span>
        {!slotted && <span className="badge">not loaded</span>}
      </div>
      <Slider
        id={`lo-${index}`}
        label="min"
        min={domain[0]}
        max={domain[1]}
        step={step}
        value={limits[0]}
        onChange={(v) => onChange(index, { limits: [Math.min(v, limits[1]), limits[1]] })}
      />
      <Slider
        id={`hi-${index}`}
        label="max"
        min={domain[0]}
        max={domain[1]}
        step={step}
        value={limits[1]}
        onChange={(v) => onChange(index, { limits: [limits[0], Math.max(v, limits[0])] })}
      />
    </li>
  );
}

function ScaleBar({ physical, zoom }) {
  const bar = scaleBar(physical, zoom);
  if (!bar) return null;
  return (
    <div id="scalebar" className="scalebar">
      <div className="scalebar-line" style={{ width: `${bar.px.toFixed(1)}px` }} />
      <div className="scalebar-label">{bar.label}</div>
    </div>
  );
}

export default function App({ start }) {
  const [phase, setPhase] = useState('loading');
  const [error, setError] = useState(null);
  const [warnings, setWarnings] = useState([]);
  const [notice, setNotice] = useState(null);
  const [image, setImage] = useState(null); // {loaded, info, scene}
  const [channels, setChannels] = useState([]);
  const [z, setZ] = useState(0);
  const [t, setT] = useState(0);
  const [viewState, setViewState] = useState(null);
  const layerRef = useRef(null);
  const phaseRef = useRef('loading');
  const stateRef = useRef({});
  const afterFirstFrame = useRef(null);

  const fail = useCallback((message) => {
    if (phaseRef.current === 'error') return;
    phaseRef.current = 'error';
    setPhase('error');
    setError(message);
    hooks.error = message;
    hooks.ready = false;
    setStatus('error');
  }, []);

  useEffect(() => {
    const warn = (w) => setWarnings((list) => (list.includes(w) ? list : [...list, w]));
    prepare(warn, start).then(
      (p) => {
        const { width, height } = canvasSize();
        const cam = startCamera(p.camera, width, height) || fitCamera(p.info, width, height);
        const fit = fitCamera(p.info, width, height).zoom;
        setImage({ loaded: p.loaded, info: p.info, scene: p.scene });
        setChannels(p.channels);
        setZ(p.z);
        setViewState({
          target: [cam.center[0], cam.center[1], 0],
          zoom: cam.zoom,
          minZoom: Math.min(cam.zoom, fit - 3),
          maxZoom: Math.max(cam.zoom, 8),
        });
        hooks.channels = p.channels.map((c) => c.name);
        afterFirstFrame.current = () => laterStats(p, setChannels);
        document.title = `${p.info.name || p.info.fileName} – napari-viv viewer`;
      },
      (err) => {
        // eslint-disable-next-line no-console
        console.error(err);
        fail(err instanceof UserError ? err.message : `Unexpected error: ${err && err.message}`);
      },
    );
  }, [fail, start]);

  const changeChannel = useCallback((index, change) => {
    setChannels((list) => list.map((c, i) => (i === index ? { ...c, ...change } : c)));
    return true;
  }, []);
  const setVisible = useCallback((indices, visible) => {
    const chosen = new Set(indices);
    setChannels((list) => list.map((c, i) => (chosen.has(i) ? { ...c, visible } : c)));
  }, []);

  stateRef.current = { channels, z, t, viewState, image };

  // the scene: napari's labels (labels.js), points and shapes (overlays.js)
  const addWarning = useCallback((w) => setWarnings((list) => (list.includes(w) ? list : [...list, w])), []);
  const scene = image ? image.scene : NO_SCENE;
  const overlays = useOverlays(image, scene.viewUrl, z, t, addWarning);
  hooks.overlays = overlays.state;
  hooks.setOverlayVisible = overlays.setShown;
  const labels = useLabels(image, scene.labels, scene.viewUrl, z, t, addWarning);
  hooks.labels = labels.state;
  hooks.setLabelsVisible = labels.setShown;

  // Test and scripting hooks (see viewer/README.md).
  hooks.setChannelVisible = (i, visible) => {
    const chans = stateRef.current.channels;
    if (!Number.isInteger(i) || i < 0 || i >= chans.length) return false;
    return changeChannel(i, { visible: Boolean(visible) });
  };
  hooks.setAllVisible = (visible) => {
    setVisible(stateRef.current.channels.map((c, i) => i), Boolean(visible));
    return true;
  };
  hooks.state = () => {
    const s = stateRef.current;
    const info = s.image ? s.image.info : null;
    return {
      status: phaseRef.current,
      error: hooks.error,
      image: info && {
        name: info.name, fileName: info.fileName, width: info.width, height: info.height,
        sizeZ: info.sizeZ, sizeT: info.sizeT, levels: info.levels, tileSize: info.tileSize,
        dtype: info.dtype, rgb: info.rgb, physicalSizeX: info.physicalSizeX,
        usedOffsets: info.usedOffsets, usedViewFile: info.usedView, usedLinkView: info.usedLinkView,
      },
      maxChannels: MAX_CHANNELS,
      channels: s.channels.map((c, i) => ({
        name: c.name, color: c.color.slice(), contrast_limits: c.limits.slice(),
        visible: c.visible, gamma: c.gamma, loaded: c.visible,
      })),
      z: s.z,
      t: s.t,
      camera: s.viewState && { center: s.viewState.target.slice(0, 2), zoom: s.viewState.zoom },
      loaded: hooks.loaded,
      frames: hooks.frames,
    };
  };

  let layers = [];
  if (image && phase !== 'error') {
    const { loaded, info } = image;
    const common = {
      onTileError: (err) => {
        // eslint-disable-next-line no-console
        console.error(err);
        fail(`Part of the image could not be read: ${err && err.message ? err.message : err}`);
      },
    };
    layers = imageLayers({ loaded, info, channels, z, t, common });
  }
  layerRef.current = layers;
  const layer = layers[0] || null;

  const onAfterRender = useCallback(() => {
    const current = layerRef.current;
    if (!current.length) return;
    hooks.frames += 1;
    hooks.loaded = current.every((l) => Boolean(l.isLoaded));
    if (hooks.loaded && phaseRef.current === 'loading') {
      phaseRef.current = 'ready';
      hooks.ready = true;
      hooks.firstFrameMs = Math.round(performance.now());
      setPhase('ready');
      setStatus('ready');
      const then = afterFirstFrame.current;
      afterFirstFrame.current = null;
      if (then) then();
    }
  }, []);

  const info = image && image.info;
  const integer = info && !['Float32', 'Float64'].includes(info.dtype);

  return (
    <>
      <aside className="panel" style={{ width: `${PANEL_WIDTH}px` }}>
        <h1 className="title" title={info ? info.fileName : ''}>
          {info ? info.name || info.fileName : 'napari-viv viewer'}
        </h1>
        {info && (
          <p className="meta">
            {[
              `${info.width} × ${info.height} px`,
              info.physicalSizeX && `${formatValue(info.physicalSizeX.size)} ${info.physicalSizeX.unit}/px`,
              info.dtype.toLowerCase(),
              `${info.levels} level${info.levels > 1 ? 's' : ''}`,
            ].filter(Boolean).map((part) => part.replace(/ /g, '\u00a0')).join(' · ')}
          </p>
        )}
        {phase === 'loading' && !error && <p className="loading">Loading…</p>}
        {error && (
          <div id="error" className="error" role="alert">
            <strong>Cannot show this image.</strong>
            <p>{error}</p>
          </div>
        )}
        {warnings.map((w) => (
          <p key={w} className="warning">{w}</p>
        ))}
        {notice && <p id="notice" className="notice">{notice}</p>}
        {info && info.sizeZ > 1 && (
          <Slider id="z" label="Z" min={0} max={info.sizeZ - 1} step={1} value={z} onChange={setZ} />
        )}
        {info && info.sizeT > 1 && (
          <Slider id="t" label="T" min={0} max={info.sizeT - 1} step={1} value={t} onChange={setT} />
        )}
        {info && info.rgb && <p className="rgb-note">RGB image: shown in its own colours.</p>}
        {info && !info.rgb && (
          <>
            <ChannelsPanel
              channels={channels}
              onChange={changeChannel}
              onSetVisible={setVisible}
              Row={ChannelRow}
              rowProps={{ integer, slotted: true }}
            />
          </>
        )}
        {labels.panel}
        {overlays.panel}
        {info && <CopyLinkButton channels={channels} viewState={viewState} />}
        {info && <p className="help">Drag to pan, scroll to zoom.</p>}
        {info && (
          <p className="help travels">
            From napari this page shows the channels&apos; colours, limits and visibility, the camera,
            labels (filled or as contours, as sharp as the image at any zoom), points and shapes with
            their text (hover them for ids and properties). Not shown: gamma, blending other than
            additive, text rotation, and point symbols other than discs.
          </p>
        )}
      </aside>
      <main className="viewport" style={{ left: `${PANEL_WIDTH}px` }}>
        {layer && viewState && (
          <DeckGL
            views={[VIEW]}
            viewState={viewState}
            onViewStateChange={({ viewState: v }) => setViewState(v)}
            layers={[...layers, ...labels.layers, ...overlays.layers]}
            getTooltip={(pick) => labels.tooltip(pick) || overlays.tooltip(pick)}
            onAfterRender={onAfterRender}
            onError={(err) => fail(drawErrorMessage(err))}
            getCursor={({ isDragging }) => (isDragging ? 'grabbing' : 'grab')}
          />
        )}
        {info && viewState && <ScaleBar physical={info.physicalSizeX} zoom={viewState.zoom} />}
      </main>
    </>
  );
}
