#!/usr/bin/env bash
# prepare.sh — everything the page needs, idempotently: the release CLI, the wasm build in
# www/pkg, the default model fetched (scripts/fetch-model.sh) and converted into
# www/models/ with its models.json manifest. Prints nothing on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "prepare: $*" >&2; }

cargo build --release --bin unembed >&2
bash scripts/build-wasm.sh www/pkg

SRC=$(bash scripts/fetch-model.sh)
mkdir -p www/models
OUT=www/models/smollm2-135m.gguf
# convert again when the converter is newer than the served file (the format may have changed).
if [ ! -f "$OUT" ] || [ ! -f www/models/models.json ] || [ target/release/unembed -nt "$OUT" ]; then
  log "converting $SRC -> $OUT"
  rm -f www/models/models.json
  target/release/unembed convert "$SRC" -o "$OUT" --name "SmolLM2-135M-Instruct" \
    --manifest www/models/models.json >&2
else
  log "up to date: $OUT"
fi
