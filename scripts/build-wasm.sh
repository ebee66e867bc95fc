#!/usr/bin/env bash
# build-wasm.sh [OUT_DIR] — the wasm build: cargo (simd128, see .cargo/config.toml) →
# wasm-bindgen --target web → wasm-opt (when installed). Output: OUT_DIR/unembed.js,
# unembed_bg.wasm, unembed.d.ts (default OUT_DIR: www/pkg). Same settings as
# [package.metadata.wasm-pack] in Cargo.toml, so `wasm-pack build --target web` is equivalent.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-www/pkg}"
bash scripts/setup.sh wasm >&2
cargo build --release --target wasm32-unknown-unknown --lib >&2
mkdir -p "$OUT"
wasm-bindgen --target web --out-dir "$OUT" --out-name unembed \
  target/wasm32-unknown-unknown/release/unembed.wasm
# binaryen from npm (version pinned in package.json): Debian's wasm-opt 108 mangles the
# externref table that wasm-bindgen 0.2.129 emits (Table.grow fails at start-up).
WASM_OPT=node_modules/.bin/wasm-opt
if [ -x "$WASM_OPT" ]; then
  "$WASM_OPT" -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$OUT/unembed_bg.wasm" -o "$OUT/unembed_bg.opt.wasm"
  mv "$OUT/unembed_bg.opt.wasm" "$OUT/unembed_bg.wasm"
else
  echo "build-wasm: $WASM_OPT missing (run scripts/setup.sh wasm): wasm left unoptimised" >&2
fi
echo "wasm: $(wc -c < "$OUT/unembed_bg.wasm") bytes in $OUT/unembed_bg.wasm" >&2
