#!/bin/sh
# Build the viewer page into src/napari_viv/serve/viewer_dist/ from the lockfile.
# Same sources and lockfile -> same bytes (esbuild writes no timestamps).
# Usage: viewer/build.sh            (npm ci, then bundle)
#        viewer/build.sh --no-install (bundle with the node_modules already there)
# VIEWER_OUT=/some/dir viewer/build.sh writes there instead (a relative path is
# taken from viewer/), e.g. to compare a rebuild with the committed bundle.
set -eu
cd "$(dirname "$0")"
out=${VIEWER_OUT:-../src/napari_viv/serve/viewer_dist}
if [ "${1:-}" != "--no-install" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p "$out"
./node_modules/.bin/esbuild src/main.jsx \
  --bundle --minify --format=iife --platform=browser --target=es2020 \
  --jsx=automatic --charset=utf8 --legal-comments=eof \
  --define:process.env.NODE_ENV='"production"' \
  --alias:wgsl_reflect=./src/wgsl-stub.js \
  --alias:numcodecs/blosc=./src/codecs/numcodecs-stub.js \
  --alias:numcodecs/zstd=./src/codecs/numcodecs-stub.js \
  --alias:numcodecs/lz4=./src/codecs/numcodecs-stub.js \
  --log-level=warning \
  --outfile="$out/viewer.js"
cp index.html "$out/index.html"
cp viewer.css "$out/viewer.css"
