#!/usr/bin/env bash
# prepare.sh — everything the page needs, idempotently: the release CLI, the wasm build in
# www/pkg, the default model fetched (scripts/fetch-model.sh) and converted into
# www/models/ with its models.json manifest, and the whole model file beside it (hard-linked,
# else copied; never committed) for the logit lens, recorded as the entry's `full`.
# Prints nothing on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "prepare: $*" >&2; }

cargo build --release --bin unembed >&2
bash scripts/build-wasm.sh www/pkg

SRC=$(bash scripts/fetch-model.sh)
mkdir -p www/models
OUT=www/models/smollm2-135m.gguf
FULL="www/models/$(basename "$SRC")"
# the whole model, as fetched: a hard link costs no space (a copy when the cache is on another
# file system). cmp keeps a stale copy from being served after the cache changed.
if [ ! -f "$FULL" ] || ! cmp -s "$SRC" "$FULL"; then
  log "placing the whole model at $FULL"
  rm -f "$FULL"
  ln "$SRC" "$FULL" 2>/dev/null || cp "$SRC" "$FULL"
fi
# convert again when the converter is newer than the served file (the format may have changed)
# or the manifest does not record the whole model yet.
if [ ! -f "$OUT" ] || [ ! -f www/models/models.json ] || [ target/release/unembed -nt "$OUT" ] \
   || ! grep -q '"full"' www/models/models.json || [ "$FULL" -nt www/models/models.json ]; then
  log "converting $SRC -> $OUT"
  rm -f www/models/models.json
  target/release/unembed convert "$SRC" -o "$OUT" --name "SmolLM2-135M-Instruct" \
    --manifest www/models/models.json --full "$FULL" >&2
else
  log "up to date: $OUT"
fi
