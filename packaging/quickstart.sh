#!/usr/bin/env bash
# Set Composer up on this machine (first run, or when the requirements changed), then act:
#   bash packaging/quickstart.sh app [FILES...]   launch the desktop app
#   bash packaging/quickstart.sh test [PYTEST ARGS...]   check the layer contracts and run every test
#   bash packaging/quickstart.sh bench [RUN_ALL ARGS...] run the benchmarks (adds the bench extra)
#   bash packaging/quickstart.sh build [OUT_DIR]         build the stand-alone app with PyInstaller
#
# Setup: the system libraries FluidSynth and Qt need (apt-get on Debian/Ubuntu when missing), a
# virtual environment in .venv, PyTorch (a CUDA build where an NVIDIA GPU is present, else the
# CPU build), and Composer itself. Environment knobs:
#   PYTHON=python3.11            the interpreter that creates the environment
#   COMPOSER_VENV=/path          where the environment lives (default: .venv in the checkout)
#   COMPOSER_TORCH_INDEX=URL     a package index for torch (e.g. PyTorch's CPU-only index)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${COMPOSER_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0
action=${1:-}
[ $# -gt 0 ] && shift

say() { printf 'quickstart: %s\n' "$*" >&2; }

case "$action" in
  app|test|bench|build) ;;
  *) echo "usage: bash packaging/quickstart.sh app|test|bench|build [args...]" >&2; exit 2 ;;
esac

# --- system libraries -------------------------------------------------------------------------
# FluidSynth plays and renders audio; the xcb libraries let Qt open windows on X11 desktops.
system_packages=(libfluidsynth3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
                 libxcb-render-util0 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3)
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  system_packages+=(python3-venv)
fi
if [ "$(uname -s)" = Linux ] && command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
    if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
      say "installing system packages: ${missing[*]}"
      $sudo apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
        || { $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }
    else
      say "please install: sudo apt-get install ${missing[*]}  (audio stays off without libfluidsynth3)"
    fi
  fi
elif [ "$(uname -s)" = Darwin ] && ! { [ -e /opt/homebrew/lib/libfluidsynth.dylib ] || [ -e /usr/local/lib/libfluidsynth.dylib ]; }; then
  say "for audio, install FluidSynth: brew install fluid-synth"
fi

# --- Python environment -------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
stamp="$VENV/.composer-setup"
wanted=$(cat "$ROOT/pyproject.toml" "$ROOT/packaging/quickstart.sh" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  if ! "$VENV/bin/python" -c "import torch" >/dev/null 2>&1; then
    # Ask for torch first and by exact version: a bare 'torch' requirement would fetch a CUDA
    # build of several GB even on machines without a GPU.
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
      say "NVIDIA GPU found: installing PyTorch $TORCH_VERSION with CUDA"
      "${PIP[@]}" install "torch==$TORCH_VERSION"
    else
      say "no NVIDIA GPU: installing the PyTorch $TORCH_VERSION CPU build"
      "${PIP[@]}" install "torch==$TORCH_VERSION" ${COMPOSER_TORCH_INDEX:+--index-url "$COMPOSER_TORCH_INDEX"}
    fi
  fi
  say "installing Composer and its requirements"
  "${PIP[@]}" install -e "$ROOT[dev]"
  echo "$wanted" > "$stamp"
fi

# --- act -----------------------------------------------------------------------------------------
cd "$ROOT"
case "$action" in
  app)
    exec "$VENV/bin/composer" gui "$@" ;;
  test)
    "$VENV/bin/lint-imports"
    exec "$VENV/bin/python" -m pytest "$@" ;;
  bench)
    # music21 is only the papers' reading pipeline, compared against ours: an extra, not a requirement.
    "$VENV/bin/python" -c "import music21" >/dev/null 2>&1 || { say "installing the bench extra (music21)"; "${PIP[@]}" install -e "$ROOT[dev,bench]"; }
    exec "$VENV/bin/python" benchmarks/run_all.py "$@" ;;
  build)
    PYTHON="$VENV/bin/python" exec bash "$ROOT/packaging/build.sh" "$@" ;;
esac
