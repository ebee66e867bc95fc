#!/usr/bin/env bash
# serve.sh [--with gemma] [PORT] — builds everything (scripts/prepare.sh) and serves the explorer
# on http://127.0.0.1:PORT/ (default 8000) until interrupted. --with gemma also prepares the
# optional Gemma 3 270M (Gemma Terms of Use; a 253 MB download once): without it the first run
# stays small (SmolLM2-135M only).
set -euo pipefail
cd "$(dirname "$0")/.."
prep=()
PORT="${PORT:-8000}"
while [ $# -gt 0 ]; do
  case "$1" in
    --with) prep+=(--with "${2:-}"); shift 2 ;;
    --with=*) prep+=("$1"); shift ;;
    *) PORT="$1"; shift ;;
  esac
done
bash scripts/prepare.sh "${prep[@]}"
exec target/release/unembed serve www --port "$PORT"
