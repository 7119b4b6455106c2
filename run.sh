#!/usr/bin/env bash
# Quick start: set up .venv, then run the whole pipeline (download -> preprocess -> tokenize -> train -> evaluate).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
source .venv/bin/activate  # dvc runs each stage's `python -m nerflow.<stage>` with the venv's python
dvc repro "$@"
