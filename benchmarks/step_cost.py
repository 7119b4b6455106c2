"""What one epoch of the train stage's CPU steps would cost for a tokenization, from a sample of its batches:

    python benchmarks/step_cost.py NAME TOKENIZED_DIR ATTENTION_DROPOUT   # e.g. doc128 data/tokenized none

The batches are the train stage's token-budget batches (params.yaml's batch_size in sentences' worth of
pieces, its seed); 43 of them, drawn at random, are trained with the train stage's own CPU step
(nerflow.training.loop.eager_step: forward, backward, clipping, AdamW with its weight-decay groups) on 2 threads, the
first 3 not timed. Prints one JSON line: batches an epoch, pieces, seconds a step, and the
epoch's estimated seconds (seconds a step x batches), dev scoring not included. A sample, not a whole run:
it compares tokenizations (window length, context) without training each for 20 minutes. Run it alone.
"""

import argparse
import json
import random
import time
from functools import partial

import torch
from accelerate import Accelerator

from nerflow.data import store
from nerflow.data.files import read_json
from nerflow.data.store import Windows
from nerflow.params import load_params
from nerflow.paths import BASE_MODEL_DIR, LABELS_FILE, PROCESSED_DIR
from nerflow.tasks import task_part
from nerflow.training.batching import collate, token_budget_batches
from nerflow.training.loop import eager_step, optimizer_for
from nerflow.training.models import load_base_model
from nerflow.training.tokenizer import load_tokenizer
from nerflow.training.runtime import autocast_for

SAMPLED, UNTIMED = 43, 3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="what to call the tokenization in the output")
    parser.add_argument("path", metavar="TOKENIZED_DIR", help="a tokenize stage's output folder (data/tokenized)")
    parser.add_argument("dropout", metavar="ATTENTION_DROPOUT", help="a number, or none: the model's own")
    args = parser.parse_args()
    name, path, dropout = args.name, args.path, args.dropout
    torch.set_num_threads(2)
    params = load_params("params.yaml")
    params["attention_dropout"] = None if dropout == "none" else float(dropout)
    task = task_part(params, "train")
    labels = read_json(PROCESSED_DIR / LABELS_FILE)
    windows = Windows(store.read_split(path, "train"), ["input_ids", "labels"])
    lengths = windows.lengths.tolist()
    pad_id = load_tokenizer(BASE_MODEL_DIR).pad_token_id
    batches = token_budget_batches(lengths, params["batch_size"], params["seed"], task.batch_unit(windows, PROCESSED_DIR))
    accelerator = Accelerator(cpu=True)
    model = accelerator.prepare(load_base_model(params, labels, BASE_MODEL_DIR, task.model_class))
    model.train()
    optimizer = optimizer_for(model, params, cuda=False, capturable=False)
    autocast = partial(autocast_for, accelerator.device, False)
    loss_sum = torch.zeros(())
    timed = []
    for k, b in enumerate(random.Random(0).sample(range(len(batches)), SAMPLED)):
        batch = collate(windows.take(batches[b]), pad_id=pad_id)
        start = time.perf_counter()
        eager_step(accelerator, model, optimizer, batch, float(params["max_grad_norm"]), loss_sum, autocast)
        if k >= UNTIMED:
            timed.append((time.perf_counter() - start, batch["input_ids"].numel()))
    per_step = sum(s for s, _ in timed) / len(timed)
    print(json.dumps(dict(name=name, batches=len(batches), pieces=sum(lengths), s_per_step=round(per_step, 4),
                          est_epoch_s=round(per_step * len(batches), 1),
                          computed_per_step=sum(n for _, n in timed) / len(timed))))


if __name__ == "__main__":
    main()
