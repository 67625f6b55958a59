// Every visible channel drawn at once, whatever their number.
// Viv 0.21 draws at most MAX_CHANNELS channels in one layer (a shader limit), so
// the visible channels are split into groups of up to MAX_CHANNELS, one Viv layer
// each. The layers are composited additively (src + dst, as Viv adds the channels
// inside one layer), so 40 channels look as they would in one layer. With one
// group the layer is exactly the single layer drawn before (no blending change).
import { MultiscaleImageLayer, ImageLayer, MAX_CHANNELS } from '@hms-dbmi/viv';

const ADDITIVE = {
  blend: true,
  blendColorOperation: 'add',
  blendColorSrcFactor: 'one',
  blendColorDstFactor: 'one',
  blendAlphaOperation: 'add',
  blendAlphaSrcFactor: 'one',
  blendAlphaDstFactor: 'one',
  depthWriteEnabled: false,
  depthCompare: 'always',
};

/** The visible channels' indices in groups of up to MAX_CHANNELS (at least one group). */
export function channelGroups(channels) {
  const shown = channels.map((c, i) => (c.visible ? i : -1)).filter((i) => i >= 0);
  if (shown.length === 0) return [[]];
  const groups = [];
  for (let i = 0; i < shown.length; i += MAX_CHANNELS) groups.push(shown.slice(i, i + MAX_CHANNELS));
  return groups;
}

// The same selections give the same array: Viv refetches every tile when the
// `selections` prop changes identity, so a new array on each render would read the
// whole view again (and discard the tiles read ahead, prefetch.js).
const selectionsCache = new Map();
function selectionsFor(members, z, t) {
  const key = `${members.join(',')}|${z}|${t}`;
  let selections = selectionsCache.get(key);
  if (!selections) {
    if (selectionsCache.size > 64) selectionsCache.clear();
    selections = members.map((c) => ({ c, z, t }));
    selectionsCache.set(key, selections);
  }
  return selections;
}

/** One Viv layer per group of visible channels; `common` holds the props they share. */
export function imageLayers({ loaded, info, channels, z, t, common }) {
  const groups = channelGroups(channels);
  const several = groups.length > 1;
  return groups.map((group, g) => {
    // a group with no visible channel still needs one (switched-off) channel
    const members = group.length ? group : [0];
    const props = {
      ...common,
      id: several ? `image-${g}` : 'image',
      selections: selectionsFor(members, z, t),
      colors: members.map((c) => channels[c].color),
      contrastLimits: members.map((c) => channels[c].limits),
      channelsVisible: members.map(() => group.length > 0),
    };
    if (several) {
      // no low-resolution background and no overlapping tiles: each would be added twice
      Object.assign(props, { parameters: ADDITIVE, excludeBackground: true, refinementStrategy: 'no-overlap' });
    }
    return info.levels > 1
      ? new MultiscaleImageLayer({ ...props, loader: loaded.data })
      : new ImageLayer({ ...props, loader: loaded.data[0] });
  });
}
