// Stands in for numcodecs.js's blosc, zstd and lz4 modules in the bundle (build.sh
// aliases them here). zarrita's default registry imports them lazily, but the page
// puts its own decoders (src/codecs/zarr_codecs.js) in their place before any store
// is opened, so the Emscripten builds (1.4 MB, and refused by the page's
// Content-Security-Policy anyway) are never needed.
export default class NumcodecsStub {
  static fromConfig() {
    throw new Error('numcodecs.js is not bundled: the page registers its own Blosc, zstd and LZ4 decoders');
  }
}
