"""Run under torchrun by tests/test_distributed.py: the windows each process gets in each epoch, through the train
stage's own loader (finetune.training_loader), written to OUT/rank{N}.json."""

import json
import sys
from pathlib import Path

from accelerate import Accelerator, DataLoaderConfiguration

from nerflow.finetune import Engine, epoch_batches, training_loader

out = Path(sys.argv[1])
# Window i is i + 5 repeated: the first id of a padded row names the window it holds.
windows = [{"input_ids": [i + 5] * (1 + i % 7), "labels": [0] * (1 + i % 7)} for i in range(61)]
accelerator = Accelerator(cpu=True, dataloader_config=DataLoaderConfiguration(even_batches=False))
sampler, loader = training_loader(accelerator, windows, {"batch_size": 4, "seed": 3}, 0, Engine(), 0)
seen = [[row[0] - 5 for batch in epoch_batches(sampler, loader, epoch) for row in batch["input_ids"].tolist()]
        for epoch in range(2)]
(out / f"rank{accelerator.process_index}.json").write_text(json.dumps({"processes": accelerator.num_processes,
                                                                        "seen": seen}))
