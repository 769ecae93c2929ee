#!/bin/sh
# Builds the nftables helper of the daemon (src/kernel/nft-helper/redes-nft.c) into dist/redes-nft.
# Plain C against libc; libnftables is opened at run time (dlopen). `npm run build` runs this.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/dist"
${CC:-cc} -O2 -Wall -Wextra -o "$root/dist/redes-nft.tmp" "$root/src/kernel/nft-helper/redes-nft.c" -ldl
mv "$root/dist/redes-nft.tmp" "$root/dist/redes-nft"
