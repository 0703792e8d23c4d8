#!/usr/bin/env bash
# Build the one-folder app with PyInstaller:  bash packaging/build.sh [OUT_DIR]
# The app lands in OUT_DIR/composer/ (default: dist/ in the checkout, which git ignores); its
# work files go to OUT_DIR/build/. Run it in the environment Composer is installed in (the
# build bundles that environment's torch: the CPU wheel gives a far smaller app than CUDA).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(mkdir -p "${1:-$ROOT/dist}" && cd "${1:-$ROOT/dist}" && pwd)
# The environment quickstart.sh made, unless PYTHON names another.
if [ -z "${PYTHON:-}" ] && [ -x "${COMPOSER_VENV:-$ROOT/.venv}/bin/python" ]; then
  PYTHON=${COMPOSER_VENV:-$ROOT/.venv}/bin/python
fi
PYTHON=${PYTHON:-python}
PYINSTALLER_VERSION=6.22.3

"$PYTHON" -m pip install -q "pyinstaller==$PYINSTALLER_VERSION"
"$PYTHON" -c "import composer" || { echo "build.sh: install Composer first (pip install -e .)" >&2; exit 1; }

started=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$OUT" --workpath "$OUT/build" "$ROOT/packaging/composer.spec"

# Linux: the desktop entry and icon, for `install -D` into ~/.local/share or /usr/share.
if [ "$(uname -s)" = Linux ]; then
  cp "$ROOT/packaging/composer.desktop" "$OUT/composer/"
  cp "$ROOT/resources/icons/composer.png" "$OUT/composer/composer.png"
  cp "$ROOT/resources/icons/composer.svg" "$OUT/composer/composer.svg"
fi

echo "built $OUT/composer in $(( $(date +%s) - started )) s, $(du -sh "$OUT/composer" | cut -f1)"
