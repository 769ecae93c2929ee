#!/bin/sh
# Builds the per-container shim (src/runtime/shim/redes-shim.c) into dist/redes-shim.
# Plain C against libc only; `npm run build` runs this after tsc.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/dist"
${CC:-cc} -O2 -Wall -Wextra -o "$root/dist/redes-shim.tmp" "$root/src/runtime/shim/redes-shim.c"
mv "$root/dist/redes-shim.tmp" "$root/dist/redes-shim"
