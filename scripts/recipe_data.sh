#!/usr/bin/env bash
# The data folders of one scripts/gpu_recipe.py run whose params change preprocess or tokenize:
#   scripts/recipe_data.sh OUT key=value ...     # e.g. OUT=.device/sweep/len64 max_length=64
# runs the preprocess and tokenize stages with params.yaml plus those changes (dotted keys for nested ones:
# dataset.train_examples=2000) in a scratch folder beside data/raw and data/base_model, then moves
# data/processed and data/tokenized to OUT/processed and OUT/tokenized.
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the comment above
set -euo pipefail
out=$1; shift
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/data" "$scratch/metrics"
ln -s "$root/data/raw" "$scratch/data/raw"
ln -s "$root/data/base_model" "$scratch/data/base_model"
python - "$root/params.yaml" "$scratch/params.yaml" "$@" <<'PY'
import sys, yaml
from nerflow.params import load_params, parse_yaml
params = load_params(sys.argv[1])
for change in sys.argv[3:]:
    key, value = change.split("=", 1)
    *parents, last = key.split(".")
    node = params
    for name in parents:
        node = node[name]
    node[last] = parse_yaml(value)  # 1e-3 is a float
open(sys.argv[2], "w").write(yaml.safe_dump(params, sort_keys=False))
PY
(cd "$scratch" && python -m nerflow.stages.preprocess >/dev/null && python -m nerflow.stages.tokenize >/dev/null)
mkdir -p "$out"
rm -rf "$out/processed" "$out/tokenized"
mv "$scratch/data/processed" "$out/processed"
mv "$scratch/data/tokenized" "$out/tokenized"
