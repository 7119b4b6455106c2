#!/usr/bin/env bash
# The GPU speed measurements of BENCHMARKS.md "GPU" (benchmarks/speed.py), in one run of a few minutes on an
# H100/H200, every result as JSON under $OUT (default: gpu_results/). Needs data/tokenized, data/processed and data/base_model (the
# tokenizer; its weights only for the accuracy check), as after `dvc repro tokenize`; TOKENIZED=DIR trains and
# predicts on other windows (the issue's figures are for one sentence a window: context: sentence). Each measurement runs in
# its own process under a time limit, so one failure or hang costs only its own slot; errors land in its log.
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the comment above
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_results}
mkdir -p "$OUT"
export PYTHONPATH=src${EXTRA_PYTHONPATH:+:$EXTRA_PYTHONPATH} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python3}
LOGS=$(mktemp -d)
CONFIG=bert-base ALL=0 EPOCHS=3 SOME=1024 SMOKE=512
if [ "${QUICK:-0}" = 1 ]; then CONFIG=bert-tiny ALL=64 EPOCHS=1 SOME=32 SMOKE=32; fi

run() {  # run NAME SECONDS ARGS...: one speed.py invocation; its last stdout line (JSON) goes to $OUT/results.jsonl
  local name=$1 limit=$2; shift 2
  case " ${ONLY:-$name} " in *" $name "*) ;; *) return ;; esac  # ONLY="a b": just those
  local start=$SECONDS
  timeout "$limit" "$PY" benchmarks/speed.py "$@" ${TOKENIZED:+--tokenized "$TOKENIZED"} >"$LOGS/$name.log" 2>&1
  local rc=$?
  local json
  json=$(grep '^{"' "$LOGS/$name.log" | tail -n 1)
  [ -n "$json" ] || json='{}'
  echo "{\"name\": \"$name\", \"rc\": $rc, \"wall_s\": $((SECONDS - start)), \"result\": $json}" >>"$OUT/results.jsonl"
  echo "$name: rc $rc, $((SECONDS - start)) s"
}

nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv >"$OUT/gpu.txt" 2>&1
"$PY" -c "import torch, transformers, accelerate; print(torch.__version__, transformers.__version__, accelerate.__version__)" >>"$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

# bert-base from a config (speed does not depend on the weights), all train windows.
run smoke-captured 120 --one train --config $CONFIG --windows $SMOKE --epochs 1
run train-3ep 240 --one train --config $CONFIG --windows $ALL --epochs $EPOCHS
run predict-cold 120 --one predict --config $CONFIG
run profile-train 150 --profile train --config $CONFIG --windows $SOME --output "$OUT/profile-train.json"
run train-eager-1ep 150 --one train --config $CONFIG --windows $ALL --epochs 1 --engine packed=false --engine capture=false
# Variants of the captured step: rows of other widths, fp32 (TF32 matrix products, no autocast casts), larger steps.
for n in 128 256 384; do
  run train-rows-$n-3ep 120 --one train --config $CONFIG --windows $ALL --epochs $EPOCHS --engine row_width=$n
done
run train-fp32-3ep 120 --one train --config $CONFIG --windows $ALL --epochs $EPOCHS --engine bf16=false
run train-batch-128-3ep 120 --one train --config $CONFIG --windows $ALL --epochs $EPOCHS --batch-size 128
run train-3ep-again 240 --one train --config $CONFIG --windows $ALL --epochs $EPOCHS
tar czf "$OUT/logs.tgz" -C "$LOGS" .
echo done
