#!/usr/bin/env bash
# build-dist.sh [OUT] — one self-contained folder to copy into any static site (default
# dist/unembed): the ES modules, the wasm, the CSS, and models/ with the served model, the
# whole model file the Prompt panel (logit lens) downloads, and their manifest. Also
# dist/pkg: the wasm-bindgen `--target web` package (unembed.js, .wasm, .d.ts TypeScript
# types, package.json) for bundlers and TypeScript users.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-dist/unembed}"
bash scripts/prepare.sh
rm -rf "$OUT" dist/pkg
mkdir -p "$OUT/models" dist/pkg
cp www/explorer.js www/combobox.js www/unembed-explorer.js www/unembed-frame.js www/loader.js www/i18n.js www/embed.html www/embed.js \
   www/lens.js www/lens-worker.js www/theme.js \
   www/spectrum.js www/spectrum-worker.js www/replay.js www/replay-worker.js www/style.css www/page.css "$OUT/"
cp -r www/pkg "$OUT/pkg"
cp www/models/models.json "$OUT/models/"
# the model files are hard-linked where the file system allows (98 MB + 32 MB), else copied.
for f in www/models/*.gguf; do ln "$f" "$OUT/models/" 2>/dev/null || cp "$f" "$OUT/models/"; done
cp www/pkg/unembed.js www/pkg/unembed_bg.wasm www/pkg/unembed.d.ts www/pkg/unembed_bg.wasm.d.ts dist/pkg/
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cat > dist/pkg/package.json <<JSON
{
  "name": "unembed",
  "version": "$version",
  "description": "The unembedding step of a language model, explorable: logits, softmax, norm vs angle, spectrum, gradient (WebAssembly).",
  "type": "module",
  "main": "unembed.js",
  "types": "unembed.d.ts",
  "files": ["unembed.js", "unembed_bg.wasm", "unembed.d.ts", "unembed_bg.wasm.d.ts"],
  "license": "MIT OR Apache-2.0"
}
JSON
echo "dist: $(du -sh "$OUT" | cut -f1) in $OUT ($(ls "$OUT" | wc -l) entries), package in dist/pkg" >&2
