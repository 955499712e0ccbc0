#!/usr/bin/env bash
# Install the pinned Claude Code CLI used by the functional tests, once, into a cache dir.
# Idempotent: returns at once when that exact version is already there. Prints the CLI path.
set -euo pipefail

VERSION="${CLAUDE_CODE_VERSION:-2.1.197}"
CACHE="${TASKPING_TEST_CACHE:-$HOME/.cache/taskping-tui-tests}"
PREFIX="$CACHE/claude-code-$VERSION"
CLI="$PREFIX/node_modules/.bin/claude"
PKG_JSON="$PREFIX/node_modules/@anthropic-ai/claude-code/package.json"

installed_version() {
    [ -f "$PKG_JSON" ] && node -p "require(process.argv[1]).version" "$PKG_JSON" 2>/dev/null || true
}

if [ -x "$CLI" ] && [ "$(installed_version)" = "$VERSION" ]; then
    echo "$CLI"
    exit 0
fi

command -v npm >/dev/null || { echo "npm is required to install Claude Code $VERSION" >&2; exit 1; }
mkdir -p "$PREFIX"
# --prefix keeps it out of the global node_modules; --save-exact pins the version in the cache's package.json.
npm install --prefix "$PREFIX" --save-exact --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$VERSION" >&2

if [ "$(installed_version)" != "$VERSION" ] || [ ! -x "$CLI" ]; then
    echo "Claude Code $VERSION did not install correctly under $PREFIX" >&2
    exit 1
fi
echo "$CLI"
