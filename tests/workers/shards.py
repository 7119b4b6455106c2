"""Run under torchrun by tests/test_distributed.py: the windows each process gets in each epoch, through the train
stage's own loader (nerflow.training.loop.training_loader) over windows stored as the tokenize stage stores them,
and the windows each process reads from them; then a training run whose batches do not split evenly between the
processes; written to OUT/rank{N}.json."""

import json
import sys
from pathlib import Path

from accelerate import Accelerator, DataLoaderConfiguration

from transformers import AutoModelForTokenClassification

from nerflow.data.store import SplitWriter, Windows, part_name, read_split
from nerflow.training.captured import Engine
from nerflow.training.loop import epoch_batches, fit, training_loader
from nerflow.training.models import load_base_model

out, model_dir = Path(sys.argv[1]), sys.argv[2]
class Recorded(Windows):
    """The stored windows, noting which ones this process reads."""

    read = set()

    def take(self, indices):
        Recorded.read.update(int(i) for i in indices)
        return super().take(indices)

    __getitems__ = take


# Window i is i + 5 repeated: the first id of a padded row names the window it holds.
rows = [{"input_ids": [i + 5] * (1 + i % 7), "labels": [i % 3] * (1 + i % 7)} for i in range(61)]
accelerator = Accelerator(cpu=True, dataloader_config=DataLoaderConfiguration(even_batches=False))
stored = out / f"windows{accelerator.process_index}"
for part, start in enumerate(range(0, 61, 20)):  # three part files, as tokenize writes shards
    with SplitWriter(stored / "train" / part_name(part)) as writer:
        for row in rows[start:start + 20]:
            writer.add(row)
windows = Recorded(read_split(stored, "train"))
params = {"batch_size": 4, "seed": 3, "epochs": 2, "lr": 1e-3, "weight_decay": 0.01, "warmup_ratio": 0.1,
          "max_grad_norm": 1.0, "min_steps": 0, "patience": None, "attention_dropout": None, "tuning": "full"}
sampler, loader = training_loader(accelerator, windows, params, 0, Engine(), 0)
seen = [[row[0] - 5 for batch in epoch_batches(sampler, loader, epoch) for row in batch["input_ids"].tolist()]
        for epoch in range(2)]
read = sorted(Recorded.read)
model = load_base_model(params, ["O", "B-X", "I-X"], model_dir, AutoModelForTokenClassification)
state = fit(model, windows, params, 0, lambda m: (0.5, 1.0), progress=False)
(out / f"rank{accelerator.process_index}.json").write_text(json.dumps({
    "processes": accelerator.num_processes, "seen": seen, "read": read, "batches": len(sampler.batches), "steps": state.step,
    "epochs": state.epoch}))
