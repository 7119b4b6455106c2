"""What one epoch of the train stage's CPU steps would cost for a tokenization, from a sample of its batches:

    python scripts/step_cost.py NAME TOKENIZED_TRAIN_JSONL[.gz] ATTENTION_DROPOUT   # none: the model's own

The batches are the train stage's token-budget batches (batch_size 32 sentences' worth of pieces, seed 42);
43 of them, drawn at random, are trained in eager padded steps (forward, backward, clipping, AdamW) on 2
threads, the first 3 not timed. Prints one JSON line: batches an epoch, pieces, seconds a step, and the
epoch's estimated seconds (seconds a step x batches), dev scoring not included. A sample, not a whole run:
it compares tokenizations (window length, context) without training each for 20 minutes. Run it alone.
"""

import gzip
import json
import random
import sys
import time

import torch

from nerflow.batching import collate, model_inputs, token_budget_batches
from nerflow.files import read_jsonl
from nerflow.finetune import load_base_model
from nerflow.params import load_params

SAMPLED, UNTIMED = 43, 3


def main():
    name, path, dropout = sys.argv[1:4]
    torch.set_num_threads(2)
    params = load_params("params.yaml")
    params["attention_dropout"] = None if dropout == "none" else float(dropout)
    labels = json.load(open("data/processed/labels.json"))
    sentences = len(read_jsonl("data/processed/train.jsonl"))
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        windows = [json.loads(line) for line in f]
    lengths = [len(w["input_ids"]) for w in windows]
    batches = token_budget_batches(lengths, params["batch_size"], 42, sum(lengths) / sentences)
    model = load_base_model(params, labels, "data/base_model")
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    timed = []
    for k, b in enumerate(random.Random(0).sample(range(len(batches)), SAMPLED)):
        batch = collate([windows[i] for i in batches[b]], pad_id=0)
        start = time.perf_counter()
        model(**model_inputs(batch), labels=batch["labels"]).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if k >= UNTIMED:
            timed.append((time.perf_counter() - start, batch["input_ids"].numel()))
    per_step = sum(s for s, _ in timed) / len(timed)
    print(json.dumps(dict(name=name, batches=len(batches), pieces=sum(lengths), s_per_step=round(per_step, 4),
                          est_epoch_s=round(per_step * len(batches), 1),
                          computed_per_step=sum(n for _, n in timed) / len(timed))))


if __name__ == "__main__":
    main()
