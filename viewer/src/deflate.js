// Deflate tiles (TIFF Compression 8 and 32946) decoded by the browser's own
// zlib (DecompressionStream) instead of geotiff's JavaScript inflate (pako):
// decoding the first view's tiles is the largest piece of main-thread work
// before the first frame. Registered through geotiff's public addDecoder, as
// Viv registers its LZW decoder. The predictor is still applied by geotiff's
// BaseDecoder. Data the browser refuses (trailing bytes after the zlib
// stream, say) is decoded by geotiff's own decoder instead.
import { addDecoder, getDecoder, BaseDecoder } from 'geotiff';

const DEFLATE = [8, 32946];

async function inflateNatively(buffer) {
  const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Response(stream).arrayBuffer();
}

/** Use the browser's zlib for Deflate tiles, where it has DecompressionStream. */
export function useNativeDeflate() {
  if (typeof DecompressionStream === 'undefined') return;
  // geotiff's own decoder, taken before ours replaces it in the registry.
  const fallback = getDecoder({ Compression: DEFLATE[0] });
  fallback.catch(() => {});
  class NativeDeflateDecoder extends BaseDecoder {
    async decodeBlock(buffer) {
      try {
        return await inflateNatively(buffer);
      } catch {
        return (await fallback).decodeBlock(buffer);
      }
    }
  }
  addDecoder(DEFLATE, () => NativeDeflateDecoder);
}
