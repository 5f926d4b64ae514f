#!/usr/bin/env bash
# Build the HTML book (under _build/html) from the committed records and executed notebooks.
# Warnings are errors; notebooks are not re-executed (the book shows the full tier's outputs).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/jupyter-book build . -W -n --keep-going
