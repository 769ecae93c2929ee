#!/usr/bin/env bash
# Installs the Debian packages redes needs (as root), then the npm dependencies, then builds.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# One line per feature, so that each says why its packages are here.
pkgs=(runc nftables busybox-static iproute2 util-linux attr gcc libc6-dev make g++ python3 procps iperf3 tmux)
pkgs+=(bridge-utils tcpdump openssl)                 # the course's tools (brctl), captures in docs and tests
pkgs+=(etcd-server wireguard-go wireguard-tools)     # overlay: the cluster store, encryption without kernel WireGuard (wg configures both)
pkgs+=(docker-registry mmdebstrap apache2-utils zstd) # images: the sandbox registry, Debian-built images, htpasswd for registry tests, native zstd layers
pkgs+=(docker-compose python3-docker)                # clients proven against redesd in tests
pkgs+=(chromium)                                     # the topology web view's browser test
pkgs+=(apparmor tini)                                # confinement: profile compile check; docker run --init
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "redes: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "redes: Node.js 20 or later is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# The netns-socket addon (scripts/build-addon.sh) compiles against Node's node_api.h. Node from
# nodesource or the official tarball ships it; Debian's own nodejs needs libnode-dev (N-API is
# ABI-stable, so those headers serve any newer Node too).
node_inc="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node"
if [ ! -f "$node_inc/node_api.h" ] && [ ! -f /usr/include/node/node_api.h ]; then
  echo "redes: installing Node's headers (libnode-dev) for the netns-socket addon" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends libnode-dev >&2
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "redes: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
echo "redes: building" >&2
npm run --silent build >&2
