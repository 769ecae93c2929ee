#!/bin/sh
# Builds the N-API addon native/netns-socket.c (with netlink.c, nft.c and mounts.c) into dist/netns-socket.node.
# Plain C against libc and Node's own headers (node_api.h); no node-gyp, no network. The N-API
# symbols are resolved by the node binary when the addon is loaded. `npm run build` runs this.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
node_bin=$(readlink -f "$(command -v node)")
inc=""
for d in "$(dirname "$(dirname "$node_bin")")/include/node" /usr/include/node /usr/local/include/node "$HOME/.cache/node-gyp/$(node -p process.versions.node)/include/node"; do
  if [ -f "$d/node_api.h" ]; then inc=$d; break; fi
done
if [ -z "$inc" ]; then
  echo "build-addon: node_api.h not found (install Node's headers, e.g. the libnode-dev package)" >&2
  exit 1
fi
mkdir -p "$root/dist"
${CC:-cc} -O2 -Wall -Wextra -fPIC -shared -I"$inc" -o "$root/dist/netns-socket.node.tmp" "$root/native/netns-socket.c" "$root/native/netlink.c" "$root/native/nft.c" "$root/native/mounts.c"
mv "$root/dist/netns-socket.node.tmp" "$root/dist/netns-socket.node"
