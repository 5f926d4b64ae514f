#!/usr/bin/env bash
# Set up (or bring up to date) the project's virtual environment in .venv. Safe to run again.
#   TORCH_SPEC: the torch requirement to install first when torch is missing (default torch==2.13.0;
#   e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124" for a CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  .venv/bin/python -m pip install --quiet ${TORCH_SPEC:-torch==2.13.0}
fi
# [cluster]: Ray, for `reprobook run --engine ray` and its tests
.venv/bin/python -m pip install --quiet -e ".[cluster]"
# The book's browser test drives Debian's Chromium (no browser download at test time).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null
  else
    echo "note: install chromium and chromium-driver for the book's browser test (tests/test_book_in_browser.py)"
  fi
fi
.venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
echo "set-up done: $(.venv/bin/python -c 'import torch, torch_geometric; print("torch", torch.__version__, "| PyG", torch_geometric.__version__)')"
