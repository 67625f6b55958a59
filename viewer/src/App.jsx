import { useCallback, useEffect, useRef, useState } from 'react';
import DeckGL from '@deck.gl/react';
import { OrthographicView } from '@deck.gl/core';
import { UserError, displayName, probeImage, fetchOptionalJson } from './sources.js';
import { pageSources } from './site.js';
import { viewFromFragment, mergeViews } from './share.js';
import { CopyLinkButton } from './CopyLink.jsx';
import { isZarrUrl, openZarrPage } from './zarr.js';
import { parseViewFile } from './viewfile.js';
import { startCamera } from './camera.js';
import { imageLayers } from './channel_layers.js';
import { ChannelsPanel } from './channels_panel.jsx';
import { useOverlays } from './overlays.js';
import { useLabels } from './labels.js';
import {
  MAX_CHANNELS, openImage, describe, channelStats, defaultColor, widenDomain,
} from './image.js';
import { scaleBar } from './scalebar.js';
import { setStatus, hooks } from './hooks.js';

const PANEL_WIDTH = 280;
const VIEW = new OrthographicView({ id: 'ortho', controller: true });

function hasWebGL2() {
  try {
    return Boolean(document.createElement('canvas').getContext('webgl2'));
  } catch {
    return false;
  }
}

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

/** The OME-TIFF named by the page, its offsets and its view file: { loaded, view, usedOffsets }. */
async function openTiffPage(side, warn) {
  const url = side.image;
  const [, offsetsJson, viewJson] = await Promise.all([
    probeImage(url.href),
    side.offsets ? fetchOptionalJson(side.offsets, 'offsets file', warn) : null,
    side.view ? fetchOptionalJson(side.view, 'view file', warn) : null,
  ]);
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
  const loaded = await openImage(url.href, offsets);
  return { loaded, view, usedOffsets: Boolean(offsets) };
}

/** Everything that has to be fetched and computed before the first frame. */
async function prepare(warn) {
  if (!hasWebGL2()) {
    throw new UserError(
      'This browser cannot show the image: WebGL2 is not available (it may be switched off, ' +
        'or the graphics driver is blocked).',
    );
  }
  const side = pageSources();
  const url = side.image;
  const opened = isZarrUrl(url) ? await openZarrPage(url, warn) : await openTiffPage(side, warn);
  const { loaded } = opened;
  const usedViewFile = Boolean(opened.view);
  const linked = viewFromFragment(window.location, warn);
  const view = mergeViews(opened.view, linked);
  const info = describe(loaded);
  info.fileName = displayName(url);
  info.usedOffsets = opened.usedOffsets;
  info.usedView = usedViewFile;
  info.usedLinkView = Boolean(linked);
  const z = Math.floor(info.sizeZ / 2);
  const count = info.names.length;
  const all = [...Array(count).keys()];
  const stats = info.rgb
    ? all.map(() => ({ limits: [0, 255], domain: [0, 255] }))
    : await channelStats(loaded, all, z, 0);
  const fromView = (!info.rgb && view && view.channels) || [];
  const channels = all.map((i) => {
    const v = fromView[i] || {};
    const limits = v.contrastLimits || info.omeLimits[i] || stats[i].limits;
    return {
      name: v.name || info.names[i],
      color: v.color || info.omeColors[i] || defaultColor(i, count),
      limits,
      domain: widenDomain(stats[i].domain, limits),
      visible: [v.visible, info.omeVisible[i], true].find((b) => b !== undefined),
      gamma: v.gamma !== undefined ? v.gamma : 1,
    };
  });
  // every visible channel is drawn: groups of up to MAX_CHANNELS (channel_layers.js)
  const camera = (view && view.camera) || null;
  return { loaded, info, channels, z, camera };
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

export default function App() {
  const [phase, setPhase] = useState('loading');
  const [error, setError] = useState(null);
  const [warnings, setWarnings] = useState([]);
  const [notice, setNotice] = useState(null);
  const [image, setImage] = useState(null); // {loaded, info}
  const [channels, setChannels] = useState([]);
  const [z, setZ] = useState(0);
  const [t, setT] = useState(0);
  const [viewState, setViewState] = useState(null);
  const layerRef = useRef(null);
  const phaseRef = useRef('loading');
  const stateRef = useRef({});

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
    prepare(warn).then(
      (p) => {
        const { width, height } = canvasSize();
        const cam = startCamera(p.camera, width, height) || fitCamera(p.info, width, height);
        const fit = fitCamera(p.info, width, height).zoom;
        setImage({ loaded: p.loaded, info: p.info });
        setChannels(p.channels);
        setZ(p.z);
        setViewState({
          target: [cam.center[0], cam.center[1], 0],
          zoom: cam.zoom,
          minZoom: Math.min(cam.zoom, fit - 3),
          maxZoom: Math.max(cam.zoom, 8),
        });
        hooks.channels = p.channels.map((c) => c.name);
        document.title = `${p.info.name || p.info.fileName} – napari-viv viewer`;
      },
      (err) => {
        // eslint-disable-next-line no-console
        console.error(err);
        fail(err instanceof UserError ? err.message : `Unexpected error: ${err && err.message}`);
      },
    );
  }, [fail]);

  const changeChannel = useCallback((index, change) => {
    setChannels((list) => list.map((c, i) => (i === index ? { ...c, ...change } : c)));
    return true;
  }, []);
  const setVisible = useCallback((indices, visible) => {
    const chosen = new Set(indices);
    setChannels((list) => list.map((c, i) => (chosen.has(i) ? { ...c, visible } : c)));
  }, []);

  stateRef.current = { channels, z, t, viewState, image };

  // the scene hook: napari's points and shapes (overlays.js)
  const addWarning = useCallback((w) => setWarnings((list) => (list.includes(w) ? list : [...list, w])), []);
  const viewUrl = image ? pageSources().view : null;
  const overlays = useOverlays(image, viewUrl, z, t, addWarning);
  hooks.overlays = overlays.state;
  hooks.setOverlayVisible = overlays.setShown;
  const labels = useLabels(image, viewUrl, z, addWarning);
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
            labels, points and shapes (hover them for ids and properties). Not shown: gamma, blending
            other than additive, label contours, and text drawn on the image (it is in the hover).
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
            onError={(err) => fail(`The image could not be drawn: ${err && err.message ? err.message : err}`)}
            getCursor={({ isDragging }) => (isDragging ? 'grabbing' : 'grab')}
          />
        )}
        {info && viewState && <ScaleBar physical={info.physicalSizeX} zoom={viewState.zoom} />}
      </main>
    </>
  );
}
