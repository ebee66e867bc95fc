#!/usr/bin/env bash
# build-sites.sh [OUT] — course sites built by real generators from the README's snippets, as
# a course author would copy them, for tests/e2e/sites.test.mjs (default OUT target/sites):
#   OUT/docusaurus   Docusaurus 3 (classic preset; npm, pinned by tests/sites/docusaurus/
#                    package-lock.json): the element on two pages, the MDX iframe, prose only
#   OUT/jupyterbook  Jupyter Book 1.x (Sphinx; PyPI, pinned below): the element through
#                    html_extra_path, a second page, prose only
#   OUT/mkdocs       MkDocs Material (pinned by docs/course/requirements.txt): the same three
# Each generator is installed once under $UNEMBED_CACHE (default ~/.cache/unembed), keyed by
# its pinned version. The widget folder is dist/unembed (scripts/build-dist.sh); the model
# files are hard-linked into each built site after the generator ran (they would otherwise be
# copied twice, 130 MB or more each).
# Jupyter Book 2.x (mystmd) is not built: its HTML build downloads its site theme from outside
# the package registries, which this machine and CI cannot reach (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(realpath -m "${1:-target/sites}")"
CACHE="${UNEMBED_CACHE:-$HOME/.cache/unembed}"
JUPYTER_BOOK=1.0.4.post1
log() { printf 'build-sites: %s\n' "$*" >&2; }

bash scripts/build-dist.sh dist/unembed >&2
rm -rf "$OUT"
mkdir -p "$OUT"

# the widget folder without its model files (linked in after each build)
widget() {
  rm -rf "$1"
  mkdir -p "$(dirname "$1")"
  cp -al dist/unembed "$1" 2>/dev/null || cp -r dist/unembed "$1"
  rm -f "$1"/models/*.gguf
}
models() {
  for f in dist/unembed/models/*.gguf; do ln -f "$f" "$1/models/" 2>/dev/null || cp "$f" "$1/models/"; done
}

# --- Docusaurus 3
lock=$(sha256sum tests/sites/docusaurus/package-lock.json | cut -c1-16)
work="$CACHE/sites/docusaurus-$lock"
if [ ! -f "$work/node_modules/.unembed-installed" ]; then
  log "npm ci for Docusaurus (once, into $work)"
  rm -rf "$work"
  mkdir -p "$work"
  cp tests/sites/docusaurus/package.json tests/sites/docusaurus/package-lock.json "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error >&2)
  touch "$work/node_modules/.unembed-installed"
fi
rm -rf "$work/docs" "$work/static" "$work/.docusaurus" "$work/build"
cp -r tests/sites/docusaurus/docs tests/sites/docusaurus/static tests/sites/docusaurus/docusaurus.config.js tests/sites/docusaurus/sidebars.js "$work/"
widget "$work/static/unembed"
log "docusaurus build"
(cd "$work" && DOCUSAURUS_TELEMETRY_DISABLED=1 npx --no-install docusaurus build --out-dir "$OUT/docusaurus" >&2)
models "$OUT/docusaurus/unembed"

# --- Jupyter Book 1.x
venv="$CACHE/jupyter-book-$JUPYTER_BOOK"
if [ ! -x "$venv/bin/jupyter-book" ]; then
  log "pip install jupyter-book==$JUPYTER_BOOK (once, into $venv)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "jupyter-book==$JUPYTER_BOOK" >&2
fi
book="$OUT/.jupyterbook-src"
rm -rf "$book"
cp -r tests/sites/jupyterbook "$book"
widget "$book/_extra/unembed"
log "jupyter-book build"
"$venv/bin/jupyter-book" build -q "$book" >&2
mv "$book/_build/html" "$OUT/jupyterbook"
rm -rf "$book"
models "$OUT/jupyterbook/unembed"
# --- MkDocs Material (the example course's generator, docs/course/requirements.txt)
python3 -c 'import mkdocs, material' 2>/dev/null || python3 -m pip install -q -r docs/course/requirements.txt >&2
mk="$OUT/.mkdocs-src"
rm -rf "$mk"
cp -r tests/sites/mkdocs "$mk"
widget "$mk/docs/unembed"
log "mkdocs build"
NO_MKDOCS_2_WARNING=1 python3 -m mkdocs build -q -f "$mk/mkdocs.yml" -d "$OUT/mkdocs" >&2
rm -rf "$mk"
models "$OUT/mkdocs/unembed"
log "sites: $OUT/docusaurus $OUT/jupyterbook $OUT/mkdocs"
