#!/bin/sh
# Builds the probe program of `redes audit --verify` (src/kernel/probe/redes-probe.c) into
# dist/redes-probe. Plain C against libc only; `npm run build` runs this after tsc.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/dist"
${CC:-cc} -O2 -Wall -Wextra -o "$root/dist/redes-probe.tmp" "$root/src/kernel/probe/redes-probe.c"
mv "$root/dist/redes-probe.tmp" "$root/dist/redes-probe"
