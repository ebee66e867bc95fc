#!/usr/bin/env bash
# prepare.sh [--with gemma] — everything the page needs, idempotently: the release CLI, the wasm
# build in www/pkg, the default model fetched (scripts/fetch-model.sh) and converted into
# www/models/ with its models.json manifest, and the whole model file beside it (hard-linked,
# else copied; never committed) for the logit lens, recorded as the entry's `full`. With
# --with gemma, also the optional second model, Gemma 3 270M (Gemma Terms of Use; a 253 MB
# download once, scripts/fetch-gemma.sh), converted beside it with its licence and the link to
# its terms in the manifest. Once Gemma is served (www/models/gemma-3-270m.gguf exists), later
# runs without the flag keep serving it, so a rebuilt manifest still lists it (scripts that call
# prepare.sh bare, like build-dist.sh, used to drop it from the manifest whenever the CLI had
# been rebuilt); delete that file to stop serving Gemma. Prints nothing on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "prepare: $*" >&2; }

with_gemma=0
while [ $# -gt 0 ]; do
  case "$1" in
    --with) [ "${2:-}" = gemma ] || { echo "prepare: --with takes 'gemma'" >&2; exit 2; }; with_gemma=1; shift 2 ;;
    --with=gemma) with_gemma=1; shift ;;
    *) echo "prepare: unknown argument $1 (usage: prepare.sh [--with gemma])" >&2; exit 2 ;;
  esac
done
[ -f www/models/gemma-3-270m.gguf ] && with_gemma=1

cargo build --release --bin unembed >&2
bash scripts/build-wasm.sh www/pkg

# convert SRC OUT NAME [convert flags…]: again when the converter is newer than the served file
# (the format may have changed) or the manifest has no entry for it.
convert() {
  local src="$1" out="$2" name="$3"
  shift 3
  if [ ! -f "$out" ] || [ ! -f www/models/models.json ] || [ target/release/unembed -nt "$out" ] \
     || ! grep -q "\"file\": \"$(basename "$out")\"" www/models/models.json; then
    log "converting $src -> $out"
    target/release/unembed convert "$src" -o "$out" --name "$name" "$@" \
      --manifest www/models/models.json >&2
  else
    log "up to date: $out"
  fi
}

SRC=$(bash scripts/fetch-model.sh)
mkdir -p www/models
FULL="www/models/$(basename "$SRC")"
# the whole model, as fetched: a hard link costs no space (a copy when the cache is on another
# file system). cmp keeps a stale copy from being served after the cache changed.
if [ ! -f "$FULL" ] || ! cmp -s "$SRC" "$FULL"; then
  log "placing the whole model at $FULL"
  rm -f "$FULL"
  ln "$SRC" "$FULL" 2>/dev/null || cp "$SRC" "$FULL"
fi
# the default model first: a manifest rebuilt from nothing lists it first (the page's default);
# rebuilt too when it does not record the whole model yet, or the whole model changed.
if [ ! -f www/models/smollm2-135m.gguf ] || [ target/release/unembed -nt www/models/smollm2-135m.gguf ] \
   || [ ! -f www/models/models.json ] || ! grep -q '"full"' www/models/models.json \
   || [ "$FULL" -nt www/models/models.json ]; then
  rm -f www/models/models.json
fi
convert "$SRC" www/models/smollm2-135m.gguf "SmolLM2-135M-Instruct" --full "$FULL"

if [ "$with_gemma" = 1 ]; then
  GEMMA=$(bash scripts/fetch-gemma.sh)
  # the whole model beside it too (hard-linked), for the logit lens and the Compare view's
  # lenses; a manifest entry without it is made again.
  GFULL="www/models/$(basename "$GEMMA")"
  if [ ! -f "$GFULL" ] || ! cmp -s "$GEMMA" "$GFULL"; then
    log "placing the whole model at $GFULL"
    rm -f "$GFULL"
    ln "$GEMMA" "$GFULL" 2>/dev/null || cp "$GEMMA" "$GFULL"
  fi
  if ! grep -q "\"file\": \"$(basename "$GFULL")\"" www/models/models.json; then
    rm -f www/models/gemma-3-270m.gguf
  fi
  # the GGUF says general.license = gemma; the terms it refers to are the Gemma Terms of Use
  # (the page the model card names), which the manifest links.
  convert "$GEMMA" www/models/gemma-3-270m.gguf "Gemma 3 270M" \
    --license gemma --license-link https://ai.google.dev/gemma/terms --full "$GFULL"
fi
