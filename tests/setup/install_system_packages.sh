#!/usr/bin/env bash
# Debian packages the test suite drives for real: tmux (the reference terminal), vim, less and git
# (fidelity tests), Node.js/npm (to install the pinned Claude Code), openssl (test certificates).
# Idempotent and quick when present.
set -euo pipefail

missing=()
for pair in tmux:tmux vim:vim less:less git:git node:nodejs npm:npm openssl:openssl; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing Debian packages: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
