// A decoder for Blosc 1.x chunks (what c-blosc, numcodecs' Blosc and imagecodecs
// write), without eval: numcodecs.js's own Blosc decoder is built with Emscripten
// embind, which makes functions from strings, and the page's security policy
// forbids that.
//
// A chunk is a 16-byte header, then either the bytes themselves ("memcpyed"), or
// one 4-byte start offset per block followed by the blocks. A block is one stream,
// or (when split) one stream per byte of an element; each stream is its 4-byte
// compressed size and the compressed bytes, or the raw bytes when that size is the
// stream's decoded size. The last block may be shorter (and is never split). The
// streams decoded, the block's filter (byte or bit shuffle) is undone.
import { decodeLz4Block } from './lz4.js';
import { unshuffleBits, unshuffleBytes } from './shuffle.js';

const HEADER = 16;
const BYTE_SHUFFLE = 0x01;
const MEMCPYED = 0x02;
const BIT_SHUFFLE = 0x04;
const DONT_SPLIT = 0x10;
/** Compressor codes in the flags' top 3 bits. */
const COMPRESSORS = ['blosclz', 'lz4', 'snappy', 'zlib', 'zstd'];

/** The header of a Blosc chunk as an object; throws when `bytes` is not one. */
export function bloscHeader(bytes) {
  if (bytes.length < HEADER) throw new Error(`blosc: a chunk of ${bytes.length} bytes is shorter than the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = bytes[2];
  const header = {
    version: bytes[0],
    flags,
    typesize: bytes[3],
    nbytes: view.getUint32(4, true),
    blocksize: view.getUint32(8, true),
    cbytes: view.getUint32(12, true),
    compressor: COMPRESSORS[flags >>> 5] || `code ${flags >>> 5}`,
  };
  if ((flags & (BYTE_SHUFFLE | BIT_SHUFFLE)) === (BYTE_SHUFFLE | BIT_SHUFFLE)) {
    // Both shuffles at once is how Blosc2 marks its extended header: another format.
    throw new Error('this viewer cannot decode Blosc2 chunks (it decodes Blosc 1.x, what numcodecs writes)');
  }
  if (header.cbytes > bytes.length) {
    throw new Error(`blosc: the header says ${header.cbytes} bytes, the chunk has ${bytes.length}`);
  }
  return header;
}

async function inflate(src) {
  const stream = new Blob([src]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * A function (src, dst) => Promise<bytes written> for one stream of this compressor.
 * `zstd(src, dst)` decodes a zstd frame into dst and returns the bytes it wrote.
 */
function streamDecoder(compressor, zstd) {
  switch (compressor) {
    case 'lz4':
      return async (src, dst) => decodeLz4Block(src, dst);
    case 'zstd':
      return async (src, dst) => zstd(src, dst);
    case 'zlib':
      return async (src, dst) => {
        const out = await inflate(src);
        dst.set(out.subarray(0, dst.length));
        return out.length;
      };
    default:
      throw new Error(
        `this viewer cannot decode Blosc chunks compressed with ${compressor} ` +
          '(it decodes Blosc with zstd, lz4, lz4hc and zlib)',
      );
  }
}

async function decodeStreams(bytes, start, dst, nsplits, decode) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const part = dst.length / nsplits;
  let pos = start;
  for (let j = 0; j < nsplits; j += 1) {
    const size = view.getInt32(pos, true);
    pos += 4;
    if (size < 0 || pos + size > bytes.length) throw new Error('blosc: a stream runs past the chunk');
    const src = bytes.subarray(pos, pos + size);
    const target = dst.subarray(j * part, (j + 1) * part);
    if (size === part) {
      target.set(src);
    } else {
      const n = await decode(src, target);
      if (n !== part) throw new Error(`blosc: a stream decoded to ${n} bytes instead of ${part}`);
    }
    pos += size;
  }
}

/**
 * Decode a Blosc 1.x chunk into a new Uint8Array of its decoded size.
 * `zstd(src, dst)` decodes one zstd frame into `dst` and returns the bytes it wrote.
 */
export async function decodeBlosc(bytes, zstd) {
  const h = bloscHeader(bytes);
  const out = new Uint8Array(h.nbytes);
  if (h.flags & MEMCPYED) {
    if (HEADER + h.nbytes > bytes.length) throw new Error('blosc: the copied bytes run past the chunk');
    out.set(bytes.subarray(HEADER, HEADER + h.nbytes));
    return out;
  }
  if (h.nbytes === 0) return out;
  const decode = streamDecoder(h.compressor, zstd);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nblocks = Math.ceil(h.nbytes / h.blocksize);
  const byteShuffle = (h.flags & BYTE_SHUFFLE) !== 0 && h.typesize > 1;
  const bitShuffle = (h.flags & BIT_SHUFFLE) !== 0;
  const tmp = byteShuffle || bitShuffle ? new Uint8Array(h.blocksize) : null;
  for (let i = 0; i < nblocks; i += 1) {
    const offset = i * h.blocksize;
    const size = Math.min(h.blocksize, h.nbytes - offset);
    const leftover = size < h.blocksize;
    const nsplits = !(h.flags & DONT_SPLIT) && !leftover ? h.typesize : 1;
    const block = out.subarray(offset, offset + size);
    const unfiltered = byteShuffle || (bitShuffle && size >= h.typesize);
    const target = unfiltered ? tmp.subarray(0, size) : block;
    await decodeStreams(bytes, view.getInt32(HEADER + 4 * i, true), target, nsplits, decode);
    if (!unfiltered) continue;
    if (byteShuffle) unshuffleBytes(h.typesize, size, target, block);
    else unshuffleBits(h.typesize, size, target, block, h.version);
  }
  return out;
}
