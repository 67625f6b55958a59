// A scale bar length that is a round number (1, 2 or 5 times a power of ten)
// in a readable unit.

const METRES = { pm: 1e-12, Å: 1e-10, nm: 1e-9, µm: 1e-6, mm: 1e-3, cm: 1e-2, m: 1 };
const LADDER = ['pm', 'nm', 'µm', 'mm', 'm'];

function niceBelow(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [5, 2, 1]) if (step * power <= value) return step * power;
  return power;
}

function formatNumber(v) {
  return Number(v.toPrecision(3)).toString();
}

/**
 * physical: {size, unit} of one level-0 pixel; zoom: deck.gl zoom (log2 of
 * screen pixels per image pixel); targetPx: the longest bar wanted.
 * Returns {px, label} or null when the image has no physical size.
 */
export function scaleBar(physical, zoom, targetPx = 120) {
  if (!physical || !(physical.size > 0)) return null;
  const perScreenPx = physical.size / 2 ** zoom; // in physical.unit
  const maxLength = perScreenPx * targetPx;
  const factor = METRES[physical.unit];
  if (factor === undefined) {
    const length = niceBelow(maxLength);
    return { px: length / perScreenPx, label: `${formatNumber(length)} ${physical.unit}` };
  }
  const metres = maxLength * factor;
  let unit = LADDER[0];
  for (const u of LADDER) if (metres >= METRES[u]) unit = u;
  const lengthInUnit = niceBelow(metres / METRES[unit]);
  const px = (lengthInUnit * METRES[unit]) / factor / perScreenPx;
  return { px, label: `${formatNumber(lengthInUnit)} ${unit}` };
}
