#!/usr/bin/env bash
# bench.sh [REPS] — prints `name value` lines, all in one run on this machine:
#   the full-vocabulary product z = E·h (49152 × 576 Q8_0) natively (each kernel, exact and
#   fast precision), in wasm under Node and in headless Chromium, beside numpy's float32 E @ h
#   on the same matrix; E × 64 vectors (GMAC/s beside one vector's, native and wasm); the
#   spectrum (native: Gram on threads and on one, eigen; wasm on one thread; the page's Workers)
#   beside numpy's svd and Gram + eigh;
#   the forward pass and the logit lens natively (bench --forward) and in Chromium beside
#   llama.cpp's own wasm build (@wllama/wllama, bench/lens_chromium.mjs) on the same GGUF;
#   the review's hostile links (bench/links_chromium.mjs); with Gemma 3 270M prepared
#   (scripts/prepare.sh --with gemma), both models in one Chromium run (slider step, product,
#   the Compare view: bench/two_models_chromium.mjs; a real drag of a singular direction's
#   slider over its 262,144 tokens, and of ‖h‖ with a target: bench/drag_chromium.mjs) and the
#   page's spectrum of its 262,144 × 640 embedding (bench/spectrum_chromium.mjs).
# Not a test: timings depend on the machine. Compare ratios within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${1:-200}"
bash scripts/setup.sh test >&2
bash scripts/prepare.sh
SRC=$(bash scripts/fetch-model.sh)
MODEL=www/models/smollm2-135m.gguf
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
{
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
target/release/unembed bench "$MODEL" --reps "$REPS"
node bench/wasm_node.mjs "$MODEL" "$REPS"
node bench/wasm_chromium.mjs smollm2-135m.gguf "$REPS"
# numpy as it is installed (OPENBLAS_* left as the machine sets them; see bench/numpy_bench.py).
python3 bench/numpy_bench.py --model "$SRC" --reps "$REPS"
node bench/page_chromium.mjs "$REPS"
node bench/drag_chromium.mjs 3
target/release/unembed bench --forward "$SRC" --reps 3
node bench/lens_chromium.mjs "$SRC" 3
node bench/links_chromium.mjs
# with Gemma 3 270M prepared: both models in one Chromium run, and a 262,144 × 640
# embedding's whole spectrum in the page's Workers, as for a local file without one.
if [ -f www/models/gemma-3-270m.gguf ]; then
  node bench/two_models_chromium.mjs 240 "$REPS"
  node bench/drag_chromium.mjs 3 1920 1080 gemma-3-270m.gguf dir1
  node bench/drag_chromium.mjs 3 1920 1080 gemma-3-270m.gguf scale ' London'
  node bench/spectrum_chromium.mjs gemma-3-270m.gguf 3
else
  echo "# two_models, spectrum_chromium: skipped (run bash scripts/prepare.sh --with gemma first)"
fi
} | tee "$OUT"
# every figure beside its reference from this same run, and the ratio.
python3 bench/summary.py "$OUT"
