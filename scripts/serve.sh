#!/usr/bin/env bash
# serve.sh [PORT] — builds everything (scripts/prepare.sh) and serves the explorer on
# http://127.0.0.1:PORT/ (default 8000) until interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-${PORT:-8000}}"
bash scripts/prepare.sh
exec target/release/unembed serve www --port "$PORT"
