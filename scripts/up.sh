#!/usr/bin/env bash
# Quickstart: installs what is missing, builds, and starts a sandboxed engine named "redes".
# Prints one line, `export DOCKER_HOST=...`, so that `eval "$(sudo scripts/up.sh)"` points docker at it.
set -euo pipefail
# `eval "$(scripts/up.sh)"` ignores this script's exit status: on a failure, print a command that
# fails, so that the eval (and a `&&` after it) fails too instead of going on with no DOCKER_HOST.
trap 'echo "false"' ERR
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The docker CLI plugin (`docker redes audit`, `docker redes topology`): a link, so a rebuild updates it.
mkdir -p "$HOME/.docker/cli-plugins"
ln -sfn "$PWD/bin/docker-redes" "$HOME/.docker/cli-plugins/docker-redes"
exec bin/redes sandbox up "$@"
