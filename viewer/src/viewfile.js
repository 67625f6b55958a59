// The view file (<stem>.view.json), format version 1; see docs/view-file.md.
// parseViewFile returns a cleaned copy and a list of problems. Fields that are
// wrong are dropped one by one, so a single bad value does not discard the rest.

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

function cleanColor(c) {
  if (!Array.isArray(c) || c.length !== 3 || !c.every(isNum)) return undefined;
  return c.map((v) => Math.max(0, Math.min(255, Math.round(v))));
}

function cleanLimits(l) {
  if (!Array.isArray(l) || l.length !== 2 || !l.every(isNum) || !(l[0] <= l[1])) return undefined;
  return [l[0], l[1]];
}

/** One `labels` entry, cleaned: {file, offsets?, name, opacity, visible, contour, colors?}, or a problem. */
function cleanLabel(entry, i) {
  if (!entry || typeof entry !== 'object' || typeof entry.file !== 'string' || !entry.file) {
    return { problem: `labels[${i}] has no "file"` };
  }
  const out = {
    file: entry.file,
    name: typeof entry.name === 'string' && entry.name ? entry.name : entry.file,
    opacity: isNum(entry.opacity) ? Math.max(0, Math.min(1, entry.opacity)) : 0.7,
    visible: entry.visible !== false,
    contour: isNum(entry.contour) && entry.contour > 0 ? Math.round(entry.contour) : 0,
  };
  if (typeof entry.offsets === 'string' && entry.offsets) out.offsets = entry.offsets;
  if (entry.colors !== undefined) {
    if (!entry.colors || typeof entry.colors !== 'object' || Array.isArray(entry.colors)) {
      return { label: out, problem: `labels[${i}].colors is not an object of id: [r, g, b, a]` };
    }
    const colors = {};
    for (const [id, c] of Object.entries(entry.colors)) {
      if (Array.isArray(c) && (c.length === 3 || c.length === 4) && c.every(isNum)) colors[id] = c;
    }
    out.colors = colors;
  }
  return { label: out };
}

export function parseViewFile(json) {
  const problems = [];
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    return { view: null, problems: ['the view file is not a JSON object'] };
  }
  if (json.version !== 1) {
    return { view: null, problems: [`unsupported view file version ${JSON.stringify(json.version)} (expected 1)`] };
  }
  const view = { channels: [], camera: null, labels: [] };
  if (json.channels !== undefined) {
    if (!Array.isArray(json.channels)) {
      problems.push('"channels" is not a list');
    } else {
      json.channels.forEach((ch, i) => {
        const out = {};
        if (!ch || typeof ch !== 'object') {
          problems.push(`channels[${i}] is not an object`);
          view.channels.push(out);
          return;
        }
        if (ch.name !== undefined) {
          if (typeof ch.name === 'string') out.name = ch.name;
          else problems.push(`channels[${i}].name is not a string`);
        }
        if (ch.color !== undefined) {
          out.color = cleanColor(ch.color);
          if (!out.color) problems.push(`channels[${i}].color is not [r, g, b]`);
        }
        if (ch.contrast_limits !== undefined) {
          out.contrastLimits = cleanLimits(ch.contrast_limits);
          if (!out.contrastLimits) problems.push(`channels[${i}].contrast_limits is not [lo, hi] with lo <= hi`);
        }
        if (ch.visible !== undefined) {
          if (typeof ch.visible === 'boolean') out.visible = ch.visible;
          else problems.push(`channels[${i}].visible is not true/false`);
        }
        if (ch.gamma !== undefined) {
          if (isNum(ch.gamma) && ch.gamma > 0) out.gamma = ch.gamma;
          else problems.push(`channels[${i}].gamma is not a positive number`);
        }
        for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
        view.channels.push(out);
      });
    }
  }
  if (json.labels !== undefined) {
    if (!Array.isArray(json.labels)) problems.push('"labels" is not a list');
    else {
      json.labels.forEach((entry, i) => {
        const { label, problem } = cleanLabel(entry, i);
        if (label) view.labels.push(label);
        if (problem) problems.push(problem);
      });
    }
  }
  if (json.camera !== undefined && json.camera !== null) {
    const cam = json.camera;
    const pair = (v) => Array.isArray(v) && v.length === 2 && v.every(isNum);
    const extent = cam && pair(cam.extent) && cam.extent.every((v) => v > 0) ? cam.extent : null;
    if (cam && typeof cam === 'object' && pair(cam.center) && (extent || isNum(cam.zoom))) {
      view.camera = { center: [cam.center[0], cam.center[1]] };
      if (extent) view.camera.extent = [extent[0], extent[1]];
      if (isNum(cam.zoom)) view.camera.zoom = cam.zoom;
    } else {
      problems.push('"camera" needs "center": [x, y] and "extent": [w, h] or "zoom": number');
    }
  }
  return { view, problems };
}
