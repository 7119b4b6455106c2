#!/usr/bin/env bash
# The GPU measurements of BENCHMARKS.md "GPU", in one run of about 5 minutes on an H100/H200, every result as
# JSON under $OUT (default: gpu_results/). Needs data/tokenized, data/processed and data/base_model (the
# tokenizer; its weights only for the accuracy check), as after `dvc repro tokenize`; TOKENIZED=DIR trains and
# predicts on other windows (the issue's figures are for one sentence a window: context: sentence). Each measurement runs in
# its own process under a time limit, so one failure or hang costs only its own slot; errors land in its log.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_results}
mkdir -p "$OUT"
export PYTHONPATH=src${EXTRA_PYTHONPATH:+:$EXTRA_PYTHONPATH} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python3}
LOGS=$(mktemp -d)
CONFIG=bert-base ALL=0 EPOCHS=3 SOME=1024 SMOKE=512
if [ "${QUICK:-0}" = 1 ]; then CONFIG=bert-tiny ALL=64 EPOCHS=1 SOME=32 SMOKE=32; fi

run() {  # run NAME SECONDS ARGS...: one bench invocation; its last stdout line (JSON) goes to $OUT/results.jsonl
  local name=$1 limit=$2; shift 2
  case " ${ONLY:-$name} " in *" $name "*) ;; *) return ;; esac  # ONLY="a b": just those
  local start=$SECONDS
  timeout "$limit" "$PY" -m nerflow.bench "$@" ${TOKENIZED:+--tokenized "$TOKENIZED"} >"$LOGS/$name.log" 2>&1
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

# bert-base from a config (speed does not depend on the weights), all 14,042 train windows.
run smoke-captured 120 --one train-project --config $CONFIG --windows $SMOKE --epochs 1
run train-project-3ep 240 --one train-project --config $CONFIG --windows $ALL --epochs $EPOCHS
run predict-project-cold 120 --one predict-project --config $CONFIG
run accuracy-minilm-captured 240 --one-accuracy train-project --windows $ALL --epochs $EPOCHS --seeds 42
run train-seed-1ep 180 --one train-seed --config $CONFIG --windows $ALL --epochs 1
run train-trainer-1ep 180 --one train-trainer --config $CONFIG --windows $ALL --epochs 1
run profile-trainer 150 --profile train-trainer --config $CONFIG --windows $SOME --output "$OUT/profile-trainer.json"
run profile-project 150 --profile train-project --config $CONFIG --windows $SOME --output "$OUT/profile-project.json"
run train-project-eager-1ep 150 --one train-project-eager --config $CONFIG --windows $ALL --epochs 1
run predict-seed 120 --one predict-seed --config $CONFIG
# Variants of the captured path: what the attention over one long masked row, attention dropout and larger
# steps cost or give.
for n in 128 256 384; do
  run train-project-rows-$n-3ep 120 --one train-project-rows-$n --config $CONFIG --windows $ALL --epochs $EPOCHS
done
# Fewer kernels per step: the repeated blocks compiled (regional torch.compile, then captured), and fp32 with TF32
# (no autocast casts). The compiled path runs twice: cold, then in a fresh process with inductor's caches warm,
# as the second run of a sweep finds them.
run train-project-fp32-3ep 120 --one train-project-fp32 --config $CONFIG --windows $ALL --epochs $EPOCHS
run train-project-compiled-3ep 240 --one train-project-compiled --config $CONFIG --windows $ALL --epochs $EPOCHS
run train-project-compiled-3ep-warm 180 --one train-project-compiled --config $CONFIG --windows $ALL --epochs $EPOCHS
run train-project-compiled-fp32-3ep 180 --one train-project-compiled-fp32 --config $CONFIG --windows $ALL --epochs $EPOCHS
run profile-project-compiled 150 --profile train-project-compiled --config $CONFIG --windows $SOME --output "$OUT/profile-project-compiled.json"
run accuracy-minilm-compiled 240 --one-accuracy train-project-compiled --windows $ALL --epochs $EPOCHS --seeds 42
run train-project-3ep-again 240 --one train-project --config $CONFIG --windows $ALL --epochs $EPOCHS
run train-project-no-attention-dropout-3ep 120 --one train-project-no-attention-dropout --config $CONFIG --windows $ALL --epochs $EPOCHS
run train-project-batch-128-3ep 120 --one train-project-batch-128 --config $CONFIG --windows $ALL --epochs $EPOCHS
tar czf "$OUT/logs.tgz" -C "$LOGS" .
echo done
