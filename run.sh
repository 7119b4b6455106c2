#!/usr/bin/env bash
# Quick start: set up .venv, then run the whole pipeline (params -> download -> preprocess -> tokenize -> train ->
# evaluate) with `dvc repro`, in the venv. Arguments go to dvc repro: ./run.sh --force reruns every stage.
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the comment above
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
source .venv/bin/activate  # dvc runs each stage's `python -m nerflow.<stage>` with the venv's python
dvc repro "$@"
