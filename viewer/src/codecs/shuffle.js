// Undoing Blosc's two filters on one block (Blosc 1.x, as c-blosc writes them).
//
// Byte shuffle stores byte j of every element together: first all the elements'
// byte 0, then all their byte 1, and so on; bytes past the last whole element
// stay where they are.
//
// Bit shuffle stores, for byte j and bit k of the elements, one row of bits:
// bit k of byte j of element i is bit (i % 8) of byte (i / 8) of row 8 * j + k.
// Only a multiple of 8 elements is shuffled so; the bytes after it are copied.

/** Undo the byte shuffle of `size` bytes of `typesize`-byte elements from `src` into `dst`. */
export function unshuffleBytes(typesize, size, src, dst) {
  const n = Math.floor(size / typesize);
  if (typesize === 2) {
    const hi = n;
    for (let i = 0, o = 0; i < n; i += 1, o += 2) {
      dst[o] = src[i];
      dst[o + 1] = src[hi + i];
    }
  } else {
    for (let j = 0; j < typesize; j += 1) {
      const row = j * n;
      for (let i = 0, o = j; i < n; i += 1, o += typesize) dst[o] = src[row + i];
    }
  }
  const whole = n * typesize;
  if (whole < size) dst.set(src.subarray(whole, size), whole);
}

/**
 * Undo the bit shuffle of `size` bytes of `typesize`-byte elements from `src` into `dst`.
 * `version` is the Blosc header's format version: version 2 chunks (c-blosc before 1.18
 * and numcodecs) bit-shuffle a block only when its element count is a multiple of 8;
 * later versions shuffle the largest multiple of 8 and copy the rest.
 */
export function unshuffleBits(typesize, size, src, dst, version) {
  const elements = Math.floor(size / typesize);
  let shuffled = elements - (elements % 8);
  if (version <= 2 && shuffled !== elements) shuffled = 0;
  const rowBytes = shuffled / 8;
  for (let j = 0; j < typesize; j += 1) {
    const rows = j * 8 * rowBytes;
    for (let b = 0; b < rowBytes; b += 1) {
      // Rows 8j..8j+7 at column b: an 8x8 bit matrix (row k, bit m = element 8b+m).
      // Transposed, byte m holds element 8b+m's byte j.
      const p = rows + b;
      let lo = src[p] | (src[p + rowBytes] << 8) | (src[p + 2 * rowBytes] << 16) | (src[p + 3 * rowBytes] << 24);
      let hi =
        src[p + 4 * rowBytes] | (src[p + 5 * rowBytes] << 8) | (src[p + 6 * rowBytes] << 16) | (src[p + 7 * rowBytes] << 24);
      let t = (lo ^ (lo >>> 7)) & 0x00aa00aa;
      lo = lo ^ t ^ (t << 7);
      t = (hi ^ (hi >>> 7)) & 0x00aa00aa;
      hi = hi ^ t ^ (t << 7);
      t = (lo ^ (lo >>> 14)) & 0x0000cccc;
      lo = lo ^ t ^ (t << 14);
      t = (hi ^ (hi >>> 14)) & 0x0000cccc;
      hi = hi ^ t ^ (t << 14);
      t = (lo & 0x0f0f0f0f) | ((hi & 0x0f0f0f0f) << 4);
      hi = (hi & 0xf0f0f0f0) | ((lo & 0xf0f0f0f0) >>> 4);
      lo = t;
      const o = 8 * b * typesize + j;
      dst[o] = lo;
      dst[o + typesize] = lo >>> 8;
      dst[o + 2 * typesize] = lo >>> 16;
      dst[o + 3 * typesize] = lo >>> 24;
      dst[o + 4 * typesize] = hi;
      dst[o + 5 * typesize] = hi >>> 8;
      dst[o + 6 * typesize] = hi >>> 16;
      dst[o + 7 * typesize] = hi >>> 24;
    }
  }
  const done = shuffled * typesize;
  if (done < size) dst.set(src.subarray(done, size), done);
}
