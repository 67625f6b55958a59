// An LZ4 block decoder (the raw block format, no frame): what Blosc's lz4 and
// lz4hc streams and numcodecs' LZ4 codec hold. Sequences of a token (literal
// length in the high nibble, match length - 4 in the low one, 15 meaning "more
// bytes follow, each added, until one is not 255"), the literals, then a 2-byte
// little-endian offset back into the output. The last sequence has literals only.

function extendedLength(src, pos, base) {
  let length = base;
  let pos2 = pos;
  if (base === 15) {
    let b;
    do {
      b = src[pos2];
      pos2 += 1;
      length += b;
    } while (b === 255 && pos2 < src.length);
  }
  return [length, pos2];
}

/**
 * Decode one LZ4 block `src` into `dst` (a Uint8Array of exactly the decoded size).
 * Returns the number of bytes written; throws on data that points outside `dst` or `src`.
 */
export function decodeLz4Block(src, dst) {
  let ip = 0;
  let op = 0;
  const end = src.length;
  while (ip < end) {
    const token = src[ip];
    ip += 1;
    let literals;
    [literals, ip] = extendedLength(src, ip, token >>> 4);
    if (ip + literals > end || op + literals > dst.length) throw new Error('lz4: literals run past the block');
    dst.set(src.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip >= end) break;
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    let match;
    [match, ip] = extendedLength(src, ip, token & 15);
    match += 4;
    let from = op - offset;
    if (offset === 0 || from < 0 || op + match > dst.length) throw new Error('lz4: a match points outside the block');
    if (offset >= match) {
      dst.copyWithin(op, from, from + match);
      op += match;
    } else {
      // Overlapping copy: the match repeats bytes it is itself writing.
      const stop = op + match;
      while (op < stop) {
        dst[op] = dst[from];
        op += 1;
        from += 1;
      }
    }
  }
  return op;
}

/** numcodecs' LZ4 chunk: a 4-byte little-endian decoded size, then one LZ4 block. */
export function decodeNumcodecsLz4(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint8Array(view.getUint32(0, true));
  const n = decodeLz4Block(bytes.subarray(4), out);
  if (n !== out.length) throw new Error(`lz4: decoded ${n} bytes, the header says ${out.length}`);
  return out;
}
