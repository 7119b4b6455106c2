#!/usr/bin/env bash
# Create .venv with the pinned, tested dependency set (requirements.txt) and the project (pyproject.toml, editable).
# Safe to rerun. Then `source .venv/bin/activate` for dvc and nerflow (docs/team-and-scale.md: other ways to install).
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the comment above
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt
.venv/bin/python -m pip install --quiet --no-deps -e .
