#!/bin/sh
# Build the bare Viv page (benchmarks/bare_viv/) from the VIEWER's own lockfile
# and node_modules, with the viewer's esbuild flags, into benchmarks/bare_viv/dist/
# (not committed; benchmarks/bench_viewer.py --vs-bare runs this first).
# Needs viewer/node_modules: viewer/build.sh (npm ci) installs it.
set -eu
cd "$(dirname "$0")"
modules=../../viewer/node_modules
out=${BARE_OUT:-dist}
mkdir -p "$out"
NODE_PATH=$modules "$modules/.bin/esbuild" main.jsx \
  --bundle --minify --format=iife --platform=browser --target=es2020 \
  --jsx=automatic --charset=utf8 --legal-comments=eof \
  --define:process.env.NODE_ENV='"production"' \
  --alias:wgsl_reflect=../../viewer/src/wgsl-stub.js \
  --log-level=warning \
  --outfile="$out/bare.js"
cp index.html "$out/index.html"
