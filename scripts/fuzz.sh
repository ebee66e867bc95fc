#!/usr/bin/env bash
# runs the cargo-fuzz targets (fuzz/fuzz_targets: gguf, safetensors, query, tokenize, forward), each for
# SECONDS (default 600), seeded from the hostile corpus and the tokenizer's test strings, and
# prints executions and crashes per target. UNEMBED_FUZZ_GGUF=model.gguf makes the tokenize
# target also check that model's tokenizer (round trip, ids in range).
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz (installed here
# if missing). crashes land in fuzz/artifacts/<target>/; copy each into fuzz/regressions/<target>/
# once fixed, where make_corpus.py turns it into a corpus case that check.py runs on every test.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gguf safetensors query tokenize forward)

rustup toolchain list | grep -q '^nightly' || { echo "error: the nightly toolchain is needed: rustup toolchain install nightly" >&2; exit 1; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# seeds: the corpus cases (and a few queries, the tokenizer's test strings), in each target's
# input layout.
python3 tests/hostile/make_corpus.py target/hostile >/dev/null
python3 tests/tokenizer/strings.py --out target/tokenizer/strings.json >/dev/null
python3 - <<'EOF'
import json, os, struct
src = "target/hostile"
cases = json.load(open(os.path.join(src, "cases.json")))
for t in ("gguf", "safetensors", "query", "tokenize", "forward"):
    os.makedirs("fuzz/corpus/%s" % t, exist_ok=True)
for i, c in enumerate(cases):
    data = open(os.path.join(src, c["file"]), "rb").read()
    if len(data) > 64 << 10:
        continue  # seeds stay small; the fuzzer's -max_len is 64 KiB
    if c["file"].endswith(".gguf"):
        open("fuzz/corpus/gguf/seed-%s" % c["name"], "wb").write(data)
        # forward: odd first byte, the rest a whole model file.
        open("fuzz/corpus/forward/seed-%s" % c["name"], "wb").write(b"\x01" + data)
    else:
        tok = open(os.path.join(src, c["tokenizer"]), "rb").read() if c["tokenizer"] else b""
        kind = 0 if (c["tokenizer"] or "").endswith("tokenizer.json") else 1
        open("fuzz/corpus/safetensors/seed-%s" % c["name"], "wb").write(bytes([kind]) + struct.pack("<I", len(tok)) + tok + data)
queries = [
    {"token": " king"}, {"id": 3, "temperature": 0}, {"expr": "king - man + woman", "top": 5},
    {"expr": "2*king - 0.5 * \" queen\" + #7", "cosine": True}, {"token": " man", "mix_with": " woman", "mix": 0.5},
    {"id": 1, "scale": 1e30, "noise": 0.1, "seed": 9}, {"h": [0.0] * 64, "target": " king"},
    {"id": 5, "temperature": 1e6, "target": "#5"}, {"token": "<img src=x>", "top": 300},
]
for i, q in enumerate(queries):
    open("fuzz/corpus/query/seed-%d.json" % i, "wb").write(b"\0" + json.dumps(q).encode())
drags = [
    [{"base": " king"}, {"base": " king", "scale": 2.5}, {"base": " king", "mix_with": " queen", "mix": 0.4}],
    [{"base": "#5", "coeffs": [1.0, -2.0, 0.5]}, {"base": "#5", "target": " queen", "steps": 3, "lr": 0.5}],
    [{"base": "0 * king", "temperature": 0, "target": "#5"}, {"base": " man", "noise": 0.2, "seed": 4, "top": 300}],
]
# forward: even first byte, then token ids (u16 little-endian) for the tiny llama.
for i, ids in enumerate([[3, 17, 5, 5, 39], [1, 2, 3], list(range(40)), [0] * 20]):
    open("fuzz/corpus/forward/ids-%d" % i, "wb").write(bytes([2 * (i % 2)]) + struct.pack("<%dH" % len(ids), *ids))
for i, d in enumerate(drags):
    open("fuzz/corpus/query/drag-%d.json" % i, "wb").write(b"\1" + json.dumps(d).encode())
# tokenize: each test string under one of the four special modes; and hostile vocabularies
# (text 0xFF tokens 0xFF merges 0xFF types 0xFF bos eos flags)
strings = json.load(open("target/tokenizer/strings.json", encoding="utf-8"))
for i, s in enumerate(strings):
    b = s.encode("utf-8")
    if len(b) <= 4096:
        open("fuzz/corpus/tokenize/seed-%d" % i, "wb").write(bytes([i % 4]) + b)
vocabs = [
    (b"the  cat 12", b"t\nh\ne\nth\nthe\n\xc4\xa0\n<|x|>", b"t h\nth e\n\xc4\xa0 t\nnospace\nt", b"\1\1\1\1\1\1\3", b"\6\0\1"),
    (b"<|x|>ab<u>", b"a\nb\nab\n<u>\n<|x|>\n<0x0A>", b"a b\na b\nb a", b"\1\1\1\4\3\6", b"\0\0\3"),
]
for i, parts in enumerate(vocabs):
    for mode in (4, 7, 12, 15):
        open("fuzz/corpus/tokenize/vocab-%d-%d" % (i, mode), "wb").write(bytes([mode]) + b"\xff".join(parts))
EOF

cd fuzz
cargo +nightly fuzz build -O 2>&1 | grep -E "^(error|warning)" -A6 || true
summary=()
for t in "${TARGETS[@]}"; do
  log="artifacts/$t.log"
  mkdir -p "artifacts/$t"
  echo "== fuzzing $t for ${SECONDS_EACH}s (log: fuzz/$log)"
  set +e
  cargo +nightly fuzz run -O "$t" -- -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  crashes=$(find "artifacts/$t" -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  summary+=("$t: $execs executions, $crashes crashes/ooms/timeouts, $cov, exit $rc")
done
echo
printf '%s\n' "${summary[@]}"
