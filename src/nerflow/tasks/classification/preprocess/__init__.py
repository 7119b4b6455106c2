"""Classification's preprocess part: CSV, TSV or JSON lines, optionally compressed (raw file names:
nerflow.data.rawfiles), with a header row (CSV/TSV) or keys (JSONL) naming the text, second-text and label columns
(`dataset.columns`; a second text makes the examples pairs). Tables are read exactly, record by record, with the
quoting of `dataset.quoting` (tables.py)."""

from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc

from nerflow.data.rawfiles import raw_format
from nerflow.data.textfiles import DataError, json_lines
from nerflow.tasks import preprocess
from nerflow.tasks.classification.preprocess.tables import read_rows
from nerflow.tasks.classification.records import UNIT, Example


@dataclass(frozen=True)
class ReadOptions:
    """How to read the files: the dataset keys of params.yaml that concern them (checked by nerflow.params: a
    pair task names text_pair's column, a single-text task does not)."""

    columns: dict
    drop_labels: tuple
    quoting: str

    @classmethod
    def from_params(cls, dataset: dict) -> "ReadOptions":
        return cls(dataset["columns"], tuple(str(label) for label in dataset["drop_labels"]), dataset["quoting"])


def read_records(path: Path, columns: dict, name: str, quoting: str = "auto"):
    """Yield (line, {column: value}) for each record of a CSV, TSV (tables.py: exact, by line) or JSON-lines
    file, with the columns of `columns` (a JSON record without one reads it as None)."""
    wanted = [c for c in columns.values() if c]
    if raw_format(path) == "jsonl":
        problems = []
        for number, record in json_lines(path, problems):
            if not isinstance(record, dict):
                problems.append((number, "not an object", "expected a JSON object a line"))
            elif not problems:
                yield number, {c: record.get(c) for c in wanted}
        if problems:
            raise DataError(name, problems)
        return
    rows = read_rows(path, quoting, name)
    header, _ = next(rows)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DataError(name, [(1, "missing column", f"no column {missing[0]!r} in the header "
                                                      f"({', '.join(map(repr, header))}); set dataset.columns in params.yaml")])
    index = {c: header.index(c) for c in wanted}
    for line, fields in rows:
        yield line, {c: fields[i] for c, i in index.items()}


def read_examples(path: Path, options: "ReadOptions", name: str, counts):
    """Yield the examples of one file, counting in `counts` (a nerflow.data.splits.Counts) every record read and
    those dropped (`drop_labels`: its label is one of dataset.drop_labels). After the last, DataError lists every
    problem by line: a missing or empty text, second text or label."""
    columns, drop_labels = options.columns, options.drop_labels
    examples, problems, dropped = 0, [], 0
    for line, row in read_records(path, columns, name, options.quoting):
        counts.records += 1
        label = row[columns["label"]]
        if label is not None and str(label) in drop_labels:
            counts.drop("drop_labels")
            dropped += 1
            continue
        fields = {"text": row[columns["text"]], "label": label}
        if columns["text_pair"]:
            fields["text_pair"] = row[columns["text_pair"]]
        empty = [key for key, value in fields.items() if value is None or not str(value).strip()]
        if empty:
            problems.append((line, "empty field", f"empty {empty[0]} (column {columns[empty[0]]!r})"))
            continue
        yield Example(line=line, **{k: str(v) for k, v in fields.items()})
        examples += 1
    if not examples and not problems:
        problems.append((1, "no examples", "no examples" + (f" left after dropping labels {list(drop_labels)}"
                                                            if dropped else "")))
    if problems:
        raise DataError(name, problems)


class Preprocess(preprocess.Preprocess):
    unit = UNIT
    unknown_labels_hint = "Fix the files, or leave such rows out with dataset.drop_labels. Nothing was written."

    def read_options(self, dataset: dict) -> ReadOptions:
        return ReadOptions.from_params(dataset)

    def read_file(self, path: Path, options: ReadOptions, name: str, counts):
        return read_examples(path, options, name, counts)

    def labels_of(self, example: Example) -> list:
        return [example.label]

    def stats(self, table, labels: list, options: ReadOptions) -> dict:
        counted = pc.value_counts(table.column("label")) if table.num_rows else None
        found = {} if counted is None else dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist()))
        return {"labels": {label: found.get(label, 0) for label in labels}}
