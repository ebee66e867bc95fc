#!/usr/bin/env bash
# test.sh — every test tier, as CI runs it (.ci/run calls this). Installs what it needs first
# (scripts/setup.sh test), then:
#   1. cargo fmt --check; clippy -D warnings, native and wasm32
#   2. block formats: fixtures from gguf-py (tests/quant/make_fixtures.py), checked bit for bit
#      by tests/quant.rs; then native unit/property tests and CLI integration tests (cargo test)
#   3. wasm tier: simd128 kernels and the façade under wasm-bindgen-test-runner (Node)
#   4. oracle: Python gguf + numpy against `unembed query`, the wasm build's query and the page's
#      View on the real model; block-quantized embeddings (Q4_K, Q5_0, Q6_K) against gguf-py;
#      `unembed tokenize` against llama.cpp itself (llama-cpp-python, scripts/setup-llama.sh) on
#      the generated test strings, both special modes, every id; `unembed lens` (the forward
#      pass) against llama.cpp's logits and greedy continuations on tests/oracle/prompts.json,
#      as llama.cpp computes (activations quantized); exact mode against a float64 numpy forward
#   4b. Gemma 3 270M, the optional second model (scripts/fetch-gemma.sh: 253 MB once, cached):
#      its SentencePiece tokenizer against llama.cpp (the test strings and Gemma's own special
#      texts), the numpy + gguf oracle on its served embedding (top-10 by dot and by cosine,
#      the 640 singular values), and its forward pass against llama.cpp's logits (tolerance,
#      top-10, greedy), also with an 8-position sliding window so the local layers mask; the
#      references are made by llama-cpp-python here and kept in target/ until an input changes;
#      the e2e tier chooses it in the page (tests/e2e/gemma.test.mjs); then
#      `unembed compare` of the two served files against numpy + gguf (effective rank, norms,
#      anisotropy, Spearman's ρ of logit and cosine, both top-10s)
#   5. hostile files: the generated corpus (tests/hostile) through the CLI, for distinct errors
#      and bounded memory; then `unembed serve` against hostile clients (tests/server)
#   6. end-to-end: the served page, the Prompt panel (logit lens), the custom element,
#      embed.html, the example course built with MkDocs Material, and the README's snippets
#      in sites built with Docusaurus 3 and Jupyter Book 1.x (scripts/build-sites.sh, light
#      and dark, 1366 and 390 px, no hydration error, the iframe's height); the corpus, hostile
#      tokens, edge numbers, bad prompts, a misbehaving server and a soak in the page; all in
#      Debian's headless Chromium (playwright-core)
# Stops at the first failing tier with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*" >&2; }

step "setup"
bash scripts/setup.sh test

step "format and lints"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown --lib --tests -- -D warnings

step "block formats: every ggml format we read, bit for bit against gguf-py's dequantize"
python3 tests/quant/make_fixtures.py target/quant-fixtures
UNEMBED_QUANT_FIXTURES=target/quant-fixtures cargo test --release --test quant -- --ignored --nocapture

step "native tests"
cargo test --release

step "wasm tests (wasm-bindgen-test-runner in Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --target wasm32-unknown-unknown --test wasm

step "build the page and the served models (SmolLM2-135M, and Gemma 3 270M: the tests cover it)"
bash scripts/prepare.sh --with gemma
SRC=$(bash scripts/fetch-model.sh)
GEMMA=$(bash scripts/fetch-gemma.sh)

# stale OUT DEP…: whether OUT is missing or older than a DEP (a reference llama.cpp made is
# kept until its model, its inputs or the scripts that made it change).
stale() {
  local out="$1"
  shift
  [ -f "$out" ] || return 0
  for dep in "$@"; do
    [ "$dep" -nt "$out" ] && return 0
  done
  return 1
}

step "oracle: numpy + gguf vs the CLI and the wasm build (served file)"
python3 tests/oracle/oracle.py --model "$SRC" --served www/models/smollm2-135m.gguf \
  --cli target/release/unembed --wasm
step "oracle: the CLI on the original file (spectrum computed, not read)"
python3 tests/oracle/oracle.py --model "$SRC" --cli target/release/unembed
step "oracle: Q4_K, Q5_0 and Q6_K embeddings vs gguf-py + numpy (files kept for the page test)"
python3 tests/oracle/quant_embedding.py --cli target/release/unembed --out target/quant-models
step "tokenizer: unembed tokenize vs llama.cpp (llama-cpp-python) on the test strings, special off and on"
bash scripts/setup-llama.sh
python3 tests/tokenizer/strings.py --out target/tokenizer/strings.json
python3 tests/oracle/llama_ref.py tokenize --model "$SRC" --strings target/tokenizer/strings.json \
  --out target/tokenizer/llama.json
python3 tests/tokenizer/check.py --cli target/release/unembed --model "$SRC" --ref target/tokenizer/llama.json
step "forward pass: unembed lens vs llama.cpp (whole-vocabulary logits, top-10, greedy continuations)"
python3 tests/oracle/llama_ref.py forward --model "$SRC" --prompts tests/oracle/prompts.json \
  --out target/forward/llama.json
python3 tests/oracle/forward_check.py --model "$SRC" --ref target/forward/llama.json \
  --cli target/release/unembed
# exact mode (activations in f32) is held to an independent float64 numpy forward, not to llama.cpp,
# whose activations are Q8_1-quantized (the two differ by up to ~1.8 in a logit)
python3 tests/oracle/numpy_forward.py --model "$SRC" --ref target/forward/llama.json \
  --cli target/release/unembed

step "Gemma 3 270M: SentencePiece vs llama.cpp on the test strings and Gemma's special-token texts"
python3 tests/tokenizer/strings.py --gemma --out target/tokenizer-gemma/strings.json
python3 tests/oracle/llama_ref.py tokenize --model "$GEMMA" --strings target/tokenizer-gemma/strings.json \
  --out target/tokenizer-gemma/llama.json
python3 tests/tokenizer/check.py --cli target/release/unembed --model "$GEMMA" --ref target/tokenizer-gemma/llama.json

step "Gemma 3 270M: numpy + gguf vs the CLI on the served embedding (dot, cosine, spectrum)"
# 100 random ids (+5 fixed) and 20 random h, both temperatures: each float64 product over
# 262,144 × 640 costs seconds here, so the SmolLM2 run's 200 and 50 would take a quarter hour;
# the reference spectrum from EᵀE + eigvalsh alone (numpy's SVD of E takes minutes; the two
# agree within 1e-12 relative on this matrix).
python3 tests/oracle/oracle.py --model "$GEMMA" --served www/models/gemma-3-270m.gguf --cli target/release/unembed \
  --ids 100 --random-h 20 --gram-spectrum

step "Gemma 3 270M: the forward pass vs llama.cpp (logits, top-10, greedy)"
# the tolerance on every logit, derived as SmolLM2's 1.6 was: llama.cpp's own spread between
# settings that are the same mathematics (`llama_ref.py spread` on this model and these
# prompts, max |Δz| at the last position: token by token 1.46, flash attention 1.68, an f32 KV
# cache 1.91; medians over positions 0.93-1.09), the largest with a little room. Ours, measured
# the same way: worst 1.20, median 0.96; a one-token prompt is llama.cpp's bit for bit.
GEMMA_TOL=2.0
FWD=target/forward-gemma
mkdir -p "$FWD"
if stale "$FWD/llama.json" "$GEMMA" tests/oracle/prompts-gemma.json tests/oracle/llama_ref.py; then
  python3 tests/oracle/llama_ref.py forward --model "$GEMMA" --prompts tests/oracle/prompts-gemma.json \
    --out "$FWD/llama.json" --greedy 16
fi
python3 tests/oracle/forward_check.py --model "$GEMMA" --ref "$FWD/llama.json" --cli target/release/unembed \
  --tol "$GEMMA_TOL"
step "Gemma 3 270M with an 8-position sliding window: local layers mask as llama.cpp's"
# its own tolerance, derived the same way on this model and these prompts: with every local
# layer seeing 8 positions the model is far from what it was trained for and llama.cpp's own
# logits move much more between equivalent settings (max |Δz| at the last position: token by
# token 1.08 / 0.93 / 4.29, f32 KV cache 1.37 / 1.41 / 5.50, flash attention 2.11 / 1.05 / 5.14;
# ours 1.22 / 0.78 / 5.00).
# 6.0 still fails a pass that does not mask: the real model's logits on the same prompts,
# unmasked as these are masked, differ from this model's by 7.86 / 9.39 / 16.67.
WINDOW_TOL=6.0
if stale "$FWD/window8.gguf" "$GEMMA" tests/oracle/set_metadata.py; then
  python3 tests/oracle/set_metadata.py "$GEMMA" "$FWD/window8.gguf" gemma3.attention.sliding_window 8
fi
if stale "$FWD/window8.json" "$FWD/window8.gguf" tests/oracle/prompts-gemma-window.json tests/oracle/llama_ref.py; then
  python3 tests/oracle/llama_ref.py forward --model "$FWD/window8.gguf" \
    --prompts tests/oracle/prompts-gemma-window.json --out "$FWD/window8.json" --greedy 8
fi
python3 tests/oracle/forward_check.py --model "$FWD/window8.gguf" --ref "$FWD/window8.json" \
  --cli target/release/unembed --tol "$WINDOW_TOL"

step "compare: SmolLM2 and Gemma 3 side by side (unembed compare) vs numpy + gguf"
python3 tests/oracle/compare_check.py --cli target/release/unembed --token " Paris" \
  www/models/smollm2-135m.gguf www/models/gemma-3-270m.gguf

step "hostile files: every corpus case through the CLI (distinct errors, bounded memory)"
python3 tests/hostile/make_corpus.py target/hostile
python3 tests/hostile/check.py --cli target/release/unembed --dir target/hostile

step "the server: smuggling, timeouts, limits, ranges, conditionals, traversal, headers"
python3 tests/server/check_server.py --bin target/release/unembed

step "the example course (MkDocs Material)"
UNEMBED_SITE_URL=http://127.0.0.1:47831/ bash scripts/build-course.sh target/course-site

step "the README's snippets in Docusaurus 3 and Jupyter Book 1.x (generators pinned, cached)"
bash scripts/build-sites.sh target/sites

step "end-to-end in headless Chromium (page, lens, element, iframe, course, guest sites, hostile inputs, network, soak)"
HOSTILE_DIR=target/hostile COURSE_SITE=target/course-site COURSE_PORT=47831 SITES=target/sites node --test tests/e2e/

echo "test.sh: every tier passed" >&2
