#!/usr/bin/env bash
# build-course.sh [SITE_DIR] — the example course with MkDocs (Material when installed): the
# real lesson (../shared/seed/unembedding-article.vi.md) with explorers at §1, §5, §7, §9, §10, §11
# (docs/course/widgets.py), the widget folder from scripts/build-dist.sh beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
SITE="${1:-docs/course/site}"
LESSON="${UNEMBED_LESSON:-../shared/seed/unembedding-article.vi.md}"
[ -f "$LESSON" ] || { echo "build-course: the lesson $LESSON is missing" >&2; exit 1; }
python3 -c 'import mkdocs, material' 2>/dev/null || python3 -m pip install -q -r docs/course/requirements.txt >&2
bash scripts/build-dist.sh dist/unembed
rm -rf docs/course/docs
mkdir -p docs/course/docs
python3 docs/course/widgets.py "$LESSON" docs/course/docs/index.md
cp docs/course/nhung-widget.md docs/course/docs/
cp -r dist/unembed docs/course/docs/unembed
# KaTeX (npm, pinned in package.json) typesets the formulas in the reader's browser: its script,
# CSS and woff2 fonts are served with the site, so the course asks no other host for anything.
[ -f node_modules/katex/dist/katex.min.js ] || { echo "build-course: npm katex is missing (bash scripts/setup.sh wasm)" >&2; exit 1; }
mkdir -p docs/course/docs/katex/fonts
cp node_modules/katex/dist/katex.min.js node_modules/katex/dist/katex.min.css docs/course/katex-init.js docs/course/docs/katex/
cp node_modules/katex/dist/fonts/*.woff2 docs/course/docs/katex/fonts/
NO_MKDOCS_2_WARNING=1 python3 -m mkdocs build -q -f docs/course/mkdocs.yml -d "$(realpath -m "$SITE")" >&2
echo "course: $SITE" >&2
