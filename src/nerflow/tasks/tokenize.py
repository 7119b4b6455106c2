"""The tokenize stage's work for every task: each split's records encoded into model windows, a shard of records at
a time in several processes, written as Arrow part files (the same files whatever the number of processes), with
settings.json (how the windows were made) and metrics/tokenize.json's counts. A task's tokenize part
(nerflow.tasks.<task>.tokenize) subclasses Tokenize and writes `encode`.
"""

import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from nerflow.data import store
from nerflow.data.files import atomic_dir, read_json, write_json_atomic
from nerflow.data.splits import document_starts
from nerflow.paths import LABELS_FILE, SPLITS, WINDOW_SETTINGS
from nerflow.training.tokenizer import load_tokenizer

SHARD_RECORDS = 16384  # records a tokenize process encodes at a time (a shard ends at a document's end)


class Tokenize:
    task: str  # params' `task` (set by nerflow.tasks.task_part)
    record_type: type  # the processed record: record_type(**row)
    document_column: str = None  # the stored column naming a record's document, where records have documents

    def window_settings(self, params: dict, processed: Path) -> dict:
        """How the windows are made: tokenized/settings.json, then the model folder's nerflow.json."""
        return {"task": self.task, "max_length": params["max_length"]}

    def encode(self, tokenizer, records: list, labels: list, settings: dict, params: dict, split: str,
               first: int) -> tuple:
        """(windows, the task's counts of them for metrics/tokenize.json) of one shard of a split's records, the
        shard's first record being record `first` of the split."""
        raise NotImplementedError

    def shards(self, processed: Path, split: str) -> list:
        """(start, stop) record ranges of a split, about SHARD_RECORDS long, each ending where a document ends."""
        table = store.read_split(processed, split)
        if not table.num_rows:
            return [(0, 0)]
        cuts = list(range(SHARD_RECORDS, table.num_rows, SHARD_RECORDS))
        if self.document_column and cuts:  # each cut moved on to where the next document starts
            starts = document_starts(table.column(self.document_column).to_numpy())
            cuts = sorted({int(starts[i]) for i in np.searchsorted(starts, cuts) if i < len(starts)})
        bounds = [0, *cuts, table.num_rows]
        return list(zip(bounds, bounds[1:]))

    def tokenize(self, params: dict, tokenizer_dir: Path, processed: Path, out_dir: Path, workers: int = None) -> dict:
        """The tokenize stage: each split's records -> its windows in out_dir (a part file per shard, the same
        files whatever the number of processes), with settings.json; returns metrics/tokenize.json. Shards are
        encoded by `workers` processes (None: one per core), each holding one shard at a time.

        Why not datasets' map(num_proc=...): its shards are cut by size, not where documents end, and the output
        would depend on the number of processes."""
        tokenizer = load_tokenizer(tokenizer_dir)  # here first: a tokenizer nerflow cannot use stops the stage early
        labels = read_json(processed / LABELS_FILE)
        settings = self.window_settings(params, processed)
        jobs = [(split, index, start, stop) for split in SPLITS
                for index, (start, stop) in enumerate(self.shards(processed, split))]
        # Starting a process costs about a second: small data is encoded here (CoNLL-2003: 3 s in all).
        records = sum(stop - start for _, _, start, stop in jobs)
        workers = min(workers or os.cpu_count() or 1, len(jobs), max(1, records // (2 * SHARD_RECORDS)))
        job = dict(task=self.task, params=params, processed=str(processed), labels=labels, settings=settings)
        results = {}
        with atomic_dir(out_dir) as out:
            job["out"] = str(out)
            bar = tqdm(total=len(jobs), desc="tokenize", unit="shard", delay=2)
            if workers == 1:
                _worker["tokenizer"] = tokenizer
                for split, index, start, stop in jobs:
                    results[split, index] = encode_shard(job, split, index, start, stop)
                    bar.update()
            else:
                # Fresh processes (not forks of this one, which holds Arrow's and the tokenizer's threads), given the
                # tokenizer pickled: loading it with transformers' AutoTokenizer would import torch, 250 MB a process.
                with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                                         initargs=(pickle.dumps(tokenizer),)) as pool:
                    futures = {key[:2]: pool.submit(encode_shard, job, *key) for key in jobs}
                    for key, future in futures.items():
                        results[key] = future.result()
                        bar.update()
            bar.close()
            write_json_atomic(out / WINDOW_SETTINGS, settings)
        return {split: merge_counts([results[key] for key in sorted(results) if key[0] == split]) for split in SPLITS}


_worker = {}  # what a tokenize process keeps between shards: the tokenizer


def _start_worker(tokenizer: bytes):
    """A tokenize process: the tokenizer, and the other cores left to the other processes (its own threads off)."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _worker["tokenizer"] = pickle.loads(tokenizer)


def encode_shard(job: dict, split: str, index: int, start: int, stop: int) -> dict:
    """Encode records [start, stop) of a split into part file `index` of the split's windows; their counts."""
    from nerflow.tasks import task_part

    task = task_part(job["task"], "tokenize")
    table = store.read_split(job["processed"], split).slice(start, stop - start)
    records = [task.record_type(**row) for row in table.to_pylist()]
    windows, counts = task.encode(_worker["tokenizer"], records, job["labels"], job["settings"], job["params"],
                                  split, start)
    with store.SplitWriter(Path(job["out"]) / split / store.part_name(index)) as writer:
        for window in windows:
            writer.add(window)
    lengths = [len(w["input_ids"]) for w in windows]
    # pieces: the tokens one pass over the split computes
    return {**counts, "pieces": sum(lengths), "longest_window": max(lengths, default=0)}


def merge_counts(parts: list) -> dict:
    """The counts of a split's shards added up (a longest_* is the longest of them)."""
    merged = {}
    for part in parts:
        for key, value in part.items():
            merged[key] = max(merged.get(key, value), value) if key.startswith("longest") else merged.get(key, 0) + value
    return merged
