// zarrita codecs for Blosc, zstd and numcodecs' LZ4 that need no eval, put in the
// place of zarrita's defaults (numcodecs.js, built with Emscripten embind, which
// makes functions from strings: the page's Content-Security-Policy forbids that).
//
// zarrita looks a codec up by its Zarr v3 name or its Zarr v2 compressor id in its
// public `registry` (a Map from name to a function giving the codec class); the
// class's fromConfig(configuration) makes a codec whose decode(bytes) gives bytes.
// The same names serve v2 and v3 stores: "blosc", "zstd", "lz4".
//
// This module has no package imports: the caller hands in the registry of the
// zarrita that Viv's loadOmeZarr uses, and a zstd frame decoder, so the Node tests
// can wire the same code to their own copies.
import { decodeBlosc } from './blosc.js';
import { decodeNumcodecsLz4 } from './lz4.js';

/** A zarrita bytes-to-bytes codec class that decodes with `decode(bytes)` and refuses to encode. */
function decoderClass(name, decode) {
  return class {
    kind = 'bytes_to_bytes';

    static fromConfig() {
      return new this();
    }

    encode() {
      throw new Error(`this viewer only reads ${name} chunks`);
    }

    decode(bytes) {
      return decode(bytes);
    }
  };
}

/**
 * Register Blosc, zstd and LZ4 decoders into zarrita's `registry`.
 * `zstdDecompress(bytes)` decodes a whole zstd frame into a new Uint8Array (fzstd's decompress).
 */
export function registerCodecs(registry, zstdDecompress) {
  const zstdInto = (src, dst) => {
    const out = zstdDecompress(src);
    if (out.length !== dst.length) return out.length;
    dst.set(out);
    return out.length;
  };
  const BloscCodec = decoderClass('Blosc', (bytes) => decodeBlosc(bytes, zstdInto));
  const ZstdCodec = decoderClass('zstd', (bytes) => zstdDecompress(bytes));
  const Lz4Codec = decoderClass('LZ4', (bytes) => decodeNumcodecsLz4(bytes));
  registry.set('blosc', () => BloscCodec);
  registry.set('zstd', () => ZstdCodec);
  registry.set('lz4', () => Lz4Codec);
}
