#!/usr/bin/env bash
# setup.sh [wasm|test|all] — installs what the build and tests need, idempotently:
#   wasm: the wasm32 target, wasm-bindgen-cli pinned to Cargo.lock's wasm-bindgen, binaryen;
#   test: + Debian chromium and python3-venv, npm playwright-core, Python numpy + gguf
#         (tests/oracle/requirements.txt).
# Each step checks first and does nothing when the tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
log() { echo "setup: $*" >&2; }

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

wasm_tools() {
  if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown >&2
  fi
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
  if ! wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then
    log "cargo install --locked wasm-bindgen-cli --version $want (a few minutes, once)"
    cargo install --locked wasm-bindgen-cli --version "$want" >&2
  fi
  npm_tools
}

npm_tools() {
  if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] \
    || [ ! -d node_modules/@wllama/wllama ] || [ ! -d node_modules/katex ] || [ ! -d node_modules/axe-core ]; then
    log "npm ci (binaryen, playwright-core, axe-core for the accessibility checks, @wllama/wllama for the lens benchmark, katex for the course's formulas; no browser download: tests use /usr/bin/chromium)"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2
  fi
}

test_tools() {
  # python3-venv: scripts/build-sites.sh keeps jupyter-book 1.x in a venv of its own
  apt_install chromium python3-venv
  if ! python3 -c 'import numpy, gguf' 2>/dev/null; then
    log "pip install -r tests/oracle/requirements.txt"
    python3 -m pip install -q -r tests/oracle/requirements.txt >&2
  fi
  if ! python3 -c 'import mkdocs, material' 2>/dev/null; then
    log "pip install -r docs/course/requirements.txt (MkDocs Material for the example course)"
    python3 -m pip install -q -r docs/course/requirements.txt >&2
  fi
}

case "$what" in
  wasm) wasm_tools ;;
  test) wasm_tools; test_tools ;;
  all) wasm_tools; test_tools ;;
  *) echo "usage: setup.sh [wasm|test|all]" >&2; exit 2 ;;
esac
