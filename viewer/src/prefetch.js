// The first view's pixels, requested as soon as the image is open.
//
// deck.gl chooses the tiles of a view only once its WebGL context exists and
// the layer is drawn for the first time; in software WebGL that is hundreds of
// ms after the image is open. Here the same tiles are requested at once, by
// deck.gl's rule for a non-geospatial TileLayer (level ceil(zoom), clamped to
// the pyramid; the tiles that overlap the view, clipped to the image), with the
// lowest level's whole planes that Viv's background layer reads. Viv's layers
// then get these requests' answers instead of starting new ones: a tile's
// answer once (deck.gl keeps its tiles), a lowest-level plane's every time
// (the plane is small, and the channel statistics read it too).

const keyOf = (kind, level, x, y, s) => `${kind} ${level} ${x} ${y} ${s.c} ${s.z} ${s.t}`;

function imageSize(source) {
  const at = (label) => source.shape[source.labels.indexOf(label)];
  return { width: at('x'), height: at('y') };
}

/**
 * The tiles deck.gl's TileLayer will ask Viv for first, for `camera`
 * ({center, zoom} in level-0 pixels) on a canvas of `canvas` ({width, height}).
 */
export function firstViewTiles(levels, camera, canvas) {
  const { width, height } = imageSize(levels[0]);
  const z = Math.min(0, Math.max(-(levels.length - 1), Math.ceil(camera.zoom)));
  const level = -z;
  const span = levels[0].tileSize * 2 ** level; // level-0 pixels per tile
  const scale = 2 ** camera.zoom;
  const clip = (v, hi) => Math.min(Math.max(v, 0), hi);
  const x0 = clip(camera.center[0] - canvas.width / 2 / scale, width) / span;
  const x1 = clip(camera.center[0] + canvas.width / 2 / scale, width) / span;
  const y0 = clip(camera.center[1] - canvas.height / 2 / scale, height) / span;
  const y1 = clip(camera.center[1] + canvas.height / 2 / scale, height) / span;
  const tiles = [];
  for (let x = Math.floor(x0); x < x1; x++) {
    for (let y = Math.floor(y0); y < y1; y++) tiles.push({ x, y });
  }
  return { level, tiles };
}

/**
 * Start reading the first view of `levels` (Viv pixel sources, level 0 first)
 * for `selections`, and return the levels to give Viv's layers: the same
 * sources, whose getTile and getRaster answer from these reads first.
 * `counts` gets the number of tiles read ahead (`tiles`) and of the layer's
 * tile requests answered from them (`answered`) or not (`missed`).
 */
export function prefetchFirstView(levels, selections, camera, canvas, counts = {}) {
  const started = new Map();
  Object.assign(counts, { tiles: 0, answered: 0, missed: 0 });
  const start = (key, read) => {
    const promise = read();
    promise.catch(() => {}); // a failure is reported where the layer awaits it
    started.set(key, promise);
  };
  const last = levels.length - 1;
  for (const selection of selections) {
    start(keyOf('raster', last, 0, 0, selection), () => levels[last].getRaster({ selection }));
  }
  if (levels.length > 1) {
    const { level, tiles } = firstViewTiles(levels, camera, canvas);
    for (const { x, y } of tiles) {
      for (const selection of selections) {
        start(keyOf('tile', level, x, y, selection), () => levels[level].getTile({ x, y, selection }));
        counts.tiles += 1;
      }
    }
  }
  const take = (key) => {
    const promise = started.get(key);
    if (key.startsWith('tile')) {
      started.delete(key);
      counts[promise ? 'answered' : 'missed'] += 1;
    }
    return promise;
  };
  return levels.map((source, level) => {
    const wrapped = Object.create(source);
    wrapped.getTile = (args) =>
      take(keyOf('tile', level, args.x, args.y, args.selection)) || source.getTile(args);
    wrapped.getRaster = (args) =>
      take(keyOf('raster', level, 0, 0, args.selection)) || source.getRaster(args);
    return wrapped;
  });
}
