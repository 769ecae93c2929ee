#!/bin/sh
# Builds the N-API addons native/netns-socket.c (with netlink.c and nft.c) and native/netlink-neigh.c
# into dist/<name>.node.
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
for name in netns-socket netlink-neigh; do
  extra=""
  [ "$name" = netns-socket ] && extra="$root/native/netlink.c $root/native/nft.c"
  # shellcheck disable=SC2086 # $extra is a list of paths without spaces
  ${CC:-cc} -O2 -Wall -Wextra -fPIC -shared -I"$inc" -o "$root/dist/$name.node.tmp" "$root/native/$name.c" $extra
  mv "$root/dist/$name.node.tmp" "$root/dist/$name.node"
done
