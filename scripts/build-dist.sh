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
# every module and stylesheet of www/ (a list by hand once left out a module the element
# imports), and embed.html; the full page (index.html, app.js) stays behind.
for f in www/*.js www/*.css www/embed.html; do
  [ "$f" = www/app.js ] || cp "$f" "$OUT/"
done
cp -r www/pkg "$OUT/pkg"
# every module a copied module imports or starts as a Worker is in the folder.
for ref in $(grep -ohE "(from '\./[^']+'|new URL\('[^']+\.js')" "$OUT"/*.js | grep -oE "[A-Za-z0-9_./-]+\.js" | sort -u); do
  [ -f "$OUT/${ref#./}" ] || { echo "build-dist: $ref is imported but not in $OUT" >&2; exit 1; }
done
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
