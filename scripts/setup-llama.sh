#!/usr/bin/env bash
# setup-llama.sh — makes `python3 -c "import llama_cpp"` work, idempotently: installs the PyPI
# package llama-cpp-python (pinned below; llama.cpp's own Python bindings) that the forward-pass
# and tokenizer references (tests/oracle/llama_ref.py) run on.
#
# The package ships only a source distribution, so it is compiled once (CPU only, no CUDA/Metal;
# llama.cpp's default GGML_NATIVE=ON, i.e. for this machine's instruction set) into a wheel cached
# in $UNEMBED_CACHE/wheels (default ~/.cache/unembed/wheels); every later run, or a reinstall,
# installs that wheel and never compiles again. The build takes several minutes on 2 cores and
# uses CMAKE_BUILD_PARALLEL_LEVEL=nproc; cmake, ninja and scikit-build-core come from the package
# registry as build dependencies, the C/C++ compiler is the system's (gcc/g++, installed if missing).
#
# Because the wheel is native, a stamp next to it records a hash of the CPU's feature flags; on a
# machine with other flags the wheel is rebuilt instead of installed (it could crash with SIGILL).
# Logs go to stderr; nothing is printed on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG="llama-cpp-python"
VERSION="0.3.36"  # the newest on the registry when this was written; builds on Debian 12 / gcc 12
CACHE="${UNEMBED_CACHE:-$HOME/.cache/unembed}"
WHEELS="$CACHE/wheels"
WHEEL_GLOB="llama_cpp_python-${VERSION}-*.whl"
STAMP="$WHEELS/llama_cpp_python-${VERSION}.cpu"

log() { echo "setup-llama: $*" >&2; }
die() { echo "setup-llama: error: $*" >&2; exit 1; }

installed_version() {
  python3 -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null || true
}

cpu_flags_hash() {
  # the instruction-set extensions this machine has (first "flags" line of /proc/cpuinfo)
  { grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m; } | sha256sum | cut -c1-16
}

find_wheel() {
  # prints the cached wheel for VERSION, if one was built on a machine with the same CPU flags
  local w
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(cpu_flags_hash)" ] || return 0
  for w in "$WHEELS"/$WHEEL_GLOB; do
    [ -f "$w" ] && { echo "$w"; return 0; }
  done
}

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

if [ "$(installed_version)" = "$VERSION" ]; then
  log "llama-cpp-python $VERSION already installed"
  exit 0
fi

wheel=$(find_wheel)
if [ -z "$wheel" ]; then
  command -v cc >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1 || apt_install gcc g++
  mkdir -p "$WHEELS"
  rm -f "$WHEELS"/$WHEEL_GLOB "$STAMP"
  jobs=$(nproc)
  log "building $PKG==$VERSION from source into $WHEELS (CPU only, $jobs jobs; several minutes, once)"
  start=$(date +%s)
  # CMAKE_ARGS: CPU backend only, no tests/examples/server in the wheel. GGML_NATIVE stays at its
  # default (ON): the library uses this CPU's SIMD kernels, as a developer's own build would.
  CMAKE_BUILD_PARALLEL_LEVEL="$jobs" \
  CMAKE_ARGS="-DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_OPENCL=OFF -DGGML_BLAS=OFF \
-DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF" \
    python3 -m pip wheel --no-deps --no-binary "$PKG" "$PKG==$VERSION" -w "$WHEELS" >&2 \
    || die "building $PKG==$VERSION failed (see the compiler output above)"
  cpu_flags_hash > "$STAMP"
  wheel=$(find_wheel)
  [ -n "$wheel" ] || die "pip finished but no $WHEEL_GLOB in $WHEELS"
  log "built $(basename "$wheel") in $(( $(date +%s) - start )) s"
fi

log "pip install $wheel (and its dependencies: numpy, jinja2, diskcache, typing-extensions)"
python3 -m pip install -q --root-user-action=ignore "$wheel" >&2 || die "pip install $wheel failed"
got=$(installed_version)
[ "$got" = "$VERSION" ] || die "after install, import llama_cpp gives version '${got:-none}', expected $VERSION"
log "llama-cpp-python $VERSION installed"
