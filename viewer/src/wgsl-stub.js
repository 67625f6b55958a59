// luma.gl parses WGSL shaders only for WebGPU devices. This page always runs on
// WebGL2, so the build swaps the WGSL parser for this stub to keep the bundle small.
export class WgslReflect {
  constructor() {
    throw new Error('WGSL shader reflection is not part of this WebGL-only build');
  }
}
