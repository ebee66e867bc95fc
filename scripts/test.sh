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
#   5. hostile files: the generated corpus (tests/hostile) through the CLI, for distinct errors
#      and bounded memory; then `unembed serve` against hostile clients (tests/server)
#   6. end-to-end: the served page, the Prompt panel (logit lens), the custom element,
#      embed.html and the example course built with MkDocs Material; the corpus, hostile
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

step "build the page and the served model"
bash scripts/prepare.sh
SRC=$(bash scripts/fetch-model.sh)

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

step "hostile files: every corpus case through the CLI (distinct errors, bounded memory)"
python3 tests/hostile/make_corpus.py target/hostile
python3 tests/hostile/check.py --cli target/release/unembed --dir target/hostile

step "the server: smuggling, timeouts, limits, ranges, conditionals, traversal, headers"
python3 tests/server/check_server.py --bin target/release/unembed

step "the example course (MkDocs Material)"
UNEMBED_SITE_URL=http://127.0.0.1:47831/ bash scripts/build-course.sh target/course-site

step "end-to-end in headless Chromium (page, lens, element, iframe, course, hostile inputs, network, soak)"
HOSTILE_DIR=target/hostile COURSE_SITE=target/course-site COURSE_PORT=47831 node --test tests/e2e/

echo "test.sh: every tier passed" >&2
